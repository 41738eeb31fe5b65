// libFuzzer target "checkpoint": arbitrary bytes written to a temporary file, then read as a model
// file (`loadModel(from:)`) and as a training checkpoint (`Trainer(resumingFrom:training:)`, with
// the token stream the seed checkpoints were trained on). A resumed trainer must take a step.
// Built by scripts/fuzz.sh against RNNKit compiled with the same instrumentation; the expected
// outcome for bad input is a thrown RNNKitError.
//
// Seeds: `RNNKIT_FUZZ_WRITE_SEEDS=DIR .build-fuzz/fuzz-checkpoint -runs=0` writes a checkpoint of
// a tiny token LSTM and GRU and two model files into DIR (how Tests/Fuzz/corpus/checkpoint was made).

#if canImport(Glibc)
import Glibc
#endif
import RNNKit

private let fuzzPath: String = {
    let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    return "\(directory)/rnnkit-fuzz-checkpoint-\(getpid()).safetensors"
}()

/// The stream every seed checkpoint was trained on (resuming checks kind and length).
private let stream: [Int] = (0..<48).map { ($0 * 7 + $0 / 5) % 6 }

private func writeInput(_ data: UnsafePointer<UInt8>, _ size: Int) {
    let fd = open(fuzzPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot create \(fuzzPath)")
    var written = 0
    while written < size {
        let n = write(fd, data + written, size - written)
        precondition(n > 0, "cannot write \(fuzzPath)")
        written += n
    }
    close(fd)
}

/// Writes the seed files into `directory`.
private func writeSeeds(to directory: String) throws {
    for (name, cell) in [("lstm", CellKind.lstm), ("gru", CellKind.gru)] {
        let model = try SequenceModel(.tokens(vocabularySize: 6, embeddingSize: 3, cell: cell, hiddenSize: 4, seed: 1))
        let trainer = try Trainer(model: model, training: .stream(stream), configuration: TrainerConfiguration(
            batchSize: 2, sequenceLength: 4, optimizer: OptimizerConfiguration(kind: name == "lstm" ? .adam : .sgd, learningRate: 0.01)))
        try trainer.train(steps: 2)
        try trainer.saveCheckpoint(to: "\(directory)/\(name)-checkpoint.safetensors")
        try model.save(to: "\(directory)/\(name)-model.safetensors")
    }
    let features = try SequenceModel(.features(featureSize: 2, cell: .rnnTanh, hiddenSize: 3, outputSize: 2, seed: 2))
    try features.save(to: "\(directory)/features-model.safetensors")
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    if let directory = getenv("RNNKIT_FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) {
        do { try writeSeeds(to: directory) } catch { fatalError("cannot write the seeds: \(error)") }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    writeInput(data, size)
    defer { unlink(fuzzPath) }
    _ = try? loadModel(from: fuzzPath)
    if let trainer = try? Trainer(resumingFrom: fuzzPath, training: .stream(stream)) {
        let before = trainer.step
        // A checkpoint that resumed must train; a numerical refusal is allowed (the file may hold NaNs).
        do {
            try trainer.trainStep()
            precondition(trainer.step == before + 1 || trainer.skippedSteps > 0, "a resumed trainer did not advance")
        } catch let error as RNNKitError {
            precondition(error.kind == .numerical || error.kind == .invalidArgument || error.kind == .shapeMismatch,
                         "a resumed trainer failed to step: \(error)")
        } catch {
            fatalError("unexpected error \(error)")
        }
    }
    return 0
}
