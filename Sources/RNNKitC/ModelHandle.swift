// The C entry points for whole models (rnnkit_model_*), declared in rnnkit.h.
// A handle is an `Unmanaged<ModelHandle>` retained by rnnkit_model_load and released by
// rnnkit_model_destroy. Every argument is checked here before RNNKit sees it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNKit

/// A loaded SequenceModel in inference mode and its streaming state (batch 1).
final class ModelHandle {
    let model: SequenceModel
    var state: RecurrentState<Float>

    init(model: SequenceModel) throws {
        model.isTraining = false
        self.model = model
        self.state = try model.makeState(batch: 1)
    }

    static func from(_ pointer: OpaquePointer?) throws -> ModelHandle {
        guard let pointer else { throw CAPIError.nullPointer("model") }
        return Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }

    /// Steps with `advance`, copying the outputs to `out` only after every check passed.
    func step(out: UnsafeMutablePointer<Float>?, count: Int64,
              _ advance: (inout RecurrentState<Float>) throws -> [Float]) throws {
        let out = try required(out, "out")
        let outputSize = model.configuration.modelOutputSize
        guard count == Int64(outputSize) else {
            throw RNNKitError(.shapeMismatch, "out_count is \(count); expected the model's output size O = \(outputSize)")
        }
        var next = state
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
        switch try loadModel(from: string) {
        case .sequence(let model):
            let handle = try ModelHandle(model: model)
            out.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
        case .seq2seq:
            throw RNNKitError(.invalidArgument,
                "\(string) holds an encoder-decoder (seq2seq) model; the C API steps sequence models only")
        }
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
        let c = try ModelHandle.from(model).model.configuration
        let takesTokens = try required(takesTokens, "takes_tokens")
        let inputSize = try required(inputSize, "input_size"), outputSize = try required(outputSize, "output_size")
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
        handle.state = try handle.model.makeState(batch: 1)
    }
}

/// One token step; see rnnkit.h.
@_cdecl("rnnkit_model_step_token")
public func rnnkit_model_step_token(_ model: OpaquePointer?, _ tokenID: Int64,
                                    _ out: UnsafeMutablePointer<Float>?, _ outCount: Int64) -> Int32 {
    guarded("rnnkit_model_step_token") {
        let handle = try ModelHandle.from(model)
        let c = handle.model.configuration
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
        let c = handle.model.configuration
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
        guard handle.model.vocabulary != nil else {
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
