import Foundation
import Testing
import RNNKit

@Suite struct ReadmeExampleTests {
    /// The lines between the lines ending in `begin` and `end`, the function body's indentation
    /// (`indentation` spaces) removed.
    static func exampleLines(in text: String, begin: String = "BEGIN README EXAMPLE", end: String = "END README EXAMPLE",
                             indentation: Int = 4) -> [String] {
        let lines = text.components(separatedBy: "\n")
        guard let first = lines.firstIndex(where: { $0.hasSuffix(begin) }),
              let last = lines.firstIndex(where: { $0.hasSuffix(end) }) else { return [] }
        return lines[(first + 1)..<last].map { String($0.dropFirst(min(indentation, $0.prefix { $0 == " " }.count))) }
    }

    /// Records an issue unless `document` (a path from the repository root) holds `expected` as
    /// consecutive lines; `expected` must have more than `minimumLines` lines.
    static func expectDocument(_ document: String, shows expected: [String], minimumLines: Int,
                               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent(document), encoding: .utf8)
        #expect(expected.count > minimumLines, sourceLocation: sourceLocation)
        let lines = text.components(separatedBy: "\n")
        guard let first = expected.first, let start = lines.firstIndex(of: first) else {
            Issue.record("\(document) does not contain the example's first line: \(expected.first ?? "")", sourceLocation: sourceLocation)
            return
        }
        #expect(Array(lines[start..<min(start + expected.count, lines.count)]) == expected, sourceLocation: sourceLocation)
    }

    @Test func readmeShowsExactlyTheCodeThisTestRuns() throws {
        let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let source = try String(contentsOf: testsFolder.appendingPathComponent("ReadmeExample.swift"), encoding: .utf8)
        try Self.expectDocument("README.md", shows: Self.exampleLines(in: source), minimumLines: 10)
    }

    @Test func readmeExampleRunsAndProducesItsShapes() throws {
        let (output, inputGradient) = try readmeExample()
        #expect(output.count == 5 * 3 * 32)
        #expect(inputGradient.count == 5 * 3 * 8)
        // Row 1 has length 2: its outputs and input gradients past t = 1 are zero.
        #expect(output[(2 * 3 + 1) * 32..<(2 * 3 + 2) * 32].allSatisfy { $0 == 0 })
        #expect(inputGradient[(4 * 3 + 1) * 8..<(4 * 3 + 2) * 8].allSatisfy { $0 == 0 })
        #expect(inputGradient.contains { $0 != 0 })
    }
}
