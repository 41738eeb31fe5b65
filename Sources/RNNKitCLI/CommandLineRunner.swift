// Parsing, running and error reporting for `rnnkit`, shared by the executable and the tests.
//
// Exit status: 0 success (and --help); 64 a usage error (unknown or malformed option, value out of
// range, options that exclude each other); 65 bad data (BSD `EX_DATAERR`: a malformed line or field
// of an input file, a value that is not a number, an unknown label, an empty or overlong sequence);
// 1 any other failure while running (a missing or empty input file, an incompatible model
// directory, a refusal to overwrite a run). Every error is one line on standard error,
// `rnnkit: error: <what was wrong and what was expected>`, never a stack trace.

import ArgumentParser
import Foundation
import RNNKit

/// A command that writes through a ``Console`` (so tests can capture its output).
protocol ConsoleCommand: ParsableCommand {
    /// Runs the command, writing results and progress to `console`.
    func run(console: Console) throws
}

extension ConsoleCommand {
    func run() throws { try run(console: .standard) }
}

/// A failure while running a command: a missing file, a malformed input, an incompatible model.
/// Its message is printed as one line after `rnnkit: error: `.
public struct CLIError: Error, CustomStringConvertible, Equatable {
    /// What was wrong and what was expected.
    public let message: String
    /// Whether the content of an input file was at fault (exit status 65) rather than anything else (1).
    public let isDataError: Bool
    /// Creates an error with `message`; `isDataError` (default `false`) for bad content of an input file.
    public init(_ message: String, isDataError: Bool = false) {
        self.message = message
        self.isDataError = isDataError
    }
    /// An error in the content of an input file: a malformed line, a field that does not fit.
    public static func data(_ message: String) -> CLIError { CLIError(message, isDataError: true) }
    public var description: String { message }
}

/// Runs `rnnkit` with a list of arguments (without the program name) and returns the exit status.
public enum CommandLineRunner {
    /// Exit status of a usage error (BSD `EX_USAGE`, as swift-argument-parser uses).
    public static let usageErrorStatus: Int32 = 64
    /// Exit status of a failure while running.
    public static let failureStatus: Int32 = 1
    /// Exit status of bad data in an input file (BSD `EX_DATAERR`).
    public static let dataErrorStatus: Int32 = 65

    /// Parses `arguments`, runs the command on `console`, and returns the exit status.
    /// Errors are printed as one line to the console's error stream.
    public static func run(_ arguments: [String], console: Console) -> Int32 {
        let command: ParsableCommand
        do {
            command = try RNNKitCommand.parseAsRoot(arguments)
        } catch {
            return report(error, console: console)
        }
        do {
            if let consoleCommand = command as? any ConsoleCommand {
                try consoleCommand.run(console: console)
            } else {
                var command = command
                try command.run()
            }
            return 0
        } catch {
            return report(error, console: console)
        }
    }

    /// Prints `error` as one line (or help text for a help request) and returns the exit status.
    static func report(_ error: Error, console: Console) -> Int32 {
        switch error {
        case let error as CLIError:
            console.errorLine("rnnkit: error: \(error.message)")
            return error.isDataError ? dataErrorStatus : failureStatus
        case let error as RNNKitError:
            console.errorLine("rnnkit: error: \(error.message)")
            return failureStatus
        default:
            let status = RNNKitCommand.exitCode(for: error).rawValue
            if status == 0 {
                // --help, help SUBCOMMAND, --version: the full text on standard output.
                console.line(RNNKitCommand.fullMessage(for: error))
                return 0
            }
            let message = RNNKitCommand.message(for: error)
                .split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }.joined(separator: " ")
            console.errorLine("rnnkit: error: \(message)")
            return status
        }
    }
}

/// The `rnnkit` root command: its subcommands train, sample, evaluate, predict, translate, forecast and inspect.
public struct RNNKitCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "rnnkit",
        abstract: "Train and run recurrent neural networks (RNN, LSTM, GRU) on the CPU.",
        discussion: """
            Start with `rnnkit train`: with no data option it trains a character-level LSTM on the \
            corpus shipped with RNNKit in about two minutes and prints generated text. Every run \
            writes a run directory (checkpoint, config.json, metrics.csv, loss.svg) that the other \
            commands read. See docs/cli.md.
            """,
        version: cliVersion,
        subcommands: [
            TrainCommand.self, GenerateCommand.self, EvalCommand.self, PredictCommand.self, TranslateCommand.self, ForecastCommand.self,
            InspectCommand.self,
        ])

    public init() {}
}

/// The version `rnnkit --version` prints.
public let cliVersion = "0.1.0"
