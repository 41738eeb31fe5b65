// Saving and loading a RecurrentNetwork as safetensors.
//
// Tensors: one per parameter, named by PyTorch's state_dict key (`weight_ih_l0`, …), with
// PyTorch's shape, in state_dict order, dtype F32 (Float networks) or F64 (Double networks).
// So `torch.nn.LSTM(...).load_state_dict(safetensors.torch.load_file(path))` reads our files,
// and `load(from:)` reads `safetensors.torch.save_file(model.state_dict(), path)`.
//
// Metadata (`__metadata__`, all values strings) records the architecture; see
// ``RecurrentNetworkFileKey`` and docs/file-format.md.

/// The `__metadata__` keys RNNKit writes into a network file (the C API exposes the same names).
///
/// | key | value |
/// |---|---|
/// | `format` | `rnnkit-recurrent` |
/// | `format_version` | `1` |
/// | `cell` | `rnn_tanh`, `rnn_relu`, `lstm`, `gru` or `gru_reset_before` (``CellKind/rawValue``) |
/// | `input_size` | `I`, decimal |
/// | `hidden_size` | `H`, decimal |
/// | `num_layers` | `L`, decimal |
/// | `bidirectional` | `true` or `false` |
/// | `batch_first` | `true` or `false` |
/// | `dropout` | the dropout between layers, decimal; only when not 0 (absent: 0) |
/// | `peepholes` | `true` for an LSTM with peepholes; only then (absent: `false`) |
/// | `recurrent_dropout` | the recurrent dropout, decimal; only when not 0 (absent: 0) |
/// | `zoneout_hidden`, `zoneout_cell` | the zoneout probabilities, decimal; each only when not 0 (absent: 0) |
/// | `proj_size` | `P` of a projected LSTM, decimal; only then (absent: no projection) |
/// | `layer_norm` | `true` for a layer-normalised LSTM; only then (absent: `false`) |
public enum RecurrentNetworkFileKey {
    /// `"format"`; its value ``formatName`` marks a file written by RNNKit.
    public static let format = "format"
    /// `"format_version"`; its value is ``formatVersion``.
    public static let formatVersion = "format_version"
    /// `"cell"`: ``CellKind/rawValue``.
    public static let cell = "cell"
    /// `"input_size"`: `I`.
    public static let inputSize = "input_size"
    /// `"hidden_size"`: `H`.
    public static let hiddenSize = "hidden_size"
    /// `"num_layers"`: `L`.
    public static let numLayers = "num_layers"
    /// `"bidirectional"`: `true` or `false`.
    public static let bidirectional = "bidirectional"
    /// `"batch_first"`: `true` or `false`.
    public static let batchFirst = "batch_first"
    /// `"dropout"`: ``RecurrentConfiguration/dropout``, written only when it is not 0.
    public static let dropout = "dropout"
    /// `"peepholes"`: ``RecurrentConfiguration/peepholes``, written only when it is `true`.
    public static let peepholes = "peepholes"
    /// `"recurrent_dropout"`: ``RecurrentConfiguration/recurrentDropout``, written only when it is not 0.
    public static let recurrentDropout = "recurrent_dropout"
    /// `"zoneout_hidden"`: ``RecurrentConfiguration/zoneoutHidden``, written only when it is not 0.
    public static let zoneoutHidden = "zoneout_hidden"
    /// `"zoneout_cell"`: ``RecurrentConfiguration/zoneoutCell``, written only when it is not 0.
    public static let zoneoutCell = "zoneout_cell"
    /// `"proj_size"`: ``RecurrentConfiguration/projectionSize``, written only when it is not 0.
    public static let projectionSize = "proj_size"
    /// `"layer_norm"`: ``RecurrentConfiguration/layerNorm``, written only when it is `true`.
    public static let layerNorm = "layer_norm"

    /// The value of `format` in RNNKit network files: `"rnnkit-recurrent"`.
    public static let formatName = "rnnkit-recurrent"
    /// The value of `format_version` this version writes and reads: `"1"`.
    public static let formatVersion1 = "1"

    /// Every key above; callers' extra metadata may not use them.
    public static let reserved: Set<String> = [
        format, formatVersion, cell, inputSize, hiddenSize, numLayers, bidirectional, batchFirst, dropout, peepholes,
        recurrentDropout, zoneoutHidden, zoneoutCell, projectionSize, layerNorm,
    ]
}

extension RecurrentConfiguration {
    /// The architecture as the `__metadata__` entries of a network file (see ``RecurrentNetworkFileKey``).
    public var fileMetadata: [String: String] {
        typealias Key = RecurrentNetworkFileKey
        var metadata = [
            Key.format: Key.formatName,
            Key.formatVersion: Key.formatVersion1,
            Key.cell: cell.rawValue,
            Key.inputSize: String(inputSize),
            Key.hiddenSize: String(hiddenSize),
            Key.numLayers: String(numLayers),
            Key.bidirectional: String(bidirectional),
            Key.batchFirst: String(batchFirst),
        ]
        if dropout != 0 { metadata[Key.dropout] = "\(dropout)" }
        if peepholes { metadata[Key.peepholes] = "true" }
        if recurrentDropout != 0 { metadata[Key.recurrentDropout] = "\(recurrentDropout)" }
        if zoneoutHidden != 0 { metadata[Key.zoneoutHidden] = "\(zoneoutHidden)" }
        if zoneoutCell != 0 { metadata[Key.zoneoutCell] = "\(zoneoutCell)" }
        if isProjected { metadata[Key.projectionSize] = String(projectionSize) }
        if layerNorm { metadata[Key.layerNorm] = "true" }
        return metadata
    }

    /// Reads the architecture from a network file's metadata.
    ///
    /// - Returns: `nil` when `metadata` does not say `format = rnnkit-recurrent` (for example a
    ///   file written by `safetensors.torch.save_file`, which has no metadata).
    /// - Throws: ``RNNKitError`` `.invalidFile` if it does but a key is missing or malformed, the
    ///   version is not `1`, or the sizes are invalid. `source` names the file in messages.
    public init?(fileMetadata metadata: [String: String]?, source: String = "network file") throws {
        typealias Key = RecurrentNetworkFileKey
        guard let metadata, metadata[Key.format] == Key.formatName else { return nil }
        func value(_ key: String, _ expected: String) throws -> String {
            guard let text = metadata[key] else {
                throw RNNKitError(.invalidFile, "\(source): metadata has no '\(key)'; expected \(expected)")
            }
            return text
        }
        func size(_ key: String) throws -> Int {
            let text = try value(key, "a positive decimal integer")
            guard let number = Int(text), number >= 1, text.allSatisfy(\.isASCII) else {
                throw RNNKitError(.invalidFile, "\(source): metadata '\(key)' is \"\(text)\"; expected a positive decimal integer")
            }
            return number
        }
        func flag(_ key: String) throws -> Bool {
            let text = try value(key, "true or false")
            switch text {
            case "true": return true
            case "false": return false
            default: throw RNNKitError(.invalidFile, "\(source): metadata '\(key)' is \"\(text)\"; expected true or false")
            }
        }
        let version = try value(Key.formatVersion, "\"\(Key.formatVersion1)\"")
        guard version == Key.formatVersion1 else {
            throw RNNKitError(.invalidFile,
                "\(source): format_version is \"\(version)\"; this RNNKit reads version \(Key.formatVersion1)")
        }
        let cellNames = CellKind.allCases.map(\.rawValue).joined(separator: ", ")
        let cellName = try value(Key.cell, "one of \(cellNames)")
        guard let cell = CellKind(rawValue: cellName) else {
            throw RNNKitError(.invalidFile,
                "\(source): metadata 'cell' is \"\(cellName)\"; expected one of \(cellNames)")
        }
        func probability(_ key: String) throws -> Double {
            guard let text = metadata[key] else { return 0 }
            guard let value = Double(text), value.isFinite else {
                throw RNNKitError(.invalidFile, "\(source): metadata '\(key)' is \"\(text)\"; expected a decimal number in [0, 1)")
            }
            return value
        }
        let configuration = RecurrentConfiguration(
            cell: cell, inputSize: try size(Key.inputSize), hiddenSize: try size(Key.hiddenSize),
            numLayers: try size(Key.numLayers), bidirectional: try flag(Key.bidirectional),
            batchFirst: try flag(Key.batchFirst), dropout: try probability(Key.dropout),
            peepholes: metadata[Key.peepholes] == nil ? false : try flag(Key.peepholes),
            recurrentDropout: try probability(Key.recurrentDropout), zoneoutHidden: try probability(Key.zoneoutHidden),
            zoneoutCell: try probability(Key.zoneoutCell),
            projectionSize: metadata[Key.projectionSize] == nil ? 0 : try size(Key.projectionSize),
            layerNorm: metadata[Key.layerNorm] == nil ? false : try flag(Key.layerNorm))
        do {
            try configuration.validate()
        } catch let error as RNNKitError {
            throw RNNKitError(.invalidFile, "\(source): the architecture in the metadata is invalid: \(error.message)")
        }
        self = configuration
    }

    /// `lstm, input 3, hidden 4, 2 layers, bidirectional` — for messages.
    var architectureDescription: String {
        "\(cell.rawValue)\(peepholes ? " with peepholes" : "")\(layerNorm ? ", layer-normalised" : ""), input \(inputSize), hidden \(hiddenSize), "
            + (isProjected ? "projection \(projectionSize), " : "") + "\(numLayers) layer\(numLayers == 1 ? "" : "s"), " + (bidirectional ? "bidirectional" : "unidirectional")
    }
}

extension RecurrentNetwork {
    /// Writes the parameters to `path` as safetensors, atomically (old file or whole new one).
    ///
    /// One tensor per parameter, named and shaped as PyTorch's `state_dict`, dtype
    /// `Scalar.dtypeName` (F32 or F64); the architecture goes into `__metadata__`
    /// (see ``RecurrentNetworkFileKey``). Gradients and training state are not saved.
    /// - Parameter extra: more metadata to store (default none); keys must not be reserved ones.
    /// - Throws: ``RNNKitError`` `.invalidArgument` if `extra` uses a reserved key; `.io` if the
    ///   file cannot be written (an existing file at `path` is then untouched).
    public func save(to path: String, metadata extra: [String: String] = [:]) throws {
        try safeTensorsWriter(metadata: extra).writeAtomically(to: path)
    }

    /// The writer ``save(to:metadata:)`` uses, exposed for in-memory serialisation.
    func safeTensorsWriter(metadata extra: [String: String]) throws -> SafeTensorsWriter {
        let clashes = extra.keys.filter { RecurrentNetworkFileKey.reserved.contains($0) }.sorted()
        guard clashes.isEmpty else {
            throw RNNKitError(.invalidArgument,
                "extra metadata may not use the reserved key\(clashes.count == 1 ? "" : "s") \(clashes.joined(separator: ", ")); RNNKit writes the architecture there")
        }
        var metadata = configuration.fileMetadata
        metadata.merge(extra) { ours, _ in ours }
        var writer = SafeTensorsWriter(metadata: metadata)
        for entry in layout.entries {
            try writer.add(name: entry.name, shape: entry.shape,
                           values: parameters[entry.offset..<entry.offset + entry.count])
        }
        return writer
    }

    /// Replaces all parameters with those in the safetensors file at `path`.
    ///
    /// Accepts files written by ``save(to:metadata:)`` and by PyTorch's
    /// `safetensors.torch.save_file(model.state_dict(), path)`. Before anything is copied it
    /// checks that the tensor names are exactly ``parameterNames``, that every shape matches,
    /// that every dtype is F32 or F64 (converted to `Scalar`), and, when the file records an
    /// RNNKit architecture, that it equals this network's (`batch_first` may differ: it is a
    /// property of how inputs are laid out, not of the weights).
    /// - Throws: ``RNNKitError`` `.io` if the file cannot be read, `.invalidFile` naming every
    ///   problem otherwise; ``parameters`` are then untouched.
    public func load(from path: String) throws {
        try load(from: try SafeTensorsFile(contentsOf: path))
    }

    /// Reads the architecture from the file at `path`, creates the network, and loads its parameters.
    /// - Throws: ``RNNKitError`` `.invalidFile` if the file has no RNNKit architecture metadata
    ///   (a PyTorch file: create the network with its configuration and call ``load(from:)``) or
    ///   any check of ``load(from:)`` fails; `.io` if it cannot be read.
    public convenience init(contentsOf path: String) throws {
        let file = try SafeTensorsFile(contentsOf: path)
        guard let configuration = try RecurrentConfiguration(fileMetadata: file.metadata, source: file.source) else {
            throw RNNKitError(.invalidFile,
                "\(file.source) has no RNNKit architecture metadata (format = \(RecurrentNetworkFileKey.formatName)); for a file without it, such as one from safetensors.torch.save_file, create the network with its configuration and call load(from:)")
        }
        // The metadata is only text: before allocating the network it describes, check that the
        // file holds that many tensors and scalars, so a small file cannot demand gigabytes.
        try Self.expectFileHolds(configuration, file)
        try self.init(configuration)
        try load(from: file)
    }

    /// Throws `.invalidFile` unless `file` has as many tensors (``RecurrentConfiguration/parameterTensorCount()``) and scalars
    /// (``RecurrentConfiguration/parameterCount()``) as `configuration` needs, without building the layout.
    static func expectFileHolds(_ configuration: RecurrentConfiguration, _ file: SafeTensorsFile) throws {
        let c = configuration
        let tensorCount = try c.parameterTensorCount(), scalarCount = try c.parameterCount()
        let fileScalars = file.tensors.reduce(0) { $0 + $1.elementCount }  // ≤ the file's data bytes
        guard file.tensors.count == tensorCount, fileScalars == scalarCount else {
            throw RNNKitError(.invalidFile,
                "\(file.source): the metadata describes \(c.architectureDescription), which has \(tensorCount) tensors of \(scalarCount) scalars in all; the file holds \(file.tensors.count) tensors of \(fileScalars) scalars")
        }
    }

    /// Validates `file` against this network and, only if everything matches, copies it in.
    func load(from file: SafeTensorsFile) throws {
        let source = file.source
        if let recorded = try RecurrentConfiguration(fileMetadata: file.metadata, source: source) {
            let ours = configuration
            guard recorded.cell == ours.cell, recorded.inputSize == ours.inputSize,
                  recorded.hiddenSize == ours.hiddenSize, recorded.numLayers == ours.numLayers,
                  recorded.bidirectional == ours.bidirectional, recorded.peepholes == ours.peepholes,
                  recorded.projectionSize == ours.projectionSize, recorded.layerNorm == ours.layerNorm else {
                throw RNNKitError(.invalidFile,
                    "\(source) holds a network of \(recorded.architectureDescription); expected this network's architecture, \(ours.architectureDescription)")
            }
        }

        var problems: [String] = []
        let fileNames = Set(file.tensorNames)
        for entry in layout.entries where !fileNames.contains(entry.name) {
            problems.append("missing tensor \(entry.name)")
        }
        for tensor in file.tensors where layout.entry(named: tensor.name) == nil {
            problems.append("unexpected tensor \(tensor.name)")
        }
        for tensor in file.tensors {
            guard let entry = layout.entry(named: tensor.name) else { continue }
            if tensor.shape != entry.shape {
                problems.append("expected \(entry.name) with shape \(entry.shape), got \(tensor.shape)")
            }
            if tensor.dtype != .float32 && tensor.dtype != .float64 {
                problems.append("expected \(entry.name) with dtype F32 or F64, got \(tensor.dtype.rawValue)")
            }
        }
        guard problems.isEmpty else {
            let shown = problems.prefix(10).joined(separator: "; ")
            let more = problems.count > 10 ? "; and \(problems.count - 10) more problems" : ""
            throw RNNKitError(.invalidFile, "\(source) does not match the network's parameters: \(shown)\(more)")
        }

        // Everything matches: convert into a fresh buffer, then swap it in.
        var loaded = [Scalar](repeating: 0, count: layout.totalCount)
        for entry in layout.entries {
            let values: [Scalar] = try file.values(of: entry.name)
            loaded.replaceSubrange(entry.offset..<entry.offset + entry.count, with: values)
        }
        parameters = loaded
    }
}
