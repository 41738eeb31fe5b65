// Running `rnnkit` in-process and scratch directories for the CLI tests.

import Foundation
import RNNKit
import Testing
@testable import RNNKitCLI

/// The result of one in-process `rnnkit` run.
struct CommandResult {
    var status: Int32
    var output: String
    var errors: String
}

/// Runs `rnnkit` with `arguments` in this process, capturing both streams.
func runCLI(_ arguments: [String]) -> CommandResult {
    let console = Console.capturing()
    let status = CommandLineRunner.run(arguments, console: console)
    return CommandResult(status: status, output: console.capturedOutput, errors: console.capturedErrors)
}

/// A new empty directory under the system's temporary directory, removed by `cleanUp()`.
final class ScratchDirectory {
    let path: String

    init(_ label: String = #function) {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "rnnkit-cli-\(safe)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// `path/name`.
    func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `path/name` and returns the path.
    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        _ = FileManager.default.createFile(atPath: file(name), contents: Data(bytes))
        return file(name)
    }

    /// Writes `text` as UTF-8 to `path/name` and returns the path.
    @discardableResult
    func write(_ name: String, text: String) -> String { write(name, bytes: Array(text.utf8)) }

    /// The names in the directory (or in `path/subdirectory`), sorted.
    func contents(_ subdirectory: String? = nil) -> [String] {
        let directory = subdirectory.map(file) ?? path
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
    deinit { cleanUp() }
}

/// Trains `options` (a `train` command without `--out`) into runs `a` and `b` of `scratch`, and into
/// `c` stopped after `stop` steps and resumed; expects all three to end with the same weights, bit
/// for bit.
func expectDeterministicAndResumable(_ options: [String], stoppingAfter stop: Int, in scratch: ScratchDirectory,
                                     sourceLocation: SourceLocation = #_sourceLocation) throws {
    for run in ["a", "b"] {
        let result = runCLI(options + ["--out", scratch.file(run)])
        #expect(result.status == 0, "\(result.errors)", sourceLocation: sourceLocation)
    }
    let stopped = runCLI(options + ["--out", scratch.file("c"), "--stop-after", String(stop)])
    #expect(stopped.output.contains("stopped after step \(stop) of "), sourceLocation: sourceLocation)
    let resumed = runCLI(["train", "--resume", scratch.file("c")])
    #expect(resumed.status == 0, "\(resumed.errors)", sourceLocation: sourceLocation)
    func weights(_ run: String) throws -> [Float] {
        try SequenceModel(contentsOf: scratch.file(run) + "/checkpoint.safetensors").parameterGroups.flatMap { $0.parameters }
    }
    #expect(try weights("a") == weights("b"), "the same options trained different weights", sourceLocation: sourceLocation)
    #expect(try weights("c") == weights("a"), "the resumed run ended elsewhere", sourceLocation: sourceLocation)
}

/// A `t,signal` CSV of `rows` values `sin(frequency·t)·amplitude + offset`.
func sineCSV(rows: Int, frequency: Double, amplitude: Double, offset: Double) -> String {
    "t,signal\n" + (0..<rows).map { "\($0),\(format(sin(Double($0) * frequency) * amplitude + offset, digits: 5))\n" }.joined()
}
