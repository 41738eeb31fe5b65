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

// MARK: Sizes and memory

/// The number of parameters of `configuration`, computed in closed form without trapping:
/// per direction, `G·H·(I + H + 2)` in layer 0 and `G·H·(D·H + H + 2)` in each layer above.
func parameterCount(_ c: RecurrentConfiguration) throws -> Int {
    let G = c.cell.gateCount, H = c.hiddenSize, D = c.directionCount, L = c.numLayers
    let what = "parameters"
    let firstWidth = try checkedSum([c.inputSize, H, 2], what: what)
    let upperWidth = try checkedSum([try checkedCount(D, H, what: what), H, 2], what: what)
    return try checkedSum([
        try checkedCount(D, G, H, firstWidth, what: what),
        try checkedCount(L - 1, D, G, H, upperWidth, what: what),
    ], what: what)
}

/// An upper bound on the scalars of the workspace RNNKit allocates for one forward of shape
/// `T × B` (see Workspace.swift): gate activations, saved states, layer outputs, the input copy,
/// output and input gradients, and the final states.
func workspaceCount(_ c: RecurrentConfiguration, steps: Int, batch: Int, training: Bool) throws -> Int {
    let what = "activations for T = \(steps), B = \(batch)"
    let G = c.cell.gateCount, H = c.hiddenSize, D = c.directionCount, L = c.numLayers
    let rows = try checkedCount(steps, batch, what: what)
    let directionSets = training ? L * D : D
    let perDirection = try checkedSum([
        try checkedCount(rows, G, H, what: what),          // gates (T·B, G·H)
        try checkedCount(rows, 3, H, what: what),          // h, c and tanh(c) / GRU n states (T·B, H)
        try checkedCount(batch, G + 4, H, what: what),     // step scratch and carried gradients (B, ·H)
    ], what: what)
    return try checkedSum([
        try checkedCount(directionSets, perDirection, what: what),
        try checkedCount(training ? L + 2 : 2, rows, D, H, what: what),  // layer outputs and their gradients
        try checkedCount(2, rows, c.inputSize, what: what),              // input copy and its gradient
        try checkedCount(2, L, D, batch, H, what: what),                 // final h and c
    ], what: what)
}

