import Foundation
import Testing
@testable import RNNKitCLI

/// Every unusable input is one line on standard error, exit status 1 (65 for bad content), and no run directory.
@Suite("Input errors")
struct InputErrorTests {
    /// Runs `arguments`, expects `status` (default 1; 65 for bad content of a file) and exactly the
    /// line `rnnkit: error: <message>`, and checks that `runPath` (when given) was not created.
    func expectFailure(_ arguments: [String], _ message: String, noRunAt runPath: String? = nil, status: Int32 = 1,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        let result = runCLI(arguments)
        #expect(result.status == status, sourceLocation: sourceLocation)
        #expect(result.errors == "rnnkit: error: \(message)\n", sourceLocation: sourceLocation)
        if let runPath {
            #expect(!FileManager.default.fileExists(atPath: runPath), "a run directory was created", sourceLocation: sourceLocation)
        }
    }

    @Test("a missing text file")
    func missingText() {
        let scratch = ScratchDirectory()
        let missing = scratch.file("absent.txt")
        expectFailure(["train", "--text", missing, "--out", scratch.file("run")], "text file '\(missing)' does not exist", noRunAt: scratch.file("run"))
    }

    @Test("an empty text file")
    func emptyText() {
        let scratch = ScratchDirectory()
        let empty = scratch.write("empty.txt", bytes: [])
        expectFailure(["train", "--text", empty, "--out", scratch.file("run")], "text file '\(empty)' is empty", noRunAt: scratch.file("run"))
    }

    @Test("a directory given as the text file")
    func directoryAsText() {
        let scratch = ScratchDirectory()
        expectFailure(["train", "--text", scratch.path, "--out", scratch.file("run")],
                      "text file '\(scratch.path)' is a directory, expected a file", noRunAt: scratch.file("run"))
    }

    @Test("text that is not UTF-8 names the offset of the first bad byte")
    func notUTF8() {
        let scratch = ScratchDirectory()
        let latin1 = scratch.write("latin1.txt", bytes: Array("caf".utf8) + [0xE9] + Array(" au lait".utf8))
        expectFailure(["train", "--text", latin1, "--out", scratch.file("run")],
                      "text file '\(latin1)' is not UTF-8 text: invalid byte 0xE9 at offset 3; convert it first (for example with iconv -t UTF-8)",
                      noRunAt: scratch.file("run"), status: CommandLineRunner.dataErrorStatus)
    }

    @Test("a text too short for the batch and window")
    func tooShort() {
        let scratch = ScratchDirectory()
        let short = scratch.write("short.txt", text: String(repeating: "abc ", count: 100))
        expectFailure(["train", "--text", short, "--out", scratch.file("run")],
                      "text file '\(short)' is too short: its training part has 360 characters, expected at least batch × seq-len + 1 = 2049; lower --batch or --seq-len, or give a longer text",
                      noRunAt: scratch.file("run"))
    }

    @Test("a CSV column that is absent")
    func absentColumn() {
        let scratch = ScratchDirectory()
        let csv = scratch.write("series.csv", text: "time,value\n0,1\n1,2\n")
        expectFailure(["train", "--csv", csv, "--column", "price", "--out", scratch.file("run")],
                      "CSV file '\(csv)' has no column 'price'; its columns are 'time', 'value'", noRunAt: scratch.file("run"), status: CommandLineRunner.dataErrorStatus)
    }

    @Test("a CSV column that is not numeric")
    func nonNumericColumn() {
        let scratch = ScratchDirectory()
        let csv = scratch.write("series.csv", text: "time,value\n0,1\n1,two\n")
        expectFailure(["train", "--csv", csv, "--column", "value", "--out", scratch.file("run")],
                      "CSV file '\(csv)' line 3, column 'value': 'two' is not a number; expected a finite decimal number in every row",
                      noRunAt: scratch.file("run"), status: CommandLineRunner.dataErrorStatus)
    }

    @Test("a missing CSV file")
    func missingCSV() {
        let scratch = ScratchDirectory()
        expectFailure(["train", "--csv", scratch.file("none.csv"), "--column", "v"], "CSV file '\(scratch.file("none.csv"))' does not exist")
    }

    @Test("a model directory that does not exist, is not a run, or is of an incompatible version")
    func badModelDirectory() throws {
        let scratch = ScratchDirectory()
        expectFailure(["generate", "--model", scratch.file("nothing")],
                      "--model '\(scratch.file("nothing"))' does not exist; expected a run directory written by rnnkit train")
        expectFailure(["generate", "--model", scratch.path],
                      "--model '\(scratch.path)' is not an rnnkit run directory: it has no readable config.json")
        scratch.write("config.json", text: #"{"format": "rnnkit-run", "format_version": 7, "rnnkit_version": "3.0.0"}"#)
        expectFailure(["eval", "--model", scratch.path, "--text", scratch.file("config.json")],
                      "'\(scratch.path)' was written in run format 7 (rnnkit 3.0.0); this rnnkit \(cliVersion) reads run format 1 only")
    }

    @Test("--out pointing at a non-empty directory is refused before anything is read")
    func outNotEmpty() throws {
        let scratch = ScratchDirectory()
        scratch.write("notes.txt", text: "keep me")
        let text = scratch.write("t.txt", text: String(repeating: "the quick brown fox jumps. ", count: 200))
        expectFailure(["train", "--text", text, "--out", scratch.path, "--steps", "1", "--batch", "2", "--seq-len", "8", "--hidden", "4"],
                      "--out '\(scratch.path)' is a directory that is not empty; expected a new or empty directory for the run")
        #expect(scratch.contents() == ["notes.txt", "t.txt"])
    }
}
