// Saving and loading whole models (and the model part of training checkpoints) as safetensors.
//
// Tensor names (F32), in this order:
//   embedding.weight                      [V, E]          token models
//   rnn.weight_ih_l{k}, rnn.weight_hh_l{k}, rnn.bias_ih_l{k}, rnn.bias_hh_l{k}   for k in 0..<L
//     (then rnn.weight_peephole_l{k} [3H] for an LSTM with peepholes, and the same with `_reverse`
//     after each layer's own, for a bidirectional model)
//   head.weight [O, D·H], head.bias [O]                   models with a head
//   condition.weight [K, N]                               models conditioned on a class (N = L·D·(H + C),
//   condition.weight [N, F], condition.bias [N]           or on F features; see InitialStateConditioning)
// so `{k[4:]: v for k, v in sd.items() if k.startswith("rnn.")}` loads into
// `torch.nn.LSTM(num_layers=L, bidirectional=D == 2)`.
// A Seq2SeqModel prefixes its halves with `encoder.` and `decoder.` (the encoder's `rnn.*` carry
// `_reverse` tensors when it is bidirectional), and adds:
//   bridge.hidden_l{k}.weight [H, 2H], bridge.hidden_l{k}.bias [H]   bidirectional encoder, for k in 0..<L
//   bridge.cell_l{k}.weight [H, 2H], bridge.cell_l{k}.bias [H]       the same, LSTM only
//   attention.key.weight [H, D·H]                                    general attention (W_a)
//   attention.query.weight [A, H], attention.key.weight [A, D·H],
//   attention.v.weight [1, A]                                        additive attention (W_q, W_k, v)
//   decoder.head.weight [V, H + D·H], decoder.head.bias [V]          with attention: the head on [h_t ; c_t]
//                                                                    (without: the decoder's own head, [V, H])
//   decoder.embedding.weight [V, E]                                  with input feeding too, where the
//                                                                    decoder's rnn.weight_ih_l0 is [G·H, E + D·H]
// Metadata: `format = rnnkit-model`, `format_version = 1`, `model_kind = sequence | seq2seq`, the
// configuration as flat `model.*` (or `seq2seq.*`) strings, and `vocabulary` when the model has one.
// The seq2seq keys `seq2seq.bidirectional_encoder` (`true`), `seq2seq.attention` (`dot`, `general`,
// `additive`), `seq2seq.attention_size` (A) and `seq2seq.input_feeding` (`true`) are written only when
// they differ from their defaults (`false`, `none`, H, `false`), so files of models without attention
// read as before. The cell variants are likewise written only when set: `model.peepholes` and
// `model.layer_norm` (`true`), `model.proj_size` (P), `model.recurrent_dropout`, `model.zoneout_hidden`
// and `model.zoneout_cell` (when not 0), and their `seq2seq.` twins. With `proj_size`, every `rnn.*`
// layer also has `rnn.weight_hr_l{k}` [P, H] (after its biases, as PyTorch orders them), the head reads
// `D·P` features and each `h` row above is `P` wide; with `layer_norm`, the six `rnn.weight_ln_*` /
// `rnn.bias_ln_*` tensors of each layer follow its biases (RecurrentConfiguration.swift).
// Training checkpoints add `optimizer.*` and `trainer.*` tensors and `training.*` metadata (Checkpoint.swift);
// loading a model ignores those, so a checkpoint is also a model file.

/// The metadata keys and values of RNNKit model files.
public enum ModelFileKey {
    /// `"format"`; value ``formatName``.
    public static let format = "format"
    /// `"format_version"`; value ``formatVersion1``.
    public static let formatVersion = "format_version"
    /// `"model_kind"`: `sequence` or `seq2seq`.
    public static let modelKind = "model_kind"
    /// `"vocabulary"`: ``CharacterVocabulary/metadataValue``.
    public static let vocabulary = "vocabulary"
    /// `"rnnkit-model"`.
    public static let formatName = "rnnkit-model"
    /// `"1"`.
    public static let formatVersion1 = "1"
}

/// A model read from a file by ``loadModel(from:)``.
public enum LoadedModel {
    /// A ``SequenceModel``.
    case sequence(SequenceModel)
    /// A ``Seq2SeqModel``.
    case seq2seq(Seq2SeqModel)
}

/// Reads the model in the RNNKit model file or checkpoint at `path`, whichever kind it is.
/// - Throws: ``RNNKitError`` `.io` if unreadable, `.invalidFile` if it is not an RNNKit model file of
///   version 1, or its configuration, vocabulary or tensors are invalid or inconsistent.
public func loadModel(from path: String) throws -> LoadedModel {
    let file = try SafeTensorsFile(contentsOf: path)
    switch try checkedModelKind(of: file) {
    case "sequence": return .sequence(try SequenceModel(file: file))
    default: return .seq2seq(try Seq2SeqModel(file: file))
    }
}

/// Checks format and version and returns the model kind.
func checkedModelKind(of file: SafeTensorsFile) throws -> String {
    let metadata = file.metadata ?? [:]
    guard metadata[ModelFileKey.format] == ModelFileKey.formatName else {
        throw RNNKitError(.invalidFile,
            "\(file.source) is not an RNNKit model file: metadata 'format' is \(metadata[ModelFileKey.format].map { "\"\($0)\"" } ?? "missing"); expected \"\(ModelFileKey.formatName)\" (a bare recurrent network file loads with RecurrentNetwork(contentsOf:))")
    }
    let version = metadata[ModelFileKey.formatVersion] ?? "missing"
    guard version == ModelFileKey.formatVersion1 else {
        throw RNNKitError(.invalidFile,
            "\(file.source) is an RNNKit model file of format version \(version); this RNNKit reads version \(ModelFileKey.formatVersion1)")
    }
    let kind = metadata[ModelFileKey.modelKind] ?? "missing"
    guard kind == "sequence" || kind == "seq2seq" else {
        throw RNNKitError(.invalidFile, "\(file.source): model_kind is \(kind); expected sequence or seq2seq")
    }
    return kind
}

// MARK: Configurations as flat metadata

/// Reads typed values from metadata with messages that name the file and key.
struct MetadataReader {
    let metadata: [String: String]
    let source: String

    func string(_ key: String) throws -> String {
        guard let value = metadata[key] else {
            throw RNNKitError(.invalidFile, "\(source): metadata has no '\(key)'")
        }
        return value
    }
    func int(_ key: String) throws -> Int {
        let text = try string(key)
        guard let value = Int(text) else { throw RNNKitError(.invalidFile, "\(source): metadata '\(key)' is \"\(text)\"; expected an integer") }
        return value
    }
    func uint64(_ key: String) throws -> UInt64 {
        let text = try string(key)
        guard let value = UInt64(text) else { throw RNNKitError(.invalidFile, "\(source): metadata '\(key)' is \"\(text)\"; expected an unsigned 64-bit integer") }
        return value
    }
    func double(_ key: String) throws -> Double {
        let text = try string(key)
        guard let value = Double(text) else { throw RNNKitError(.invalidFile, "\(source): metadata '\(key)' is \"\(text)\"; expected a number") }
        return value
    }
    func bool(_ key: String) throws -> Bool {
        switch try string(key) {
        case "true": return true
        case "false": return false
        case let text: throw RNNKitError(.invalidFile, "\(source): metadata '\(key)' is \"\(text)\"; expected true or false")
        }
    }
    func enumeration<E: RawRepresentable<String>>(_ key: String, _ type: E.Type) throws -> E {
        let text = try string(key)
        guard let value = E(rawValue: text) else { throw RNNKitError(.invalidFile, "\(source): metadata '\(key)' is \"\(text)\", which is not a valid \(E.self)") }
        return value
    }
}

extension RecurrentInitialization {
    func metadata(prefix p: String) -> [String: String] {
        [p + "init_orthogonal": String(orthogonalRecurrentWeights), p + "init_glorot": String(glorotInputWeights),
         p + "init_forget_bias": forgetGateBias.map { "\($0)" } ?? "none"]
    }
    init(_ r: MetadataReader, prefix p: String) throws {
        let bias = try r.string(p + "init_forget_bias")
        self.init(orthogonalRecurrentWeights: try r.bool(p + "init_orthogonal"), glorotInputWeights: try r.bool(p + "init_glorot"),
                  forgetGateBias: bias == "none" ? nil : try r.double(p + "init_forget_bias"))
    }
}

extension SequenceModelConfiguration {
    /// The configuration as `model.*` metadata strings.
    public var fileMetadata: [String: String] {
        let p = "model."
        return [p + "input": input.rawValue, p + "vocabulary_size": String(vocabularySize), p + "embedding_size": String(embeddingSize),
                p + "feature_size": String(featureSize), p + "cell": cell.rawValue, p + "hidden_size": String(hiddenSize),
                p + "num_layers": String(numLayers), p + "dropout": "\(dropout)", p + "head": head.rawValue,
                p + "output_size": String(outputSize), p + "seed": String(seed)]
            .merging(initialization.metadata(prefix: p)) { a, _ in a }
            .merging(bidirectional ? [p + "bidirectional": "true"] : [:]) { a, _ in a }
            .merging(cellVariants.metadata(prefix: p)) { a, _ in a }
            .merging(conditioningMetadata(prefix: p)) { a, _ in a }
    }

    /// `model.conditioning` (`classes` or `features`) and `model.condition_size`; nothing unconditioned.
    private func conditioningMetadata(prefix p: String) -> [String: String] {
        switch conditioning {
        case .none: [:]
        case .classes(let count): [p + "conditioning": "classes", p + "condition_size": String(count)]
        case .features(let size): [p + "conditioning": "features", p + "condition_size": String(size)]
        }
    }

    /// Reads ``fileMetadata``. `model.bidirectional`, `model.conditioning` and the cell-variant keys are
    /// optional (files written before they existed have none: unidirectional, unconditioned, the plain cell).
    /// - Throws: ``RNNKitError`` `.invalidFile` for a missing or malformed key or an invalid configuration.
    public init(fileMetadata metadata: [String: String], source: String = "model file") throws {
        let r = MetadataReader(metadata: metadata, source: source), p = "model."
        self.init(input: try r.enumeration(p + "input", SequenceInputKind.self), vocabularySize: try r.int(p + "vocabulary_size"),
                  embeddingSize: try r.int(p + "embedding_size"), featureSize: try r.int(p + "feature_size"),
                  cell: try r.enumeration(p + "cell", CellKind.self), hiddenSize: try r.int(p + "hidden_size"),
                  numLayers: try r.int(p + "num_layers"), dropout: try r.double(p + "dropout"),
                  head: try r.enumeration(p + "head", SequenceHeadKind.self), outputSize: try r.int(p + "output_size"),
                  initialization: try RecurrentInitialization(r, prefix: p), seed: try r.uint64(p + "seed"))
        bidirectional = metadata[p + "bidirectional"] == nil ? false : try r.bool(p + "bidirectional")
        cellVariants = try CellVariantMetadata(r, prefix: p)
        switch metadata[p + "conditioning"] {
        case nil: conditioning = .none
        case "classes": conditioning = .classes(count: try r.int(p + "condition_size"))
        case "features": conditioning = .features(size: try r.int(p + "condition_size"))
        case let other?:
            throw RNNKitError(.invalidFile, "\(source): metadata 'model.conditioning' is \"\(other)\"; expected classes or features")
        }
        do { try validate() } catch let error as RNNKitError {
            throw RNNKitError(.invalidFile, "\(source): the model configuration in the metadata is invalid: \(error.message)")
        }
    }
}

extension Seq2SeqConfiguration {
    /// The configuration as `seq2seq.*` metadata strings.
    public var fileMetadata: [String: String] {
        let p = "seq2seq."
        return [p + "source_vocabulary_size": String(sourceVocabularySize), p + "target_vocabulary_size": String(targetVocabularySize),
                p + "embedding_size": String(embeddingSize), p + "cell": cell.rawValue, p + "hidden_size": String(hiddenSize),
                p + "num_layers": String(numLayers), p + "dropout": "\(dropout)", p + "begin_token": String(beginToken),
                p + "end_token": String(endToken), p + "seed": String(seed)]
            .merging(initialization.metadata(prefix: p)) { a, _ in a }
            .merging(bidirectionalEncoder ? [p + "bidirectional_encoder": "true"] : [:]) { a, _ in a }
            .merging(attention != .none ? [p + "attention": attention.rawValue] : [:]) { a, _ in a }
            .merging(attentionSize != hiddenSize ? [p + "attention_size": String(attentionSize)] : [:]) { a, _ in a }
            .merging(inputFeeding ? [p + "input_feeding": "true"] : [:]) { a, _ in a }
            .merging(cellVariants.metadata(prefix: p)) { a, _ in a }
    }

    /// Reads ``fileMetadata``. `seq2seq.bidirectional_encoder`, `seq2seq.attention`,
    /// `seq2seq.attention_size`, `seq2seq.input_feeding` and the cell-variant keys are optional (default
    /// `false`, `none`, the hidden size, `false`, the plain cell): files written before they existed do not have them.
    /// - Throws: ``RNNKitError`` `.invalidFile` for a missing or malformed key or an invalid configuration.
    public init(fileMetadata metadata: [String: String], source: String = "model file") throws {
        let r = MetadataReader(metadata: metadata, source: source), p = "seq2seq."
        self.init(sourceVocabularySize: try r.int(p + "source_vocabulary_size"), targetVocabularySize: try r.int(p + "target_vocabulary_size"),
                  embeddingSize: try r.int(p + "embedding_size"), cell: try r.enumeration(p + "cell", CellKind.self),
                  hiddenSize: try r.int(p + "hidden_size"), numLayers: try r.int(p + "num_layers"), dropout: try r.double(p + "dropout"),
                  beginToken: try r.int(p + "begin_token"), endToken: try r.int(p + "end_token"),
                  initialization: try RecurrentInitialization(r, prefix: p), seed: try r.uint64(p + "seed"))
        bidirectionalEncoder = metadata[p + "bidirectional_encoder"] == nil ? false : try r.bool(p + "bidirectional_encoder")
        attention = metadata[p + "attention"] == nil ? .none : try r.enumeration(p + "attention", AttentionScore.self)
        attentionSize = metadata[p + "attention_size"] == nil ? hiddenSize : try r.int(p + "attention_size")
        inputFeeding = metadata[p + "input_feeding"] == nil ? false : try r.bool(p + "input_feeding")
        cellVariants = try CellVariantMetadata(r, prefix: p)
        do { try validate() } catch let error as RNNKitError {
            throw RNNKitError(.invalidFile, "\(source): the seq2seq configuration in the metadata is invalid: \(error.message)")
        }
    }
}

/// The cell-variant keys both model kinds share, each written only when it is not the plain cell's.
struct CellVariantMetadata: Equatable {
    var peepholes = false
    var recurrentDropout = 0.0
    var zoneoutHidden = 0.0
    var zoneoutCell = 0.0
    var projectionSize = 0
    var layerNorm = false

    init(peepholes: Bool, recurrentDropout: Double, zoneoutHidden: Double, zoneoutCell: Double,
         projectionSize: Int, layerNorm: Bool) {
        (self.peepholes, self.recurrentDropout, self.zoneoutHidden) = (peepholes, recurrentDropout, zoneoutHidden)
        (self.zoneoutCell, self.projectionSize, self.layerNorm) = (zoneoutCell, projectionSize, layerNorm)
    }

    /// Reads the keys under `prefix`; a missing key is the plain cell's value.
    init(_ r: MetadataReader, prefix p: String) throws {
        func present(_ key: String) -> Bool { r.metadata[p + key] != nil }
        peepholes = present("peepholes") ? try r.bool(p + "peepholes") : false
        recurrentDropout = present("recurrent_dropout") ? try r.double(p + "recurrent_dropout") : 0
        zoneoutHidden = present("zoneout_hidden") ? try r.double(p + "zoneout_hidden") : 0
        zoneoutCell = present("zoneout_cell") ? try r.double(p + "zoneout_cell") : 0
        projectionSize = present("proj_size") ? try r.int(p + "proj_size") : 0
        layerNorm = present("layer_norm") ? try r.bool(p + "layer_norm") : false
    }

    func metadata(prefix p: String) -> [String: String] {
        var keys: [String: String] = [:]
        if peepholes { keys[p + "peepholes"] = "true" }
        if recurrentDropout != 0 { keys[p + "recurrent_dropout"] = "\(recurrentDropout)" }
        if zoneoutHidden != 0 { keys[p + "zoneout_hidden"] = "\(zoneoutHidden)" }
        if zoneoutCell != 0 { keys[p + "zoneout_cell"] = "\(zoneoutCell)" }
        if projectionSize != 0 { keys[p + "proj_size"] = String(projectionSize) }
        if layerNorm { keys[p + "layer_norm"] = "true" }
        return keys
    }
}

/// A model configuration with the cell-variant options of its recurrent stacks
/// (``SequenceModelConfiguration``, ``Seq2SeqConfiguration``), so code that sets them can serve both.
public protocol CellVariantOptions {
    /// LSTM peephole connections (default `false`).
    var peepholes: Bool { get set }
    /// Recurrent dropout, `0 ≤ p < 1` (default 0).
    var recurrentDropout: Double { get set }
    /// Zoneout of the hidden state, `0 ≤ p < 1` (default 0).
    var zoneoutHidden: Double { get set }
    /// LSTM zoneout of the cell state, `0 ≤ p < 1` (default 0).
    var zoneoutCell: Double { get set }
    /// LSTM projection size `P`, `0 < P < H`, or 0 (default) for none.
    var projectionSize: Int { get set }
    /// LSTM layer normalisation (default `false`).
    var layerNorm: Bool { get set }
}

extension CellVariantOptions {
    /// The cell-variant options as one value (what files record of them).
    var cellVariants: CellVariantMetadata {
        get {
            CellVariantMetadata(peepholes: peepholes, recurrentDropout: recurrentDropout, zoneoutHidden: zoneoutHidden,
                                zoneoutCell: zoneoutCell, projectionSize: projectionSize, layerNorm: layerNorm)
        }
        set {
            (peepholes, recurrentDropout, zoneoutHidden) = (newValue.peepholes, newValue.recurrentDropout, newValue.zoneoutHidden)
            (zoneoutCell, projectionSize, layerNorm) = (newValue.zoneoutCell, newValue.projectionSize, newValue.layerNorm)
        }
    }
}

extension SequenceModelConfiguration: CellVariantOptions {}
extension Seq2SeqConfiguration: CellVariantOptions {}

// MARK: Named tensors

/// One tensor of a model file: name, PyTorch shape, values.
public struct NamedTensor: Sendable {
    /// The `state_dict`-style name.
    public var name: String
    /// The shape.
    public var shape: [Int]
    /// Row-major values.
    public var values: [Float]
}

extension SequenceModel {
    /// Every parameter tensor under the names of a PyTorch module (`embedding.weight`, `rnn.weight_ih_l{k}`, `head.weight`, …),
    /// each prefixed with `prefix` (default none).
    public func namedTensors(prefix: String = "") -> [NamedTensor] {
        var tensors: [NamedTensor] = []
        if let embedding {
            tensors.append(NamedTensor(name: prefix + "embedding.weight", shape: [embedding.count, embedding.dimension], values: embedding.parameters))
        }
        for entry in network.layout.entries {
            tensors.append(NamedTensor(name: prefix + "rnn." + entry.name, shape: entry.shape,
                                       values: Array(network.parameters[entry.offset..<entry.offset + entry.count])))
        }
        if let head {
            tensors.append(NamedTensor(name: prefix + "head.weight", shape: [head.outputSize, head.inputSize], values: head.weight))
            if let bias = head.bias { tensors.append(NamedTensor(name: prefix + "head.bias", shape: [head.outputSize], values: bias)) }
        }
        if let conditioning {
            var offset = 0
            for (name, shape) in zip(conditioning.parameterNames, conditioning.parameterShapes) {
                let count = shape.reduce(1, *)
                tensors.append(NamedTensor(name: prefix + "condition." + name, shape: shape,
                                           values: Array(conditioning.parameters[offset..<offset + count])))
                offset += count
            }
        }
        return tensors
    }

    /// Replaces every parameter with the tensors of `file` named as ``namedTensors(prefix:)`` names them.
    /// Every name, shape and dtype is checked before anything is copied.
    /// - Throws: ``RNNKitError`` `.invalidFile` listing the problems; the model is then untouched.
    func loadTensors(from file: SafeTensorsFile, prefix: String = "") throws {
        try requireNoProblems(tensorProblems(in: file, prefix: prefix), in: file)
        try copyTensors(from: file, prefix: prefix)
    }

    /// What keeps `file` from loading into this model: missing tensors, wrong shapes or dtypes, and
    /// tensors under `prefix` the model does not have; `loadedElsewhere` names tensors under `prefix`
    /// that another part of the model reads (a seq2seq attention head).
    func tensorProblems(in file: SafeTensorsFile, prefix: String = "", loadedElsewhere: Set<String> = []) -> [String] {
        let expected = namedTensors(prefix: prefix)
        var problems: [String] = []
        for tensor in expected {
            guard let info = file.tensor(named: tensor.name) else { problems.append("missing tensor \(tensor.name)"); continue }
            if info.shape != tensor.shape { problems.append("expected \(tensor.name) with shape \(tensor.shape), got \(info.shape)") }
            if info.dtype != .float32 && info.dtype != .float64 { problems.append("expected \(tensor.name) with dtype F32 or F64, got \(info.dtype.rawValue)") }
        }
        let known = Set(expected.map(\.name)).union(loadedElsewhere)
        for name in file.tensorNames where name.hasPrefix(prefix) && !known.contains(name)
            && !name.hasPrefix("optimizer.") && !name.hasPrefix("trainer.") && (prefix != "" || !(name.hasPrefix("encoder.") || name.hasPrefix("decoder."))) {
            problems.append("unexpected tensor \(name)")
        }
        return problems
    }

    /// Copies the tensors ``tensorProblems(in:prefix:loadedElsewhere:)`` found no problem with.
    func copyTensors(from file: SafeTensorsFile, prefix: String = "") throws {
        var values: [String: [Float]] = [:]
        for tensor in namedTensors(prefix: prefix) { values[tensor.name] = try file.values(of: tensor.name, as: Float.self) }
        embedding?.parameters = values[prefix + "embedding.weight"] ?? []
        for entry in network.layout.entries {
            network.parameters.replaceSubrange(entry.offset..<entry.offset + entry.count, with: values[prefix + "rnn." + entry.name]!)
        }
        if let head { head.parameters = values[prefix + "head.weight"]! + (values[prefix + "head.bias"] ?? []) }
        if let conditioning {
            conditioning.parameters = conditioning.parameterNames.flatMap { values[prefix + "condition." + $0]! }
        }
    }

    /// `"sequence"`.
    public static let modelKind = "sequence"

    /// Every parameter tensor, as ``namedTensors(prefix:)`` names them.
    public var fileTensors: [NamedTensor] { namedTensors() }

    /// Reads the model of `file`, whose format, version and kind are checked.
    public convenience init(checkedFile file: SafeTensorsFile) throws {
        let metadata = file.metadata ?? [:]
        let configuration = try SequenceModelConfiguration(fileMetadata: metadata, source: file.source)
        try requireTensorElements(in: file, forModelOf: { try configuration.minimumParameterCount() })
        try self.init(configuration)
        try loadTensors(from: file)
        if let text = metadata[ModelFileKey.vocabulary] {
            vocabulary = try CharacterVocabulary(metadataValue: text)
            if configuration.input == .tokens, vocabulary!.count != configuration.vocabularySize {
                throw RNNKitError(.invalidFile,
                    "\(file.source): the vocabulary has \(vocabulary!.count) characters but the model's vocabulary size is \(configuration.vocabularySize)")
            }
        }
    }
}

/// A model kind that RNNKit saves and loads as one model file: safetensors with the model's
/// tensors, and metadata naming the format, its version, the kind (``modelKind``), the
/// configuration and the vocabulary. ``SequenceModel`` and ``Seq2SeqModel`` conform.
public protocol ModelFileRepresentable: AnyObject {
    /// The `model_kind` metadata value of this kind (`sequence`, `seq2seq`).
    static var modelKind: String { get }
    /// The architecture of a model of this kind, which writes itself as metadata strings.
    associatedtype Configuration: ModelFileConfiguration
    /// The model's architecture.
    var configuration: Configuration { get }
    /// The characters of a character-level model, saved with it; `nil` otherwise.
    var vocabulary: CharacterVocabulary? { get }
    /// Every parameter tensor, under the name and shape it has in the file.
    var fileTensors: [NamedTensor] { get }
    /// Reads the model of `file`, whose format, version and kind have been checked.
    /// - Throws: ``RNNKitError`` `.invalidFile` for a configuration, vocabulary or tensors that do not fit.
    init(checkedFile file: SafeTensorsFile) throws
}

/// A configuration that model files store as flat metadata strings.
public protocol ModelFileConfiguration {
    /// The configuration as metadata strings (`model.*`, `seq2seq.*`).
    var fileMetadata: [String: String] { get }
}

extension SequenceModelConfiguration: ModelFileConfiguration {}
extension Seq2SeqConfiguration: ModelFileConfiguration {}
extension SequenceModel: ModelFileRepresentable {}
extension Seq2SeqModel: ModelFileRepresentable {}

extension ModelFileRepresentable {
    /// The model's file metadata: format, version, kind, configuration and vocabulary.
    public var fileMetadata: [String: String] {
        var metadata = configuration.fileMetadata
        metadata[ModelFileKey.format] = ModelFileKey.formatName
        metadata[ModelFileKey.formatVersion] = ModelFileKey.formatVersion1
        metadata[ModelFileKey.modelKind] = Self.modelKind
        if let vocabulary { metadata[ModelFileKey.vocabulary] = vocabulary.metadataValue }
        return metadata
    }

    /// A writer holding the model's tensors and metadata (checkpoints add to it).
    public func safeTensorsWriter() throws -> SafeTensorsWriter {
        var writer = SafeTensorsWriter(metadata: fileMetadata)
        for tensor in fileTensors { try writer.add(name: tensor.name, shape: tensor.shape, values: tensor.values) }
        return writer
    }

    /// Writes the model to `path` as safetensors, atomically (the old file or the whole new one).
    /// - Throws: ``RNNKitError`` `.io` if the file cannot be written.
    public func save(to path: String) throws { try safeTensorsWriter().writeAtomically(to: path) }

    /// Reads a model written by ``save(to:)`` (or a training checkpoint of one).
    /// - Throws: ``RNNKitError`` `.invalidFile` for another format, version, kind or architecture; `.io` if unreadable.
    public init(contentsOf path: String) throws {
        try self.init(file: try SafeTensorsFile(contentsOf: path))
    }

    /// Reads the model of `file` after checking its format, version and kind.
    init(file: SafeTensorsFile) throws {
        let kind = try checkedModelKind(of: file)
        guard kind == Self.modelKind else {
            let loader = kind == SequenceModel.modelKind ? "SequenceModel" : "Seq2SeqModel"
            throw RNNKitError(.invalidFile, "\(file.source) holds a \(kind) model; load it with \(loader)(contentsOf:) or loadModel(from:)")
        }
        try self.init(checkedFile: file)
    }
}

extension Seq2SeqModel {
    /// Encoder tensors prefixed `encoder.`, the bridge's `bridge.*`, decoder tensors prefixed `decoder.`
    /// (with input feeding, ``feedingEmbedding`` first, as `decoder.embedding.weight`), then the
    /// attention's `attention.*` and the attention head's `decoder.head.*` (see the top of this file).
    public func namedTensors() -> [NamedTensor] {
        encoder.namedTensors(prefix: "encoder.") + bridgeTensors() + feedingEmbeddingTensors()
            + decoder.namedTensors(prefix: "decoder.") + attentionTensors()
    }

    /// `decoder.embedding.weight` of ``feedingEmbedding``; none without input feeding.
    private func feedingEmbeddingTensors() -> [NamedTensor] {
        guard let feedingEmbedding else { return [] }
        return [NamedTensor(name: "decoder.embedding.weight", shape: [feedingEmbedding.count, feedingEmbedding.dimension],
                            values: feedingEmbedding.parameters)]
    }

    /// `bridge.hidden_l{k}.weight`, `.bias`, then `bridge.cell_l{k}.*`, layer by layer; none without a bridge.
    private func bridgeTensors() -> [NamedTensor] {
        (bridge?.namedMaps ?? []).flatMap { name, map in
            [NamedTensor(name: "bridge.\(name).weight", shape: [map.outputSize, map.inputSize], values: map.weight),
             NamedTensor(name: "bridge.\(name).bias", shape: [map.outputSize], values: map.bias!)]
        }
    }

    /// `attention.*` and `decoder.head.weight`, `decoder.head.bias`; none without attention.
    private func attentionTensors() -> [NamedTensor] {
        var tensors: [NamedTensor] = []
        if let attention {
            for entry in attention.parameterEntries {
                tensors.append(NamedTensor(name: "attention." + entry.name, shape: entry.shape,
                                           values: Array(attention.parameters[entry.offset..<entry.offset + entry.count])))
            }
        }
        if let attentionHead {
            tensors.append(NamedTensor(name: "decoder.head.weight", shape: [attentionHead.outputSize, attentionHead.inputSize],
                                       values: attentionHead.weight))
            tensors.append(NamedTensor(name: "decoder.head.bias", shape: [attentionHead.outputSize], values: attentionHead.bias!))
        }
        return tensors
    }

    /// What keeps `file`'s tensors from loading into this model: every part's problems (see
    /// ``SequenceModel/tensorProblems(in:prefix:loadedElsewhere:)``), and `bridge.*` or `attention.*`
    /// tensors this model does not have.
    private func tensorProblems(in file: SafeTensorsFile) -> [String] {
        let expected = bridgeTensors() + feedingEmbeddingTensors() + attentionTensors()
        let decoderNamesLoadedHere = Set(expected.map(\.name).filter { $0.hasPrefix("decoder.") })
        var problems = encoder.tensorProblems(in: file, prefix: "encoder.")
            + decoder.tensorProblems(in: file, prefix: "decoder.", loadedElsewhere: decoderNamesLoadedHere)
        for tensor in expected {
            guard let info = file.tensor(named: tensor.name) else { problems.append("missing tensor \(tensor.name)"); continue }
            if info.shape != tensor.shape { problems.append("expected \(tensor.name) with shape \(tensor.shape), got \(info.shape)") }
            if info.dtype != .float32 && info.dtype != .float64 { problems.append("expected \(tensor.name) with dtype F32 or F64, got \(info.dtype.rawValue)") }
        }
        let known = Set(expected.map(\.name))
        for name in file.tensorNames where (name.hasPrefix("bridge.") || name.hasPrefix("attention.")) && !known.contains(name) {
            problems.append("unexpected tensor \(name)")
        }
        return problems
    }

    /// Copies the tensors ``tensorProblems(in:)`` found no problem with.
    private func copyTensors(from file: SafeTensorsFile) throws {
        try encoder.copyTensors(from: file, prefix: "encoder.")
        try decoder.copyTensors(from: file, prefix: "decoder.")
        var values: [String: [Float]] = [:]
        for tensor in bridgeTensors() + feedingEmbeddingTensors() + attentionTensors() {
            values[tensor.name] = try file.values(of: tensor.name, as: Float.self)
        }
        feedingEmbedding?.parameters = values["decoder.embedding.weight"]!
        for (name, map) in bridge?.namedMaps ?? [] {
            map.parameters = values["bridge.\(name).weight"]! + values["bridge.\(name).bias"]!
        }
        if let attention {
            for entry in attention.parameterEntries {
                attention.parameters.replaceSubrange(entry.offset..<entry.offset + entry.count, with: values["attention." + entry.name]!)
            }
        }
        attentionHead?.parameters = values["decoder.head.weight"]! + values["decoder.head.bias"]!
    }

    /// `"seq2seq"`.
    public static let modelKind = "seq2seq"

    /// Every parameter tensor, as ``namedTensors()`` names them.
    public var fileTensors: [NamedTensor] { namedTensors() }

    /// Reads the model of `file`, whose format, version and kind are checked.
    public convenience init(checkedFile file: SafeTensorsFile) throws {
        let metadata = file.metadata ?? [:]
        let configuration = try Seq2SeqConfiguration(fileMetadata: metadata, source: file.source)
        try requireTensorElements(in: file, forModelOf: { try configuration.minimumParameterCount() })
        try self.init(configuration)
        try requireNoProblems(tensorProblems(in: file), in: file)
        try copyTensors(from: file)
        if let text = metadata[ModelFileKey.vocabulary] { vocabulary = try CharacterVocabulary(metadataValue: text) }
    }
}

extension SequenceModelConfiguration {
    /// A lower bound on the parameters this configuration allocates: the recurrent stack, the
    /// embedding and the head's weight matrix (biases left out), with overflow checked.
    func minimumParameterCount() throws -> Int {
        let what = "model file: the model"
        let embedding = input == .tokens ? try checkedProduct(vocabularySize, embeddingSize, what: "model file: embedding") : 0
        let head = head == .none ? 0 : try checkedProduct(outputSize, stackConfiguration.outputSize, what: "model file: head")
        let stateWidths = try checkedSum(stackConfiguration.stateSize, cell.hasCellState ? hiddenSize : 0,
                                         what: "model file: conditioning")
        let stateValues = try checkedProduct(numLayers, stackConfiguration.directionCount, stateWidths,
                                             what: "model file: conditioning")
        let condition = switch conditioning {
        case .none: 0
        case .classes(let count): try checkedProduct(count, stateValues, what: "model file: conditioning")
        case .features(let size): try checkedProduct(size, stateValues, what: "model file: conditioning")
        }
        return try checkedSum(try stackConfiguration.parameterCount(), embedding, head, condition, what: what)
    }
}

extension Seq2SeqConfiguration {
    /// A lower bound on the parameters this configuration allocates: both stacks (as
    /// ``SequenceModelConfiguration/minimumParameterCount()`` counts them), the bridge's and the
    /// attention's weights, the attention head's weight matrix and the input-feeding embedding, with
    /// overflow checked.
    func minimumParameterCount() throws -> Int {
        let what = "model file: the seq2seq model"
        let H = stateSize, K = encoderOutputSize
        let bridgeLayer = try checkedSum(try checkedProduct(H, 2, H, what: "model file: bridge"),
                                         cell.hasCellState ? try checkedProduct(hiddenSize, 2, hiddenSize, what: "model file: bridge") : 0,
                                         what: "model file: bridge")
        let bridge = bidirectionalEncoder ? try checkedProduct(numLayers, bridgeLayer, what: "model file: bridge") : 0
        let scores = switch attention {
        case .none, .dot: 0
        case .general: try checkedProduct(H, K, what: "model file: attention")
        case .additive: try checkedProduct(attentionSize, try checkedSum(H, K, 1, what: what), what: "model file: attention")
        }
        let head = attention == .none ? 0 : try checkedProduct(targetVocabularySize, try checkedSum(H, K, what: what), what: "model file: head")
        let feeding = inputFeeding ? try checkedProduct(targetVocabularySize, embeddingSize, what: "model file: embedding") : 0
        return try checkedSum(try encoder.minimumParameterCount(), try decoder.minimumParameterCount(), bridge, scores, head,
                              feeding, what: what)
    }
}

/// Throws one error listing the first eight `problems` (and how many more), if there are any.
private func requireNoProblems(_ problems: [String], in file: SafeTensorsFile) throws {
    guard problems.isEmpty else {
        throw RNNKitError(.invalidFile,
            "\(file.source) does not match the model's architecture: \(problems.prefix(8).joined(separator: "; "))\(problems.count > 8 ? "; and \(problems.count - 8) more" : "")")
    }
}

/// Refuses a file whose tensors hold fewer elements than the model its metadata describes, before
/// that model is allocated: hostile metadata must not make a small file allocate a huge model.
/// A size that overflows is as invalid as one that is merely too large.
private func requireTensorElements(in file: SafeTensorsFile, forModelOf parameterCount: () throws -> Int) throws {
    let required: Int
    do {
        required = try parameterCount()
    } catch let error as RNNKitError {
        throw RNNKitError(.invalidFile, "\(file.source): \(error.message)")
    }
    let held = file.tensors.reduce(0) { $0 &+ $1.elementCount }
    guard held >= required else {
        throw RNNKitError(.invalidFile,
            "\(file.source): the metadata describes a model of at least \(required) parameters, but the file's tensors hold \(held) elements")
    }
}
