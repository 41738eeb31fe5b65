// The C entry points for whole models (rnnkit_model_*), declared in rnnkit.h.
// A handle is an `Unmanaged<ModelHandle>` retained by rnnkit_model_load and released by
// rnnkit_model_destroy. Every argument is checked here before RNNKit sees it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNKit

/// A loaded model in inference mode. A SequenceModel keeps its streaming state (batch 1): zero
/// for a unidirectional unconditioned model, the condition's for a conditioned one once
/// `rnnkit_model_reset_condition` set it, and none for a bidirectional model (which cannot stream).
/// A Seq2SeqModel has no streaming state; it decodes whole sources.
final class ModelHandle {
    private let sequenceModel: SequenceModel?
    let seq2seqModel: Seq2SeqModel?
    var state: RecurrentState<Float>?

    init(model: SequenceModel) throws {
        model.isTraining = false
        sequenceModel = model
        seq2seqModel = nil
        let c = model.configuration
        self.state = c.bidirectional || c.conditioning != .none ? nil : try model.makeState(batch: 1)
    }

    init(model: Seq2SeqModel) {
        model.isTraining = false
        sequenceModel = nil
        seq2seqModel = model
    }

    /// The sequence model, or an error for an encoder–decoder.
    var model: SequenceModel {
        get throws {
            guard let sequenceModel else {
                throw RNNKitError(.invalidArgument,
                    "this is an encoder-decoder (seq2seq) model: it decodes whole sources with rnnkit_model_decode")
            }
            return sequenceModel
        }
    }

    /// The streaming state, or why there is none.
    func requireState() throws -> RecurrentState<Float> {
        if let state { return state }
        if try model.configuration.bidirectional {
            throw RNNKitError(.invalidArgument,
                "this model is bidirectional: its reverse direction reads the whole sequence, so it cannot stream; use rnnkit_model_predict_tokens or rnnkit_model_predict_features")
        }
        throw RNNKitError(.invalidState, "this model is conditioned; set its state with rnnkit_model_reset_condition first")
    }

    static func from(_ pointer: OpaquePointer?) throws -> ModelHandle {
        guard let pointer else { throw CAPIError.nullPointer("model") }
        return Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }

    /// Steps with `advance`, copying the outputs to `out` only after every check passed.
    func step(out: UnsafeMutablePointer<Float>?, count: Int64,
              _ advance: (inout RecurrentState<Float>) throws -> [Float]) throws {
        let out = try required(out, "out")
        let outputSize = try model.configuration.modelOutputSize
        guard count == Int64(outputSize) else {
            throw RNNKitError(.shapeMismatch, "out_count is \(count); expected the model's output size O = \(outputSize)")
        }
        var next = try requireState()
        let outputs = try advance(&next)
        out.update(from: outputs, count: outputSize)
        state = next
    }
}

/// Loads a model; see rnnkit.h.
@_cdecl("rnnkit_model_load")
public func rnnkit_model_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    out?.pointee = nil
    return guarded("rnnkit_model_load") {
        let out = try required(out, "out")
        let path = try required(path, "path")
        guard let string = String(validatingCString: path), !string.isEmpty else {
            throw RNNKitError(.invalidArgument, "path must be a non-empty UTF-8 string")
        }
        let handle = switch try loadModel(from: string) {
        case .sequence(let model): try ModelHandle(model: model)
        case .seq2seq(let model): ModelHandle(model: model)
        }
        out.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
    }
}

/// Releases a model; see rnnkit.h.
@_cdecl("rnnkit_model_destroy")
public func rnnkit_model_destroy(_ model: OpaquePointer?) {
    guard let model else { return }
    Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model)).release()
}

/// Describes a model; see rnnkit.h.
@_cdecl("rnnkit_model_describe")
public func rnnkit_model_describe(_ model: OpaquePointer?, _ takesTokens: UnsafeMutablePointer<Int32>?,
                                  _ inputSize: UnsafeMutablePointer<Int64>?, _ outputSize: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded("rnnkit_model_describe") {
        let handle = try ModelHandle.from(model)
        let takesTokens = try required(takesTokens, "takes_tokens")
        let inputSize = try required(inputSize, "input_size"), outputSize = try required(outputSize, "output_size")
        if let seq2seq = handle.seq2seqModel {
            takesTokens.pointee = 1
            inputSize.pointee = Int64(seq2seq.configuration.sourceVocabularySize)
            outputSize.pointee = Int64(seq2seq.configuration.targetVocabularySize)
            return
        }
        let c = try handle.model.configuration
        takesTokens.pointee = c.input == .tokens ? 1 : 0
        inputSize.pointee = Int64(c.input == .tokens ? c.vocabularySize : c.featureSize)
        outputSize.pointee = Int64(c.modelOutputSize)
    }
}

/// Zeroes a model's state; see rnnkit.h.
@_cdecl("rnnkit_model_reset")
public func rnnkit_model_reset(_ model: OpaquePointer?) -> Int32 {
    guarded("rnnkit_model_reset") {
        let handle = try ModelHandle.from(model)
        guard try handle.model.configuration.conditioning == .none else {
            throw RNNKitError(.invalidArgument, "this model is conditioned; reset it with rnnkit_model_reset_condition")
        }
        handle.state = try handle.model.makeState(batch: 1)
    }
}

/// Describes a model's pattern; see rnnkit.h.
@_cdecl("rnnkit_model_describe_pattern")
public func rnnkit_model_describe_pattern(_ model: OpaquePointer?, _ kind: UnsafeMutablePointer<Int32>?,
                                          _ head: UnsafeMutablePointer<Int32>?,
                                          _ bidirectional: UnsafeMutablePointer<Int32>?,
                                          _ conditionClasses: UnsafeMutablePointer<Int64>?,
                                          _ conditionFeatures: UnsafeMutablePointer<Int64>?) -> Int32 {
    guarded("rnnkit_model_describe_pattern") {
        let handle = try ModelHandle.from(model)
        let kind = try required(kind, "kind")
        let head = try required(head, "head"), bidirectional = try required(bidirectional, "bidirectional")
        let classes = try required(conditionClasses, "condition_classes"), features = try required(conditionFeatures, "condition_features")
        (classes.pointee, features.pointee) = (0, 0)
        if let seq2seq = handle.seq2seqModel {
            kind.pointee = 1
            head.pointee = 0
            bidirectional.pointee = seq2seq.encoder.configuration.bidirectional ? 1 : 0
            return
        }
        let c = try handle.model.configuration
        kind.pointee = 0
        head.pointee = switch c.head {
        case .everyStep: 0
        case .lastStep: 1
        case .meanPool: 2
        case .maxPool: 3
        case .none: 4
        }
        bidirectional.pointee = c.bidirectional ? 1 : 0
        switch c.conditioning {
        case .none: (classes.pointee, features.pointee) = (0, 0)
        case .classes(let count): (classes.pointee, features.pointee) = (Int64(count), 0)
        case .features(let size): (classes.pointee, features.pointee) = (0, Int64(size))
        }
    }
}

/// The condition a C caller passes: `class_id` when `condition` is NULL, else `condition_count` features.
private func cCondition(_ model: SequenceModel, classID: Int64, features: UnsafePointer<Float>?, count: Int64) throws -> SequenceCondition {
    switch model.configuration.conditioning {
    case .none:
        throw RNNKitError(.invalidArgument, "this model is not conditioned; pass class_id -1 and a NULL condition")
    case .classes(let classes):
        guard features == nil else {
            throw RNNKitError(.invalidArgument, "this model is conditioned on a class id in 0...\(classes - 1); pass condition NULL")
        }
        guard classID >= 0, classID < Int64(classes) else {
            throw RNNKitError(.invalidArgument, "class id \(classID) is out of range; expected 0...\(classes - 1)")
        }
        return .classes([Int(classID)])
    case .features(let size):
        let features = try required(features, "condition")
        guard count == Int64(size) else {
            throw RNNKitError(.shapeMismatch, "condition_count is \(count); expected the model's condition features F = \(size)")
        }
        let values = Array(UnsafeBufferPointer(start: features, count: size))
        guard values.allSatisfy(\.isFinite) else { throw RNNKitError(.invalidArgument, "the condition holds a value that is not finite") }
        return .features(values)
    }
}

/// Sets a conditioned model's state from a condition; see rnnkit.h.
@_cdecl("rnnkit_model_reset_condition")
public func rnnkit_model_reset_condition(_ model: OpaquePointer?, _ classID: Int64, _ condition: UnsafePointer<Float>?,
                                         _ conditionCount: Int64) -> Int32 {
    guarded("rnnkit_model_reset_condition") {
        let handle = try ModelHandle.from(model)
        let condition = try cCondition(try handle.model, classID: classID, features: condition, count: conditionCount)
        handle.state = try handle.model.makeState(condition: condition)
    }
}

/// Runs a model over one whole sequence; `inputs` gives the input and its step count T.
private func predict(_ handle: ModelHandle, _ inputs: SequenceInputs, steps: Int, probabilities: Int32,
                     out: UnsafeMutablePointer<Float>?, count: Int64) throws {
    let out = try required(out, "out")
    let c = try handle.model.configuration
    guard probabilities == 0 || probabilities == 1 else {
        throw RNNKitError(.invalidArgument, "probabilities must be 0 (raw outputs) or 1 (softmax over each output row), got \(probabilities)")
    }
    guard c.conditioning == .none else {
        throw RNNKitError(.invalidArgument, "this model is conditioned; it generates with rnnkit_model_sample_tokens")
    }
    let rowSize = c.modelOutputSize
    let rows = c.head.isPerSequence ? 1 : steps
    guard count == Int64(rows * rowSize) else {
        throw RNNKitError(.shapeMismatch,
            "out_count is \(count); expected \(c.head.isPerSequence ? "O = \(rowSize) (one row per sequence)" : "T·O = \(steps)·\(rowSize) = \(rows * rowSize) (one row per step)")")
    }
    var outputs = try handle.model.forward(inputs, steps: steps, batch: 1).outputs   // (rows, O)
    if probabilities == 1 {
        for row in 0..<rows {
            let scores = outputs[row * rowSize..<(row + 1) * rowSize]
            let largest = scores.max()!
            let exponentials = scores.map { expf($0 - largest) }
            let total = exponentials.reduce(0, +)
            for (k, e) in exponentials.enumerated() { outputs[row * rowSize + k] = e / total }
        }
    }
    out.update(from: outputs, count: outputs.count)
}

/// `count` ids from C, each checked to be in `0..<vocabularySize`; an error names the first bad one
/// as "`what` … at `position` t".
func cTokenIds(_ ids: UnsafePointer<Int64>, count: Int, vocabularySize: Int, what: String, position: String) throws -> [Int] {
    try UnsafeBufferPointer(start: ids, count: count).enumerated().map { (t, id) -> Int in
        guard id >= 0, id < Int64(vocabularySize) else {
            throw RNNKitError(.invalidArgument, "\(what) \(id) at \(position) \(t) is out of range; expected 0...\(vocabularySize - 1)")
        }
        return Int(id)
    }
}

/// Checks a step count from C.
private func cSteps(_ steps: Int64) throws -> Int {
    guard steps >= 1, steps <= Int64(Int32.max) else {
        throw RNNKitError(.invalidArgument, "steps must be in 1...\(Int32.max), got \(steps)")
    }
    return Int(steps)
}

/// Runs a token model over a sequence; see rnnkit.h.
@_cdecl("rnnkit_model_predict_tokens")
public func rnnkit_model_predict_tokens(_ model: OpaquePointer?, _ ids: UnsafePointer<Int64>?, _ steps: Int64,
                                        _ probabilities: Int32, _ out: UnsafeMutablePointer<Float>?, _ outCount: Int64) -> Int32 {
    guarded("rnnkit_model_predict_tokens") {
        let handle = try ModelHandle.from(model)
        let ids = try required(ids, "ids")
        let c = try handle.model.configuration
        guard c.input == .tokens else {
            throw RNNKitError(.invalidArgument, "this model reads feature vectors, not token ids; use rnnkit_model_predict_features")
        }
        let T = try cSteps(steps)
        let tokens = try cTokenIds(ids, count: T, vocabularySize: c.vocabularySize, what: "token id", position: "step")
        try predict(handle, .tokens(tokens), steps: T, probabilities: probabilities, out: out, count: outCount)
    }
}

/// Runs a feature model over a sequence; see rnnkit.h.
@_cdecl("rnnkit_model_predict_features")
public func rnnkit_model_predict_features(_ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ steps: Int64, _ n: Int64,
                                          _ probabilities: Int32, _ out: UnsafeMutablePointer<Float>?, _ outCount: Int64) -> Int32 {
    guarded("rnnkit_model_predict_features") {
        let handle = try ModelHandle.from(model)
        let x = try required(x, "x")
        let c = try handle.model.configuration
        guard c.input == .features else {
            throw RNNKitError(.invalidArgument, "this model reads token ids, not feature vectors; use rnnkit_model_predict_tokens")
        }
        let T = try cSteps(steps)
        guard n == Int64(c.featureSize) else {
            throw RNNKitError(.shapeMismatch, "n is \(n); expected the model's features per step I = \(c.featureSize)")
        }
        let count = try checkedProduct(T, c.featureSize, what: "features [T, I]")
        try predict(handle, .features(Array(UnsafeBufferPointer(start: x, count: count))), steps: T,
                    probabilities: probabilities, out: out, count: outCount)
    }
}

/// Samples token ids, optionally conditioned; see rnnkit.h.
@_cdecl("rnnkit_model_sample_tokens")
public func rnnkit_model_sample_tokens(_ model: OpaquePointer?, _ prime: UnsafePointer<Int64>?, _ primeCount: Int64,
                                       _ classID: Int64, _ condition: UnsafePointer<Float>?, _ conditionCount: Int64,
                                       _ length: Int64, _ temperature: Double, _ seed: UInt64,
                                       _ out: UnsafeMutablePointer<Int64>?, _ outCount: Int64) -> Int32 {
    guarded("rnnkit_model_sample_tokens") {
        let handle = try ModelHandle.from(model)
        let out = try required(out, "out")
        let c = try handle.model.configuration
        guard c.input == .tokens, c.head == .everyStep, c.outputSize == c.vocabularySize else {
            throw RNNKitError(.invalidArgument, "sampling needs a token model whose every-step head predicts the next token")
        }
        guard primeCount >= 0, primeCount <= Int64(Int32.max), primeCount == 0 || prime != nil else {
            throw RNNKitError(.invalidArgument, "prime_count must be in 0...\(Int32.max) with a non-NULL prime when positive, got \(primeCount)")
        }
        guard length >= 0, length <= Int64(Int32.max), outCount == length else {
            throw RNNKitError(.shapeMismatch, "out_count is \(outCount) for length \(length); expected out_count = length ≥ 0")
        }
        guard temperature >= 0, temperature.isFinite else {
            throw RNNKitError(.invalidArgument, "temperature must be finite and ≥ 0, got \(temperature)")
        }
        let primeIds = primeCount == 0 ? []
            : try cTokenIds(prime!, count: Int(primeCount), vocabularySize: c.vocabularySize, what: "prime id", position: "position")
        let sampleCondition: SequenceCondition?
        if c.conditioning == .none {
            guard classID == -1, condition == nil else {
                throw RNNKitError(.invalidArgument, "this model is not conditioned; pass class_id -1 and a NULL condition")
            }
            sampleCondition = nil
        } else {
            sampleCondition = try cCondition(try handle.model, classID: classID, features: condition, count: conditionCount)
        }
        let ids = try handle.model.sample(prime: primeIds, length: Int(length), temperature: temperature, seed: seed,
                                          condition: sampleCondition)
        for (k, id) in ids.enumerated() { out[k] = Int64(id) }
    }
}

/// One token step; see rnnkit.h.
@_cdecl("rnnkit_model_step_token")
public func rnnkit_model_step_token(_ model: OpaquePointer?, _ tokenID: Int64,
                                    _ out: UnsafeMutablePointer<Float>?, _ outCount: Int64) -> Int32 {
    guarded("rnnkit_model_step_token") {
        let handle = try ModelHandle.from(model)
        let c = try handle.model.configuration
        guard c.input == .tokens else {
            throw RNNKitError(.invalidArgument, "this model reads feature vectors, not token ids; use rnnkit_model_step_features")
        }
        guard tokenID >= 0, tokenID < Int64(c.vocabularySize) else {
            throw RNNKitError(.invalidArgument, "token id \(tokenID) is out of range; expected 0...\(c.vocabularySize - 1)")
        }
        try handle.step(out: out, count: outCount) { try handle.model.step(tokens: [Int(tokenID)], state: &$0) }
    }
}

/// One feature step; see rnnkit.h.
@_cdecl("rnnkit_model_step_features")
public func rnnkit_model_step_features(_ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int64,
                                       _ out: UnsafeMutablePointer<Float>?, _ outCount: Int64) -> Int32 {
    guarded("rnnkit_model_step_features") {
        let handle = try ModelHandle.from(model)
        let c = try handle.model.configuration
        let x = try required(x, "x")
        guard c.input == .features else {
            throw RNNKitError(.invalidArgument, "this model reads token ids, not feature vectors; use rnnkit_model_step_token")
        }
        guard n == Int64(c.featureSize) else {
            throw RNNKitError(.shapeMismatch, "n is \(n); expected the model's features per step I = \(c.featureSize)")
        }
        let features = Array(UnsafeBufferPointer(start: x, count: c.featureSize))
        try handle.step(out: out, count: outCount) { try handle.model.step(features: features, state: &$0) }
    }
}

/// Samples text; see rnnkit.h.
@_cdecl("rnnkit_model_sample_text")
public func rnnkit_model_sample_text(_ model: OpaquePointer?, _ prime: UnsafePointer<CChar>?, _ length: Int64,
                                     _ temperature: Double, _ seed: UInt64,
                                     _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int64) -> Int32 {
    guarded("rnnkit_model_sample_text") {
        let handle = try ModelHandle.from(model)
        let prime = try required(prime, "prime")
        let buffer = try required(buffer, "buffer")
        guard let primeText = String(validatingCString: prime) else {
            throw RNNKitError(.invalidArgument, "prime is not valid UTF-8")
        }
        guard length >= 0, length <= Int64(Int32.max) else {
            throw RNNKitError(.invalidArgument, "length must be in 0...\(Int32.max), got \(length)")
        }
        guard temperature >= 0, temperature.isFinite else {
            throw RNNKitError(.invalidArgument, "temperature must be finite and ≥ 0, got \(temperature)")
        }
        guard try handle.model.vocabulary != nil else {
            throw RNNKitError(.invalidArgument, "this model carries no character vocabulary, so it cannot sample text")
        }
        let text = try handle.model.sampleText(prime: primeText, length: Int(length), temperature: temperature, seed: seed)
        let bytes = Array(text.utf8)
        guard Int64(bytes.count) + 1 <= capacity else {
            throw RNNKitError(.shapeMismatch,
                "the sampled text needs \(bytes.count + 1) bytes with its NUL; capacity is \(capacity)")
        }
        for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
        buffer[bytes.count] = 0
    }
}

/// The longest source `rnnkit_model_decode` takes, in tokens: the encoder keeps `S·B·D·H` outputs
/// and attention `S` weights per written token, so the bound keeps a call's memory predictable.
let maximumDecodeSourceLength = 100_000

/// Decodes one source with an encoder-decoder; see rnnkit.h.
@_cdecl("rnnkit_model_decode")
public func rnnkit_model_decode(_ model: OpaquePointer?, _ source: UnsafePointer<Int64>?, _ sourceCount: Int64,
                                _ beamWidth: Int32, _ lengthNormalization: Double, _ maximumLength: Int64,
                                _ out: UnsafeMutablePointer<Int64>?, _ outCapacity: Int64, _ outCount: UnsafeMutablePointer<Int64>?,
                                _ attention: UnsafeMutablePointer<Float>?, _ attentionCapacity: Int64) -> Int32 {
    guarded("rnnkit_model_decode") {
        let handle = try ModelHandle.from(model)
        guard let seq2seq = handle.seq2seqModel else {
            throw RNNKitError(.invalidArgument, "this is a sequence model, not an encoder-decoder; decoding needs a seq2seq model")
        }
        let source = try required(source, "source"), out = try required(out, "out"), outCount = try required(outCount, "out_count")
        let c = seq2seq.configuration
        guard sourceCount >= 1, sourceCount <= Int64(maximumDecodeSourceLength) else {
            throw RNNKitError(.invalidArgument,
                "source_count is \(sourceCount); expected a source of 1...\(maximumDecodeSourceLength) tokens (the C API's limit)")
        }
        guard beamWidth >= 1 else {
            throw RNNKitError(.invalidArgument, "beam_width is \(beamWidth); expected at least 1 (1 decodes greedily)")
        }
        guard maximumLength >= 1, maximumLength <= Int64(maximumDecodeSourceLength) else {
            throw RNNKitError(.invalidArgument, "maximum_length is \(maximumLength); expected 1...\(maximumDecodeSourceLength)")
        }
        guard outCapacity >= maximumLength else {
            throw RNNKitError(.shapeMismatch, "out_capacity is \(outCapacity); expected at least maximum_length = \(maximumLength)")
        }
        if attention != nil {
            guard c.attention != .none else {
                throw RNNKitError(.invalidArgument, "this model decodes without attention; pass attention NULL")
            }
            guard attentionCapacity >= maximumLength * sourceCount else {
                throw RNNKitError(.shapeMismatch,
                    "attention_capacity is \(attentionCapacity); expected at least maximum_length·source_count = \(maximumLength * sourceCount)")
            }
        }
        let ids = try cTokenIds(source, count: Int(sourceCount), vocabularySize: c.sourceVocabularySize,
                                what: "source id", position: "position")
        let decoding = try seq2seq.decode(sources: [ids], maximumLength: Int(maximumLength), beamWidth: Int(beamWidth),
                                          lengthNormalization: lengthNormalization)[0]
        for (k, id) in decoding.tokens.enumerated() { out[k] = Int64(id) }
        outCount.pointee = Int64(decoding.tokens.count)
        if let attention {
            for (row, weights) in decoding.attention.enumerated() {
                (attention + row * Int(sourceCount)).update(from: weights, count: weights.count)
            }
        }
    }
}
