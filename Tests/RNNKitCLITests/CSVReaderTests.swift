import Testing
@testable import RNNKitCLI

@Suite("CSV reader")
struct CSVReaderTests {
    @Test("header, LF and CRLF records, blank lines, trimmed unquoted fields")
    func plainRecords() throws {
        let table = try CSVTable(parsing: "time, value\r\n0, 1.5\r\n\n1,-2e3\n2 ,  7\n", source: "t.csv")
        #expect(table.header == ["time", "value"])
        #expect(table.rows == [["0", "1.5"], ["1", "-2e3"], ["2", "7"]])
        #expect(table.lineNumbers == [2, 4, 5])
        let scratch = ScratchDirectory()
        let path = scratch.write("t.csv", text: "time, value\r\n0, 1.5\r\n\n1,-2e3\n2 ,  7\n")
        #expect(try CSVStream.numericColumns(path: path, names: ["value"]) == [[1.5, -2000, 7]])
    }

    @Test("quoted fields hold commas, doubled quotes and line breaks; no final newline")
    func quotedFields() throws {
        let table = try CSVTable(parsing: "name,\"note, long\"\n\"a \"\"b\"\"\",\"x\ny\"\nc,\"\"", source: "q.csv")
        #expect(table.header == ["name", "note, long"])
        #expect(table.rows == [["a \"b\"", "x\ny"], ["c", ""]])
        #expect(table.lineNumbers == [2, 4])
    }

    @Test("an absent column names the columns there are")
    func absentColumn() throws {
        let scratch = ScratchDirectory()
        let path = scratch.write("f.csv", text: "a,b\n1,2\n")
        #expect(throws: CLIError.data("CSV file '\(path)' has no column 'price'; its columns are 'a', 'b'")) {
            try CSVStream.numericColumns(path: path, names: ["price"])
        }
    }

    @Test("a non-numeric or empty cell is reported with its line")
    func nonNumericCell() throws {
        let scratch = ScratchDirectory()
        let path = scratch.write("f.csv", text: "a,b\n1,2\n3,abc\n")
        #expect(throws: CLIError.data("CSV file '\(path)' line 3, column 'b': 'abc' is not a number; expected a finite decimal number in every row")) {
            try CSVStream.numericColumns(path: path, names: ["b"])
        }
        let empty = scratch.write("e.csv", text: "a,b\n1,\n")
        #expect(throws: CLIError.data("CSV file '\(empty)' line 2, column 'b': an empty cell is not a number; expected a finite decimal number in every row")) {
            try CSVStream.numericColumns(path: empty, names: ["b"])
        }
        let infinite = scratch.write("i.csv", text: "a\ninf\n")
        #expect(throws: CLIError.self) { try CSVStream.numericColumns(path: infinite, names: ["a"]) }
    }

    @Test("malformed files: ragged rows, unclosed and stray quotes, no header")
    func malformed() {
        #expect(throws: CLIError.data("CSV file 'f.csv' line 3: 1 fields, expected 2 as in the header")) {
            try CSVTable(parsing: "a,b\n1,2\n3\n", source: "f.csv")
        }
        #expect(throws: CLIError.data("CSV file 'f.csv': the quote opened on line 2 is never closed")) {
            try CSVTable(parsing: "a\n\"1\n2\n", source: "f.csv")
        }
        #expect(throws: CLIError.self) { try CSVTable(parsing: "a,b\n1x\"y,2\n", source: "f.csv") }
        #expect(throws: CLIError.self) { try CSVTable(parsing: "a,b\n\"1\"x,2\n", source: "f.csv") }
        #expect(throws: CLIError.data("CSV file 'f.csv' has no header row; expected a first line naming the columns, for example 'time,value'")) {
            try CSVTable(parsing: "\n\n", source: "f.csv")
        }
    }

    @Test("a header without data rows is refused")
    func headerOnly() throws {
        let scratch = ScratchDirectory()
        let path = scratch.write("h.csv", text: "a,b\n")
        #expect(throws: CLIError.data("CSV file '\(path)' has a header but no data rows")) {
            try CSVStream.numericColumns(path: path, names: ["a"])
        }
    }
}

@Suite("Streaming CSV")
struct CSVStreamTests {
    /// Every record of `path`, read `chunkSize` bytes at a time.
    func records(_ path: String, chunkSize: Int) throws -> [[String]] {
        var records: [[String]] = []
        try CSVStream.read(path: path, chunkSize: chunkSize, header: { records.append($0) }, record: { fields, line in
            records.append(fields + ["line \(line)"])
        })
        return records
    }

    @Test("any chunk size reads what the whole-text parser reads: quotes, line ends and characters split across chunks")
    func chunkBoundaries() throws {
        let scratch = ScratchDirectory()
        let text = "\u{FEFF}name,\"note, long\"\r\n\"a \"\"b\"\"\",\"x\r\ny\"\n\nc,é€😀\r\n d ,\"\"\n"
        let path = scratch.write("q.csv", text: text)
        let table = try CSVTable(parsing: String(text.dropFirst()), source: path)
        let expected = [table.header] + zip(table.rows, table.lineNumbers).map { $0.0 + ["line \($0.1)"] }
        for chunkSize in [1, 2, 3, 5, 7, 64] {
            #expect(try records(path, chunkSize: chunkSize) == expected, "chunk size \(chunkSize)")
        }
    }

    @Test("bytes that are not UTF-8 are reported at their offset, whatever the chunks")
    func invalidBytes() throws {
        let scratch = ScratchDirectory()
        let path = scratch.write("bad.csv", bytes: Array("a,b\n1,é\n2,".utf8) + [0xE9] + Array("x\n".utf8))
        for chunkSize in [1, 4, 100] {
            #expect(throws: CLIError.data("CSV file '\(path)' is not UTF-8 text: invalid byte 0xE9 at offset 11; convert it first (for example with iconv -t UTF-8)")) {
                _ = try records(path, chunkSize: chunkSize)
            }
        }
        let truncated = scratch.write("cut.csv", bytes: Array("a\n1".utf8) + [0xE2, 0x82])
        #expect(throws: CLIError.self) { _ = try records(truncated, chunkSize: 2) }
    }

    @Test("on a terminal, reading a file of 16 MB or more shows how far it has got, then clears the line")
    func progressLine() throws {
        let scratch = ScratchDirectory()
        let row = "0.1234,0.5678\n"
        let path = scratch.write("big.csv", text: "a,b\n" + String(repeating: row, count: (17 << 20) / row.utf8.count))
        let console = Console.capturing(isTerminal: true)
        let columns = try InputProgress.showing("big.csv", on: console) {
            try CSVStream.numericColumns(path: path, names: ["b"], progress: InputProgress.current)
        }
        #expect(columns[0].count == (17 << 20) / row.utf8.count && InputProgress.current == nil)
        #expect(console.capturedOutput.contains("reading big.csv  100% (16 of 16 MB)"))
        #expect(console.capturedOutput.hasSuffix("\r\u{1B}[2K"))
        let quiet = Console.capturing(isTerminal: false)
        _ = try InputProgress.showing("big.csv", on: quiet) { try CSVStream.numericColumns(path: path, names: ["a"], progress: InputProgress.current) }
        #expect(quiet.capturedOutput.isEmpty)
    }

    @Test("a callback stops the reading early without an error")
    func stopsEarly() throws {
        let scratch = ScratchDirectory()
        let path = scratch.write("s.csv", text: "a\n1\n\"unclosed\n")
        var header: [String] = []
        try CSVStream.read(path: path, header: { header = $0; throw StopReading() }, record: { _, _ in })
        #expect(header == ["a"])
    }
}

@Suite("UTF-8 validation")
struct UTF8ValidationTests {
    @Test("well-formed text of every sequence length passes")
    func wellFormed() {
        #expect(firstInvalidUTF8Offset(Array("aé€😀".utf8)) == nil)
    }

    @Test("the offset of the first ill-formed sequence is found")
    func offsets() {
        #expect(firstInvalidUTF8Offset([0x61, 0xFF]) == 1)                   // never valid
        #expect(firstInvalidUTF8Offset([0x61, 0x62, 0xC3]) == 2)             // truncated
        #expect(firstInvalidUTF8Offset([0xC0, 0x80]) == 0)                   // overlong
        #expect(firstInvalidUTF8Offset([0x61, 0xED, 0xA0, 0x80]) == 1)       // surrogate U+D800
        #expect(firstInvalidUTF8Offset([0xE2, 0x82, 0x41]) == 0)             // bad third byte
        #expect(firstInvalidUTF8Offset([0xE2, 0x82, 0xAC, 0xF4, 0x90, 0x80, 0x80]) == 3) // above U+10FFFF
    }
}
