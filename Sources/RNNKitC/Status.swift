// Status codes and the error plumbing shared by every C entry point.
//
// Every entry point runs its body through `guarded(_:_:)`: the body throws, the wrapper turns
// the error into a status code from `rnnkit.h` and records the message for `rnnkit_last_error`.
// Nothing in a body may trap: arguments are checked here before any RNNKit API sees them.

import RNNKit

/// The `rnnkit_error` codes of `rnnkit.h`; the values must match the header.
enum StatusCode: Int32 {
    case ok = 0
    case invalidArgument = 1
    case shapeMismatch = 2
    case invalidState = 3
    case outOfMemory = 4
    case io = 5
    case invalidFile = 6
    case numerical = 7
    case nullPointer = 8
    case unknown = 9

    /// The code for an RNNKit error of `kind`.
    init(_ kind: RNNKitError.Kind) {
        switch kind {
        case .invalidArgument: self = .invalidArgument
        case .shapeMismatch: self = .shapeMismatch
        case .invalidState: self = .invalidState
        case .outOfMemory: self = .outOfMemory
        case .io: self = .io
        case .invalidFile: self = .invalidFile
        case .numerical: self = .numerical
        }
    }
}

/// An error raised by the C layer itself, for conditions RNNKit has no kind for.
struct CAPIError: Error {
    let code: StatusCode
    let message: String

    /// A `NULL` passed for a pointer that must not be `NULL`.
    static func nullPointer(_ argument: String) -> CAPIError {
        CAPIError(code: .nullPointer, message: "\(argument) is NULL; expected a valid pointer")
    }
}

/// Runs `body` on behalf of the C function `function`: returns `RNNKIT_OK`, or records the
/// error's message (prefixed with `function`) as this thread's last error and returns its code.
@inline(__always)
func guarded(_ function: StaticString, _ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return StatusCode.ok.rawValue
    } catch let error as RNNKitError {
        setLastError("\(function): \(error.message)")
        return StatusCode(error.kind).rawValue
    } catch let error as CAPIError {
        setLastError("\(function): \(error.message)")
        return error.code.rawValue
    } catch {
        setLastError("\(function): \(error)")
        return StatusCode.unknown.rawValue
    }
}

/// `pointer`, or a null-pointer error naming `argument`.
@inline(__always)
func required<Pointee>(_ pointer: UnsafePointer<Pointee>?, _ argument: String) throws -> UnsafePointer<Pointee> {
    guard let pointer else { throw CAPIError.nullPointer(argument) }
    return pointer
}

/// `pointer`, or a null-pointer error naming `argument`.
@inline(__always)
func required<Pointee>(_ pointer: UnsafeMutablePointer<Pointee>?, _ argument: String) throws -> UnsafeMutablePointer<Pointee> {
    guard let pointer else { throw CAPIError.nullPointer(argument) }
    return pointer
}

/// `pointer`, or a null-pointer error naming `argument`.
func requiredBytes(_ pointer: UnsafeRawPointer?, _ argument: String) throws -> UnsafeRawPointer {
    guard let pointer else { throw CAPIError.nullPointer(argument) }
    return pointer
}

/// `pointer`, or a null-pointer error naming `argument`.
func requiredBytes(_ pointer: UnsafeMutableRawPointer?, _ argument: String) throws -> UnsafeMutableRawPointer {
    guard let pointer else { throw CAPIError.nullPointer(argument) }
    return pointer
}
