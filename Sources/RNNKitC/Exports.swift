// The C entry points of networks (rnnkit_rnn_*) and the library-wide ones (version, threads,
// last error), in the order of Modules/CRNNKit/include/rnnkit.h, with C-representable types only.
// The model entry points (rnnkit_model_*) are in ModelHandle.swift.
//
// Dimension legend: T steps, B batch, I input, H hidden, L layers, D directions, R width of h
// (proj_size P of a projected LSTM, else H).
// Each function checks every argument before any RNNKit API sees it, so no RNNKit
// precondition can be reached from C; failures go through `guarded`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNKit

/// The version `rnnkit_version` reports.
nonisolated(unsafe) private let versionString: UnsafePointer<CChar> = UnsafePointer(strdup("0.1.0")!)

// MARK: Library

/// The library version; see rnnkit.h.
@_cdecl("rnnkit_version")
public func rnnkit_version() -> UnsafePointer<CChar> {
    versionString
}

/// The OpenBLAS core this process runs; see rnnkit.h.
@_cdecl("rnnkit_blas_core")
public func rnnkit_blas_core() -> UnsafePointer<CChar> {
    openBLASCoreName()
}

/// This thread's last error message; see rnnkit.h.
@_cdecl("rnnkit_last_error")
public func rnnkit_last_error() -> UnsafePointer<CChar> {
    lastErrorMessage()
}

/// Sets RNNKit's thread count (its workers and OpenBLAS's); see rnnkit.h.
@_cdecl("rnnkit_set_num_threads")
public func rnnkit_set_num_threads(_ n: Int32) -> Int32 {
    guarded("rnnkit_set_num_threads") {
        guard n >= 1 else {
            throw RNNKitError(.invalidArgument, "thread count must be at least 1, got \(n)")
        }
        setThreadCount(Int(n))
    }
}

// MARK: Networks

/// Creates a network handle; see rnnkit.h.
@_cdecl("rnnkit_rnn_create")
public func rnnkit_rnn_create(
    _ cell: Int32, _ inputSize: Int32, _ hiddenSize: Int32, _ numLayers: Int32,
    _ bidirectional: Int32, _ seed: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    out?.pointee = nil
    return guarded("rnnkit_rnn_create") {
        let out = try required(out, "out")
        let cells: [Int32: CellKind] = [0: .rnnTanh, 1: .rnnRelu, 2: .lstm, 3: .gru]
        guard let kind = cells[cell] else {
            throw RNNKitError(.invalidArgument,
                "unknown cell code \(cell); expected 0 (RNN tanh), 1 (RNN relu), 2 (LSTM) or 3 (GRU)")
        }
        guard inputSize >= 1 else { throw RNNKitError(.invalidArgument, "input_size must be at least 1, got \(inputSize)") }
        guard hiddenSize >= 1 else { throw RNNKitError(.invalidArgument, "hidden_size must be at least 1, got \(hiddenSize)") }
        guard numLayers >= 1 else { throw RNNKitError(.invalidArgument, "num_layers must be at least 1, got \(numLayers)") }
        guard bidirectional == 0 || bidirectional == 1 else {
            throw RNNKitError(.invalidArgument, "bidirectional must be 0 or 1, got \(bidirectional)")
        }
        let configuration = RecurrentConfiguration(
            cell: kind, inputSize: Int(inputSize), hiddenSize: Int(hiddenSize),
            numLayers: Int(numLayers), bidirectional: bidirectional == 1)
        // RecurrentNetwork validates the configuration and probes the memory of its parameters.
        let handle = try NetworkHandle(network: try RecurrentNetwork<Float>(configuration, seed: seed))
        out.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
    }
}

/// Fills an options struct with the defaults (NULL is a no-op); see rnnkit.h.
@_cdecl("rnnkit_rnn_options_init")
public func rnnkit_rnn_options_init(_ options: UnsafeMutableRawPointer?) {
    guard let options else { return }
    options.storeBytes(of: UInt32(NetworkOptions.knownSize), as: UInt32.self)
    options.storeBytes(of: UInt64(0), toByteOffset: 48, as: UInt64.self)
    // The architecture fields of the defaults (struct_size was just set, so this cannot throw).
    try? NetworkOptions().writeArchitecture(to: options)
}

/// Creates a network handle from an options struct; see rnnkit.h.
@_cdecl("rnnkit_rnn_create_with_options")
public func rnnkit_rnn_create_with_options(
    _ options: UnsafeRawPointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    out?.pointee = nil
    return guarded("rnnkit_rnn_create_with_options") {
        let out = try required(out, "out")
        let options = try NetworkOptions(reading: try requiredBytes(options, "options"))
        let configuration = try options.configuration()
        let handle = try NetworkHandle(network: try RecurrentNetwork<Float>(configuration, seed: options.seed))
        out.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
    }
}

/// Writes a network's architecture into an options struct; see rnnkit.h.
@_cdecl("rnnkit_rnn_describe")
public func rnnkit_rnn_describe(_ rnn: OpaquePointer?, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guarded("rnnkit_rnn_describe") {
        let handle = try NetworkHandle.from(rnn)
        let out = try requiredBytes(out, "out")
        try NetworkOptions(handle.configuration).writeArchitecture(to: out)
    }
}

/// Releases a network handle (NULL is a no-op); see rnnkit.h.
@_cdecl("rnnkit_rnn_destroy")
public func rnnkit_rnn_destroy(_ rnn: OpaquePointer?) {
    guard let rnn else { return }
    Unmanaged<NetworkHandle>.fromOpaque(UnsafeRawPointer(rnn)).release()
}

/// Number of parameter tensors; see rnnkit.h.
@_cdecl("rnnkit_rnn_param_count")
public func rnnkit_rnn_param_count(_ rnn: OpaquePointer?, _ count: UnsafeMutablePointer<Int32>?) -> Int32 {
    guarded("rnnkit_rnn_param_count") {
        let handle = try NetworkHandle.from(rnn)
        let count = try required(count, "count")
        count.pointee = Int32(clamping: handle.parameterNameCStrings.count)  // 4·L·D, far below 2^31 once created
    }
}

/// Name and element count of one parameter tensor; see rnnkit.h.
@_cdecl("rnnkit_rnn_param_name")
public func rnnkit_rnn_param_name(
    _ rnn: OpaquePointer?, _ index: Int32,
    _ name: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ numel: UnsafeMutablePointer<Int64>?
) -> Int32 {
    guarded("rnnkit_rnn_param_name") {
        let handle = try NetworkHandle.from(rnn)
        let name = try required(name, "name")
        let numel = try required(numel, "numel")
        let names = handle.parameterNameCStrings
        guard index >= 0, Int(index) < names.count else {
            throw RNNKitError(.invalidArgument,
                "parameter index \(index) is out of range; expected 0…\(names.count - 1)")
        }
        name.pointee = UnsafePointer(names[Int(index)])
        numel.pointee = Int64(handle.network.layout.entries[Int(index)].count)
    }
}

/// Replaces one parameter tensor by name; see rnnkit.h.
@_cdecl("rnnkit_rnn_set_param")
public func rnnkit_rnn_set_param(
    _ rnn: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ data: UnsafePointer<Float>?, _ numel: Int64
) -> Int32 {
    guarded("rnnkit_rnn_set_param") {
        let handle = try NetworkHandle.from(rnn)
        let entry = try handle.entry(named: try required(name, "name"))
        let data = try required(data, "data")
        try handle.expectCount(numel, of: entry)
        handle.network.parameters.withUnsafeMutableBufferPointer { parameters in
            (parameters.baseAddress! + entry.offset).update(from: data, count: entry.count)
        }
    }
}

/// Copies one parameter tensor out by name; see rnnkit.h.
@_cdecl("rnnkit_rnn_get_param")
public func rnnkit_rnn_get_param(
    _ rnn: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ data: UnsafeMutablePointer<Float>?, _ numel: Int64
) -> Int32 {
    copyTensor("rnnkit_rnn_get_param", rnn, name, data, numel, from: \.parameters)
}

/// Copies one accumulated gradient out by name; see rnnkit.h.
@_cdecl("rnnkit_rnn_get_grad")
public func rnnkit_rnn_get_grad(
    _ rnn: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ data: UnsafeMutablePointer<Float>?, _ numel: Int64
) -> Int32 {
    copyTensor("rnnkit_rnn_get_grad", rnn, name, data, numel, from: \.gradients)
}

/// The tensor `name` of the flat buffer `buffer` (parameters or gradients) copied into `data`.
private func copyTensor(
    _ function: StaticString, _ rnn: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ data: UnsafeMutablePointer<Float>?,
    _ numel: Int64, from buffer: KeyPath<RecurrentNetwork<Float>, [Float]>
) -> Int32 {
    guarded(function) {
        let handle = try NetworkHandle.from(rnn)
        let entry = try handle.entry(named: try required(name, "name"))
        let data = try required(data, "data")
        try handle.expectCount(numel, of: entry)
        handle.network[keyPath: buffer].withUnsafeBufferPointer { values in
            data.update(from: values.baseAddress! + entry.offset, count: entry.count)
        }
    }
}

/// Zeroes the accumulated gradients; see rnnkit.h.
@_cdecl("rnnkit_rnn_zero_grad")
public func rnnkit_rnn_zero_grad(_ rnn: OpaquePointer?) -> Int32 {
    guarded("rnnkit_rnn_zero_grad") {
        try NetworkHandle.from(rnn).network.zeroGradients()
    }
}

/// Switches between training (1) and inference (0); see rnnkit.h.
@_cdecl("rnnkit_rnn_set_training")
public func rnnkit_rnn_set_training(_ rnn: OpaquePointer?, _ training: Int32) -> Int32 {
    guarded("rnnkit_rnn_set_training") {
        let handle = try NetworkHandle.from(rnn)
        guard training == 0 || training == 1 else {
            throw RNNKitError(.invalidArgument, "training must be 0 (inference) or 1 (training), got \(training)")
        }
        handle.network.isTraining = training == 1
        if training == 0 { handle.pendingBackwardShape = nil }
    }
}

/// Forward over x [T, B, I] into y [T, B, D·H] and h_n/c_n [L·D, B, H]; see rnnkit.h.
@_cdecl("rnnkit_rnn_forward")
public func rnnkit_rnn_forward(
    _ rnn: OpaquePointer?, _ seqLen: Int32, _ batch: Int32,
    _ x: UnsafePointer<Float>?, _ lengths: UnsafePointer<Int32>?,
    _ h0: UnsafePointer<Float>?, _ c0: UnsafePointer<Float>?,
    _ y: UnsafeMutablePointer<Float>?, _ hN: UnsafeMutablePointer<Float>?, _ cN: UnsafeMutablePointer<Float>?
) -> Int32 {
    guard let rnn else { return guarded("rnnkit_rnn_forward") { throw CAPIError.nullPointer("rnn") } }
    let handle = Unmanaged<NetworkHandle>.fromOpaque(UnsafeRawPointer(rnn)).takeUnretainedValue()
    // Whatever happens below, the activations of an earlier forward are no longer the ones
    // a backward would expect.
    handle.pendingBackwardShape = nil
    return guarded("rnnkit_rnn_forward") {
        let c = handle.configuration, network = handle.network
        let x = try required(x, "x")
        let y = try required(y, "y")
        guard seqLen >= 1 else { throw RNNKitError(.invalidArgument, "seq_len (T) must be at least 1, got \(seqLen)") }
        guard batch >= 1 else { throw RNNKitError(.invalidArgument, "batch (B) must be at least 1, got \(batch)") }
        if !c.cell.hasCellState, c0 != nil || cN != nil {
            throw RNNKitError(.invalidArgument,
                "c0 and c_n are only for LSTM; pass NULL for a \(c.cell.rawValue) network")
        }
        let T = Int(seqLen), B = Int(batch)
        let inputCount = try checkedProduct(T, B, c.inputSize, what: "x [T, B, I]")
        let outputCount = try checkedProduct(T, B, c.outputSize, what: "y [T, B, D·R]")
        let hiddenCount = try checkedProduct(c.numLayers * c.directionCount, B, c.stateSize, what: "states [L·D, B, R]")
        let cellCount = try checkedProduct(c.numLayers * c.directionCount, B, c.hiddenSize, what: "states [L·D, B, H]")

        var rowLengths: [Int]? = nil
        if let lengths {
            var values: [Int] = []
            values.reserveCapacity(B)
            for row in 0..<B {
                let length = Int(lengths[row])
                guard length >= 1, length <= T else {
                    throw RNNKitError(.invalidArgument,
                        "lengths[\(row)] = \(length) is out of range; expected 1…\(T) (T = seq_len)")
                }
                values.append(length)
            }
            rowLengths = values
        }

        try network.forward(
            input: UnsafeBufferPointer(start: x, count: inputCount), steps: T, batch: B, lengths: rowLengths,
            initialHidden: h0.map { UnsafeBufferPointer(start: $0, count: hiddenCount) },
            initialCell: c0.map { UnsafeBufferPointer(start: $0, count: cellCount) },
            output: UnsafeMutableBufferPointer(start: y, count: outputCount),
            finalHidden: hN.map { UnsafeMutableBufferPointer(start: $0, count: hiddenCount) },
            finalCell: cN.map { UnsafeMutableBufferPointer(start: $0, count: cellCount) })
        if network.isTraining { handle.pendingBackwardShape = (T, B) }
    }
}

/// Backward through the last training-mode forward; see rnnkit.h.
@_cdecl("rnnkit_rnn_backward")
public func rnnkit_rnn_backward(
    _ rnn: OpaquePointer?, _ dy: UnsafePointer<Float>?,
    _ dhN: UnsafePointer<Float>?, _ dcN: UnsafePointer<Float>?,
    _ dx: UnsafeMutablePointer<Float>?, _ dh0: UnsafeMutablePointer<Float>?, _ dc0: UnsafeMutablePointer<Float>?
) -> Int32 {
    guarded("rnnkit_rnn_backward") {
        let handle = try NetworkHandle.from(rnn)
        let c = handle.configuration, network = handle.network
        let dy = try required(dy, "dy")
        guard network.isTraining else {
            throw RNNKitError(.invalidState,
                "the network is in inference mode, which keeps no activations; call rnnkit_rnn_set_training(rnn, 1) and run forward again")
        }
        guard let (T, B) = handle.pendingBackwardShape else {
            throw RNNKitError(.invalidState,
                "no forward awaits a backward; expected one successful training-mode forward before each backward")
        }
        if !c.cell.hasCellState, dcN != nil || dc0 != nil {
            throw RNNKitError(.invalidArgument,
                "dc_n and dc0 are only for LSTM; pass NULL for a \(c.cell.rawValue) network")
        }
        // These products were checked by the forward that set the shape.
        let inputCount = T * B * c.inputSize
        let outputCount = T * B * c.outputSize
        let hiddenCount = c.numLayers * c.directionCount * B * c.stateSize
        let cellCount = c.numLayers * c.directionCount * B * c.hiddenSize
        try network.backward(
            outputGradient: UnsafeBufferPointer(start: dy, count: outputCount),
            finalHiddenGradient: dhN.map { UnsafeBufferPointer(start: $0, count: hiddenCount) },
            finalCellGradient: dcN.map { UnsafeBufferPointer(start: $0, count: cellCount) },
            inputGradient: dx.map { UnsafeMutableBufferPointer(start: $0, count: inputCount) },
            initialHiddenGradient: dh0.map { UnsafeMutableBufferPointer(start: $0, count: hiddenCount) },
            initialCellGradient: dc0.map { UnsafeMutableBufferPointer(start: $0, count: cellCount) })
        handle.pendingBackwardShape = nil
    }
}

/// Saves the parameters to a safetensors file, atomically; see rnnkit.h.
@_cdecl("rnnkit_rnn_save")
public func rnnkit_rnn_save(_ rnn: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded("rnnkit_rnn_save") {
        let handle = try NetworkHandle.from(rnn)
        let path = try filePath(path)
        try saveNetwork(handle.network, to: path)
    }
}

/// Loads parameters from a safetensors file of the same architecture; see rnnkit.h.
@_cdecl("rnnkit_rnn_load")
public func rnnkit_rnn_load(_ rnn: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    guarded("rnnkit_rnn_load") {
        let handle = try NetworkHandle.from(rnn)
        let path = try filePath(path)
        try loadNetwork(into: handle.network, from: path)
    }
}

/// `path` as a Swift string, or an error for NULL or invalid UTF-8.
private func filePath(_ path: UnsafePointer<CChar>?) throws -> String {
    let path = try required(path, "path")
    guard let string = String(validatingCString: path), !string.isEmpty else {
        throw RNNKitError(.invalidArgument, "path must be a non-empty UTF-8 string")
    }
    return string
}
