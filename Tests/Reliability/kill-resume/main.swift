// A small training process for the kill-and-resume test (Tests/Reliability/kill-resume.sh).
//
//   rnnkit-kill-resume train CHECKPOINT STEPS   train a token LSTM on a fixed stream up to STEPS
//                                               steps, writing CHECKPOINT after every step with
//                                               Trainer's periodic checkpoints; if CHECKPOINT exists,
//                                               resume from it first. Prints "checkpoint N" after
//                                               each checkpoint is written, then "done N DIGEST".
//   rnnkit-kill-resume verify CHECKPOINT        resume from CHECKPOINT; print "step N" or fail.
//
// DIGEST is a hash of every parameter's bits, so an interrupted-and-resumed run can be compared
// with one that never stopped. Compiled by the script with swiftc together with Sources/RNNKit.

#if canImport(Glibc)
import Glibc
#endif

/// The training data: a deterministic token stream over a vocabulary of 48.
let stream: [Int] = (0..<4000).map { ($0 * 31 + $0 / 7 + ($0 * $0) % 13) % 48 }

/// The run's settings; a resumed run must pass the same ones.
func configuration(checkpoint: String) -> TrainerConfiguration {
    TrainerConfiguration(batchSize: 4, sequenceLength: 12, optimizer: OptimizerConfiguration(kind: .adam, learningRate: 0.003),
                         seed: 3, checkpointInterval: 1, checkpointPath: checkpoint)
}

/// FNV-1a over the bit patterns of every parameter, in group order.
func digest(_ trainer: Trainer) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for group in trainer.parameterGroups {
        for value in group.parameters {
            hash = (hash ^ UInt64(value.bitPattern)) &* 0x100_0000_01b3
        }
    }
    return String(hash, radix: 16)
}

func fail(_ message: String) -> Never {
    fputs("rnnkit-kill-resume: \(message)\n", stderr)
    exit(1)
}

setvbuf(stdout, nil, _IOLBF, 0)
let arguments = CommandLine.arguments
guard arguments.count >= 3 else { fail("usage: train CHECKPOINT STEPS | verify CHECKPOINT") }
let checkpoint = arguments[2]
do {
    switch arguments[1] {
    case "train":
        guard arguments.count == 4, let steps = Int(arguments[3]) else { fail("train needs CHECKPOINT STEPS") }
        let trainer: Trainer
        if access(checkpoint, F_OK) == 0 {
            trainer = try Trainer(resumingFrom: checkpoint, training: .stream(stream), configuration: configuration(checkpoint: checkpoint))
            print("resumed \(trainer.step)")
        } else {
            let model = try SequenceModel(.tokens(vocabularySize: 48, embeddingSize: 32, cell: .lstm, hiddenSize: 384, seed: 11))
            trainer = try Trainer(model: model, training: .stream(stream), configuration: configuration(checkpoint: checkpoint))
        }
        trainer.onCheckpoint = { _ in print("checkpoint \(trainer.step)") }
        if trainer.step < steps { try trainer.train(steps: steps - trainer.step) }
        print("done \(trainer.step) \(digest(trainer))")
    case "verify":
        let trainer = try Trainer(resumingFrom: checkpoint, training: .stream(stream), configuration: configuration(checkpoint: checkpoint))
        print("step \(trainer.step) \(digest(trainer))")
    default:
        fail("unknown command '\(arguments[1])'")
    }
} catch {
    fail("\(error)")
}
