import Foundation
import Testing
import RNNKit

/// docs/training.md shows exactly the code of PatternExamples.swift, and that code runs and learns.
@Suite struct PatternExampleTests {
    @Test(arguments: ["classifier", "tagger", "generator", "translator"])
    func trainingGuideShowsExactlyTheCodeThisTestRuns(name: String) throws {
        let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let source = try String(contentsOf: testsFolder.appendingPathComponent("PatternExamples.swift"), encoding: .utf8)
        let expected = ReadmeExampleTests.exampleLines(in: source, begin: "BEGIN PATTERN EXAMPLE \(name)",
                                                       end: "END PATTERN EXAMPLE \(name)")
        try ReadmeExampleTests.expectDocument("docs/training.md", shows: expected, minimumLines: 5)
    }

    @Test func examplesRunAndLearn() throws {
        #expect(try classifierExample() >= 0.9)
        let tags = try taggerExample()
        #expect(tags == [3, 2, 1, 0, 5, 4, 3, 6], "\(tags)")
        #expect(try generatorExample() == [5, 4, 3, 2, 1])
        let translation = try translatorExample()
        #expect(translation.tokens == [4, 3, 2, 1])
        #expect(translation.attention.count == 4 && translation.attention.allSatisfy { $0.count == 5 })
    }
}
