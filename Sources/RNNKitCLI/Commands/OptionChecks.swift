// Range checks shared by the commands: each failure is one ValidationError line naming the
// option, the accepted range, and the value given (exit status 64).

import ArgumentParser

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

/// The optimizers `--optimizer` accepts.
enum OptimizerChoice: String, CaseIterable, ExpressibleByArgument {
    case sgd, adam, adamw, rmsprop
}

/// The cells `--cell` accepts, spelled as on the command line.
enum CellChoice: String, CaseIterable, ExpressibleByArgument {
    case lstm, gru
    case rnnTanh = "rnn-tanh"
    case rnnRelu = "rnn-relu"
}
