import Foundation
import Testing
import RNNKit

@Suite struct ReadmeExampleTests {
    /// The lines between the markers, with the function body's indentation removed.
    static func exampleLines(in text: String, indentation: Int) -> [String] {
        let lines = text.components(separatedBy: "\n")
        guard let begin = lines.firstIndex(where: { $0.contains("BEGIN README EXAMPLE") }),
              let end = lines.firstIndex(where: { $0.contains("END README EXAMPLE") }) else { return [] }
        return lines[(begin + 1)..<end].map { String($0.dropFirst(min(indentation, $0.prefix { $0 == " " }.count))) }
    }

    @Test func readmeShowsExactlyTheCodeThisTestRuns() throws {
        let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let root = testsFolder.deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: testsFolder.appendingPathComponent("ReadmeExample.swift"), encoding: .utf8)
        let expected = Self.exampleLines(in: source, indentation: 4)
        #expect(expected.count > 10)
        let readmeLines = readme.components(separatedBy: "\n")
        guard let start = readmeLines.firstIndex(of: expected[0]) else {
            Issue.record("README.md does not contain the example's first line: \(expected[0])")
            return
        }
        #expect(Array(readmeLines[start..<min(start + expected.count, readmeLines.count)]) == expected)
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
