// rnnkit_rnn_options: the growable architecture struct of rnnkit.h, read and written by byte
// offset up to the caller's struct_size, so a caller compiled against an older or newer header
// never makes RNNKit read or write past its struct.

import RNNKit

/// The fields of `rnnkit_rnn_options` this version knows, with their C offsets.
struct NetworkOptions {
    var cell: Int32 = 2
    var inputSize: Int32 = 0, hiddenSize: Int32 = 0, numLayers: Int32 = 1, bidirectional: Int32 = 0
    var projectionSize: Int32 = 0
    var peepholes: Int32 = 0
    var layerNorm: Int32 = 0
    var recurrentDropout: Float = 0
    var zoneoutHidden: Float = 0, zoneoutCell: Float = 0
    var seed: UInt64 = 0

    /// The defaults of `rnnkit_rnn_options_init`: LSTM, one layer, everything else 0.
    init() {}

    /// Bytes of this version's fields: `offsetof(seed) + 8`, what a caller's `struct_size` must reach.
    static let knownSize = 56

    /// The cell codes of `enum rnnkit_cell`.
    static let cells: [Int32: CellKind] = [0: .rnnTanh, 1: .rnnRelu, 2: .lstm, 3: .gru, 4: .gruResetBefore]

    /// The caller's `struct_size`, checked to cover this version's fields.
    static func structSize(at options: UnsafeRawPointer) throws -> Int {
        let size = Int(options.loadUnaligned(as: UInt32.self))
        guard size >= knownSize else {
            throw RNNKitError(.invalidArgument,
                "rnnkit_rnn_options.struct_size is \(size); expected at least \(knownSize), the size of this version's fields (call rnnkit_rnn_options_init)")
        }
        return size
    }

    /// Reads the fields of the struct at `options`, refusing bytes past them that are not zero.
    init(reading options: UnsafeRawPointer) throws {
        let size = try Self.structSize(at: options)
        if let offset = (Self.knownSize..<size).first(where: { options.load(fromByteOffset: $0, as: UInt8.self) != 0 }) {
            throw RNNKitError(.invalidArgument,
                "rnnkit_rnn_options has a nonzero byte at offset \(offset), past the \(Self.knownSize) bytes this version of RNNKit knows; a field of a newer header cannot be honoured")
        }
        func int32(_ offset: Int) -> Int32 { options.loadUnaligned(fromByteOffset: offset, as: Int32.self) }
        func float(_ offset: Int) -> Float { options.loadUnaligned(fromByteOffset: offset, as: Float.self) }
        cell = int32(4)
        inputSize = int32(8); hiddenSize = int32(12); numLayers = int32(16); bidirectional = int32(20)
        projectionSize = int32(24); peepholes = int32(28); layerNorm = int32(32)
        recurrentDropout = float(36); zoneoutHidden = float(40); zoneoutCell = float(44)
        seed = options.loadUnaligned(fromByteOffset: 48, as: UInt64.self)
    }

    /// The options of `configuration` (seed 0).
    init(_ configuration: RecurrentConfiguration) {
        cell = Self.cells.first { $0.value == configuration.cell }!.key
        inputSize = Int32(clamping: configuration.inputSize)
        hiddenSize = Int32(clamping: configuration.hiddenSize)
        numLayers = Int32(clamping: configuration.numLayers)
        bidirectional = configuration.bidirectional ? 1 : 0
        projectionSize = Int32(clamping: configuration.projectionSize)
        peepholes = configuration.peepholes ? 1 : 0
        layerNorm = configuration.layerNorm ? 1 : 0
        recurrentDropout = Float(configuration.recurrentDropout)
        zoneoutHidden = Float(configuration.zoneoutHidden)
        zoneoutCell = Float(configuration.zoneoutCell)
    }

    /// Writes the architecture fields into the struct at `options` (its `struct_size` bytes,
    /// zero past this version's fields); `struct_size` and `seed` are left as they are.
    func writeArchitecture(to options: UnsafeMutableRawPointer) throws {
        let size = try Self.structSize(at: UnsafeRawPointer(options))
        func store<T>(_ value: T, _ offset: Int) { options.storeBytes(of: value, toByteOffset: offset, as: T.self) }
        store(cell, 4)
        store(inputSize, 8); store(hiddenSize, 12); store(numLayers, 16); store(bidirectional, 20)
        store(projectionSize, 24); store(peepholes, 28); store(layerNorm, 32)
        store(recurrentDropout, 36); store(zoneoutHidden, 40); store(zoneoutCell, 44)
        (options + Self.knownSize).initializeMemory(as: UInt8.self, repeating: 0, count: size - Self.knownSize)
    }

    /// The configuration the options describe, every field checked, with a message naming it.
    func configuration() throws -> RecurrentConfiguration {
        guard let kind = Self.cells[cell] else {
            throw RNNKitError(.invalidArgument,
                "rnnkit_rnn_options.cell is \(cell); expected 0 (RNN tanh), 1 (RNN relu), 2 (LSTM), 3 (GRU) or 4 (GRU reset-before)")
        }
        for (name, value) in [("input_size", inputSize), ("hidden_size", hiddenSize), ("num_layers", numLayers)] where value < 1 {
            throw RNNKitError(.invalidArgument, "rnnkit_rnn_options.\(name) must be at least 1, got \(value)")
        }
        for (name, value) in [("bidirectional", bidirectional), ("peepholes", peepholes), ("layer_norm", layerNorm)]
        where value != 0 && value != 1 {
            throw RNNKitError(.invalidArgument, "rnnkit_rnn_options.\(name) must be 0 or 1, got \(value)")
        }
        guard projectionSize >= 0 else {
            throw RNNKitError(.invalidArgument, "rnnkit_rnn_options.proj_size must be 0 (none) or positive, got \(projectionSize)")
        }
        for (name, value) in [("recurrent_dropout", recurrentDropout), ("zoneout_hidden", zoneoutHidden), ("zoneout_cell", zoneoutCell)]
        where !(value >= 0 && value < 1) {
            throw RNNKitError(.invalidArgument, "rnnkit_rnn_options.\(name) is \(value); expected a probability 0 ≤ p < 1")
        }
        if kind != .lstm {
            for (name, set) in [("proj_size", projectionSize != 0), ("peepholes", peepholes != 0), ("layer_norm", layerNorm != 0)] where set {
                throw RNNKitError(.invalidArgument, "rnnkit_rnn_options.\(name) is an LSTM option; cell \(cell) (\(kind.rawValue)) has none")
            }
        }
        if kind != .lstm, zoneoutCell != 0 {
            throw RNNKitError(.invalidArgument, "rnnkit_rnn_options.zoneout_cell is an LSTM option; cell \(cell) (\(kind.rawValue)) has none")
        }
        guard projectionSize < hiddenSize else {
            throw RNNKitError(.invalidArgument,
                "rnnkit_rnn_options.proj_size is \(projectionSize); expected 0 (none) or less than hidden_size \(hiddenSize)")
        }
        return RecurrentConfiguration(
            cell: kind, inputSize: Int(inputSize), hiddenSize: Int(hiddenSize), numLayers: Int(numLayers),
            bidirectional: bidirectional == 1, peepholes: peepholes == 1, recurrentDropout: Double(recurrentDropout),
            zoneoutHidden: Double(zoneoutHidden), zoneoutCell: Double(zoneoutCell), projectionSize: Int(projectionSize),
            layerNorm: layerNorm == 1)
    }
}
