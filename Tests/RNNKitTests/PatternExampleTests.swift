import Foundation
import Testing
import RNNKit

/// docs/training.md shows exactly the code of PatternExamples.swift, and that code runs and learns.
@Suite struct PatternExampleTests {
    /// The lines between `BEGIN PATTERN EXAMPLE name` and its END marker, the function body's indentation removed.
    static func exampleLines(_ name: String, in text: String) -> [String] {
        let lines = text.components(separatedBy: "\n")
        guard let begin = lines.firstIndex(where: { $0.hasSuffix("BEGIN PATTERN EXAMPLE \(name)") }),
              let end = lines.firstIndex(where: { $0.hasSuffix("END PATTERN EXAMPLE \(name)") }) else { return [] }
        return lines[(begin + 1)..<end].map { String($0.dropFirst(min(4, $0.prefix { $0 == " " }.count))) }
    }

    @Test(arguments: ["classifier", "tagger", "generator"])
    func trainingGuideShowsExactlyTheCodeThisTestRuns(name: String) throws {
        let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let root = testsFolder.deletingLastPathComponent().deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("docs/training.md"), encoding: .utf8)
        let source = try String(contentsOf: testsFolder.appendingPathComponent("PatternExamples.swift"), encoding: .utf8)
        let expected = Self.exampleLines(name, in: source)
        #expect(expected.count > 5)
        let guideLines = guide.components(separatedBy: "\n")
        guard let start = guideLines.firstIndex(of: expected[0]) else {
            Issue.record("docs/training.md does not contain the \(name) example's first line: \(expected[0])")
            return
        }
        #expect(Array(guideLines[start..<min(start + expected.count, guideLines.count)]) == expected)
    }

    @Test func examplesRunAndLearn() throws {
        #expect(try classifierExample() >= 0.9)
        let tags = try taggerExample()
        #expect(tags == [3, 2, 1, 0, 5, 4, 3, 6], "\(tags)")
        #expect(try generatorExample() == [5, 4, 3, 2, 1])
    }
}
