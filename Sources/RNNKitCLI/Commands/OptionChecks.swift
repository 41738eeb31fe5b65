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
}

/// The cells `--cell` accepts, spelled as on the command line and in config.json.
enum CellChoice: String, CaseIterable, ExpressibleByArgument, RunConfigurationChoice {
    case lstm, gru
    case rnnTanh = "rnn-tanh"
    case rnnRelu = "rnn-relu"

    /// RNNKit's cell.
    var kind: CellKind {
        switch self {
        case .lstm: .lstm
        case .gru: .gru
        case .rnnTanh: .rnnTanh
        case .rnnRelu: .rnnRelu
        }
    }

    /// The choice that names `kind`.
    init(_ kind: CellKind) {
        switch kind {
        case .lstm: self = .lstm
        case .gru: self = .gru
        case .rnnTanh: self = .rnnTanh
        case .rnnRelu: self = .rnnRelu
        }
    }
}

extension CellKind {
    /// The name `--cell` and config.json use: `lstm`, `gru`, `rnn-tanh` or `rnn-relu`.
    var commandLineName: String { CellChoice(self).rawValue }
}
