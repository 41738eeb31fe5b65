// What a Trainer learns from: independent sequences, one long token stream, or source–target pairs.

/// One training example for a ``SequenceModel``: inputs and targets of one sequence.
public struct SequenceExample: Sendable, Equatable {
    /// `[T]` token ids (token models); empty otherwise.
    public var tokens: [Int]
    /// `[T, I]` features (feature models); empty otherwise.
    public var features: [Float]
    /// Steps `T ≥ 1`.
    public var length: Int
    /// Class targets: `[T]` for an every-step head, `[1]` for a per-sequence head (last step, pooling);
    /// empty for regression.
    public var targetClasses: [Int]
    /// Regression targets: `[T, O]` for an every-step head, `[O]` for a per-sequence head; empty for classification.
    public var targetValues: [Float]
    /// The condition of a conditioned model's sequence (`.classes([k])` or `.features(v)` with `[F]`
    /// values); `nil` (default) for any other model.
    public var condition: SequenceCondition? = nil

    /// A token sequence with class targets (next-token ids, or one label), optionally conditioned.
    public static func tokens(_ ids: [Int], targetClasses: [Int], condition: SequenceCondition? = nil) -> SequenceExample {
        SequenceExample(tokens: ids, features: [], length: ids.count, targetClasses: targetClasses, targetValues: [],
                        condition: condition)
    }

    /// A feature sequence of `steps` steps with regression targets.
    public static func features(_ values: [Float], steps: Int, targetValues: [Float]) -> SequenceExample {
        SequenceExample(tokens: [], features: values, length: steps, targetClasses: [], targetValues: targetValues)
    }

    /// A feature sequence of `steps` steps with class targets.
    public static func features(_ values: [Float], steps: Int, targetClasses: [Int]) -> SequenceExample {
        SequenceExample(tokens: [], features: values, length: steps, targetClasses: targetClasses, targetValues: [])
    }
}

/// One source–target pair for a ``Seq2SeqModel`` (ids without begin and end tokens).
public struct Seq2SeqExample: Sendable, Equatable {
    /// Source ids (non-empty).
    public var source: [Int]
    /// Target ids.
    public var target: [Int]
    /// Creates the pair.
    public init(source: [Int], target: [Int]) {
        self.source = source
        self.target = target
    }
}

/// The data of a training run or an evaluation.
public enum TrainingData: Sendable {
    /// Independent sequences, shuffled each epoch (and bucketed by length), for a ``SequenceModel``.
    case sequences([SequenceExample])
    /// One long token stream for a token ``SequenceModel``, the target of each token the next one.
    /// By default (``StreamSampling/strips``) it is cut into `B` contiguous strips read `T` tokens at
    /// a time, the state carried from one window to the next (char-rnn's truncated BPTT, gradients cut
    /// at the window boundary); ``StreamSampling/randomWindows`` draws `B` windows anywhere instead.
    case stream([Int])
    /// Source–target pairs for a ``Seq2SeqModel``, shuffled each epoch and bucketed by source length.
    case pairs([Seq2SeqExample])

    /// `sequences`, `stream` or `pairs`.
    var kindName: String {
        switch self {
        case .sequences: "sequences"
        case .stream: "stream"
        case .pairs: "pairs"
        }
    }

    /// Examples, or tokens of a stream.
    var count: Int {
        switch self {
        case .sequences(let examples): examples.count
        case .stream(let tokens): tokens.count
        case .pairs(let pairs): pairs.count
        }
    }

    /// The length used for bucketing example `index`.
    func length(of index: Int) -> Int {
        switch self {
        case .sequences(let examples): examples[index].length
        case .pairs(let pairs): pairs[index].source.count
        case .stream: 0
        }
    }
}

/// How a ``TrainingData/stream(_:)`` of `tokenCount` tokens is read in truncated BPTT: cut into `B`
/// contiguous strips of ``stripLength`` tokens, read `T` tokens at a time. Window `w` of strip `b`
/// has its inputs at positions `s ..< s + T`, `s = start(strip: b, window: w)`, and its targets one
/// token later; the tokens past `B · stripLength` (at least the last, only ever a target) are no input.
package struct StreamWindows: Sendable, Equatable {
    /// Tokens in the stream.
    package var tokenCount: Int
    /// Strips `B ≥ 1`, read side by side as the minibatch.
    package var batchSize: Int
    /// Tokens `T ≥ 1` per window.
    package var sequenceLength: Int

    package init(tokenCount: Int, batchSize: Int, sequenceLength: Int) {
        self.tokenCount = tokenCount
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
    }

    /// The windows of a stream of `tokenCount` tokens read with a trainer's batch size and sequence length.
    init(tokenCount: Int, configuration: TrainerConfiguration) {
        self.init(tokenCount: tokenCount, batchSize: configuration.batchSize, sequenceLength: configuration.sequenceLength)
    }

    /// Tokens per strip: `(tokenCount − 1) / B`, the last token being only a target.
    package var stripLength: Int { (tokenCount - 1) / batchSize }

    /// Whole windows per strip, that is minibatches per epoch: `stripLength / T`.
    package var windowsPerEpoch: Int { stripLength / sequenceLength }

    /// The stream position of the first input token of strip `b` in window `w`.
    package func start(strip b: Int, window w: Int) -> Int { b * stripLength + w * sequenceLength }

    /// `[B]` the starts of window `w` of every strip, strip 0 first: the minibatch of ``StreamSampling/strips``.
    package func starts(window w: Int) -> [Int] { (0..<batchSize).map { start(strip: $0, window: w) } }

    /// `[B]` window starts drawn uniformly from `0 … tokenCount − T − 1`, in order from `generator`:
    /// the minibatch of ``StreamSampling/randomWindows``. The last target of a window starting at
    /// `tokenCount − T − 1` is the stream's last token.
    package func randomStarts(using generator: inout SeededGenerator) -> [Int] {
        (0..<batchSize).map { _ in generator.nextIndex(below: tokenCount - sequenceLength) }
    }
}
