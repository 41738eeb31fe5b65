// The object behind an `rnnkit_rnn *` handle, and the checks that keep RNNKit's
// preconditions out of reach of C callers.
//
// A handle is an `Unmanaged<NetworkHandle>` retained once by `rnnkit_rnn_create` and
// released once by `rnnkit_rnn_destroy`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNKit

/// A Float network plus what the C layer remembers about it.
final class NetworkHandle {
    let network: RecurrentNetwork<Float>
    /// The parameter names as C strings, in `state_dict` order; freed in `deinit`.
    /// `rnnkit_rnn_param_name` hands these out, so they live as long as the handle.
    let parameterNameCStrings: [UnsafeMutablePointer<CChar>]
    /// `(T, B)` of the last successful training-mode forward whose backward has not run yet;
    /// `nil` when no backward is possible.
    var pendingBackwardShape: (steps: Int, batch: Int)?

    init(network: RecurrentNetwork<Float>) throws {
        self.network = network
        var names: [UnsafeMutablePointer<CChar>] = []
        for name in network.parameterNames {
            guard let copy = strdup(name) else {
                names.forEach { free($0) }
                throw RNNKitError(.outOfMemory, "cannot allocate the parameter names")
            }
            names.append(copy)
        }
        self.parameterNameCStrings = names
    }

    deinit {
        parameterNameCStrings.forEach { free($0) }
    }

    var configuration: RecurrentConfiguration { network.configuration }

    /// The handle behind `pointer`, or a null-pointer error.
    static func from(_ pointer: OpaquePointer?, _ argument: String = "rnn") throws -> NetworkHandle {
        guard let pointer else { throw CAPIError.nullPointer(argument) }
        return Unmanaged<NetworkHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }

    /// The layout entry of `name`, or an invalid-argument error listing the valid names.
    func entry(named name: UnsafePointer<CChar>) throws -> ParameterEntry {
        guard let string = String(validatingCString: name) else {
            throw RNNKitError(.invalidArgument, "the parameter name is not valid UTF-8")
        }
        guard let entry = network.layout.entry(named: string) else {
            throw RNNKitError(.invalidArgument,
                "unknown parameter '\(string)'; expected one of \(network.parameterNames.joined(separator: ", "))")
        }
        return entry
    }

    /// Throws unless `numel` is the element count of `entry`.
    func expectCount(_ numel: Int64, of entry: ParameterEntry) throws {
        guard numel == Int64(entry.count) else {
            throw RNNKitError(.shapeMismatch,
                "expected \(entry.name) with \(entry.count) elements (shape \(entry.shape)), got numel = \(numel)")
        }
    }
}
