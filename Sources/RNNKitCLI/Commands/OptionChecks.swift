// Range checks shared by the commands: each failure is one ValidationError line naming the
// option, the accepted range, and the value given (exit status 64).

import ArgumentParser
import RNNKit

/// Throws unless `value` (when given) lies in `range`.
func require<T: Comparable>(_ option: String, _ value: T?, in range: ClosedRange<T>) throws {
    guard let value else { return }
    guard range.contains(value) else {
        throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
    }
}

/// Throws unless `value` (when given) is finite and satisfies `isValid`, described by `expected`.
func require(_ option: String, _ value: Double?, _ expected: String, _ isValid: (Double) -> Bool) throws {
    guard let value else { return }
    guard value.isFinite, isValid(value) else {
        throw ValidationError("\(option) must be \(expected), got \(value)")
    }
}

/// The optimizers `--optimizer` accepts, spelled as on the command line and in config.json.
enum OptimizerChoice: String, CaseIterable, ExpressibleByArgument, RunConfigurationChoice {
    case sgd, adam, adamw, rmsprop

    /// The Trainer's optimizer.
    var kind: OptimizerConfiguration.Kind {
        switch self {
        case .sgd: .sgd
        case .adam: .adam
        case .adamw: .adamw
        case .rmsprop: .rmsprop
        }
    }

    /// Whether the update rule has a momentum (`--momentum`): SGD and RMSprop do, Adam and AdamW not.
    var hasMomentum: Bool { self == .sgd || self == .rmsprop }
}

/// The learning-rate schedules `--schedule` accepts, spelled as on the command line and in config.json.
/// Each follows the warm-up (`--warmup`); trainerConfiguration(_:) gives their exact shapes.
enum ScheduleChoice: String, CaseIterable, ExpressibleByArgument, RunConfigurationChoice {
    /// `--lr` throughout.
    case constant
    /// Cosine decay from `--lr` to a tenth of it over the steps after warm-up.
    case cosine
    /// `--lr`, then a tenth, then a hundredth of it, over three equal parts of the steps after warm-up.
    case step
}

/// How `--sampling` reads a character model's training text, spelled as on the command line and in config.json.
enum SamplingChoice: String, CaseIterable, ExpressibleByArgument, RunConfigurationChoice {
    /// `--batch` contiguous strips, the state carried from window to window (``StreamSampling/strips``).
    case stream
    /// `--batch` windows drawn anywhere in the text at every step, each from a zero state
    /// (``StreamSampling/randomWindows``).
    case random

    /// The Trainer's sampling.
    var streamSampling: StreamSampling {
        switch self {
        case .stream: .strips
        case .random: .randomWindows
        }
    }
}

/// The cells `--cell` accepts, spelled as on the command line and in config.json.
enum CellChoice: String, CaseIterable, ExpressibleByArgument, RunConfigurationChoice {
    case lstm, gru
    case gruResetBefore = "gru-reset-before"
    case rnnTanh = "rnn-tanh"
    case rnnRelu = "rnn-relu"

    /// RNNKit's cell.
    var kind: CellKind {
        switch self {
        case .lstm: .lstm
        case .gru: .gru
        case .gruResetBefore: .gruResetBefore
        case .rnnTanh: .rnnTanh
        case .rnnRelu: .rnnRelu
        }
    }

    /// The choice that names `kind`.
    init(_ kind: CellKind) {
        switch kind {
        case .lstm: self = .lstm
        case .gru: self = .gru
        case .gruResetBefore: self = .gruResetBefore
        case .rnnTanh: self = .rnnTanh
        case .rnnRelu: self = .rnnRelu
        }
    }
}

extension CellKind {
    /// The name `--cell` and config.json use: `lstm`, `gru`, `gru-reset-before`, `rnn-tanh` or `rnn-relu`.
    var commandLineName: String { CellChoice(self).rawValue }
}

/// `--attention none|dot|general|additive`, spelled as the model file spells it.
extension AttentionScore: ExpressibleByArgument {}
