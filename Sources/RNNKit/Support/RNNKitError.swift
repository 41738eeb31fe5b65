#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every error RNNKit throws. The message says what was wrong and what was expected.
public struct RNNKitError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The broad category, stable across releases (the C API maps it to a status code).
    public enum Kind: String, Sendable, Equatable {
        /// An argument is out of range or inconsistent with another (sizes, lengths, names).
        case invalidArgument
        /// A buffer has the wrong number of elements.
        case shapeMismatch
        /// A call came in the wrong order (for example `backward` before `forward`).
        case invalidState
        /// Sizes whose products overflow or whose memory cannot be had.
        case outOfMemory
        /// A file could not be read or written.
        case io
        /// A file is truncated, corrupt, or of another architecture.
        case invalidFile
        /// A numerical fault (NaN or infinity) was detected.
        case numerical
    }

    /// The category of the error.
    public let kind: Kind
    /// A sentence saying what was wrong and what was expected.
    public let message: String

    /// Creates an error of `kind` with `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Multiplies sizes, throwing instead of trapping when the product overflows `Int`
/// or exceeds `limit` elements.
package func checkedProduct(_ factors: Int..., limit: Int = Int(Int32.max) * 64, what: String) throws -> Int {
    var product = 1
    for factor in factors {
        guard factor >= 0 else {
            throw RNNKitError(.invalidArgument, "\(what): negative size \(factor)")
        }
        let (result, overflow) = product.multipliedReportingOverflow(by: factor)
        guard !overflow, result <= limit else {
            throw RNNKitError(.outOfMemory, "\(what): size \(factors.map(String.init).joined(separator: "×")) is too large (limit \(limit) elements)")
        }
        product = result
    }
    return product
}

/// The sum of non-negative counts, or ``RNNKitError`` `.outOfMemory` when it exceeds `limit`
/// (default: the element limit of ``checkedProduct(_:limit:what:)``) or overflows `Int`.
package func checkedSum(_ terms: Int..., limit: Int = Int(Int32.max) * 64, what: String) throws -> Int {
    var sum = 0
    for term in terms {
        let (result, overflow) = sum.addingReportingOverflow(term)
        guard !overflow, result <= limit else {
            throw RNNKitError(.outOfMemory, "\(what): the total of \(terms.map(String.init).joined(separator: " + ")) is too large (limit \(limit) elements)")
        }
        sum = result
    }
    return sum
}

/// Throws an out-of-memory error unless `count` scalars of `Scalar` can be allocated now. Swift's
/// allocator stops the process when memory runs out; asking the kernel first (an anonymous
/// mapping, not malloc: the optimiser may delete a malloc whose result is only freed) turns that
/// into an error the caller can handle. Used before every allocation whose size a caller chose.
package func ensureAllocatable<Scalar>(_ count: Int, of _: Scalar.Type, what: String) throws {
    let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Scalar>.stride)
    guard !overflow, count >= 0 else {
        throw RNNKitError(.outOfMemory, "\(what): \(count) values overflow a 64-bit byte count")
    }
    let probe = mmap(nil, max(bytes, 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    guard let probe, probe != MAP_FAILED else {
        throw RNNKitError(.outOfMemory, "\(what): cannot allocate \(count) values (\(bytes) bytes)")
    }
    munmap(probe, max(bytes, 1))
}

/// ``ensureAllocatable(_:of:what:)`` for `Float`s.
package func ensureAllocatable(floats count: Int, what: String) throws {
    try ensureAllocatable(count, of: Float.self, what: what)
}
