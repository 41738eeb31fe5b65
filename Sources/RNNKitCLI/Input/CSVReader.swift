// The CSV reader of forecasters' and sequence classifiers' files (`--csv`): a byte-level parser
// (CSVRecordParser), the file streamed through it in chunks (CSVStream), and a whole-text table
// for small files (CSVTable).
//
// The dialect (RFC 4180, read leniently):
// - the first record is a header naming the columns; it is required;
// - fields are separated by commas; records end with LF or CRLF; blank lines are skipped;
// - a field may be quoted with double quotes, and then may hold commas, line breaks and doubled
//   quotes (`"say ""hi"""`); spaces around an unquoted field are trimmed;
// - every record must have as many fields as the header.
// Other separators (semicolons, tabs), comment lines and type inference are not supported.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The dialect above as a state machine over UTF-8 bytes (its separators are all ASCII, which no
/// byte of a multi-byte character can be), so that a file streams through it in chunks of any size.
struct CSVRecordParser {
    /// The file, for messages.
    let source: String
    private var record: [String] = []
    private var field: [UInt8] = []
    private var fieldWasQuoted = false
    private var inQuotes = false
    /// Inside quotes, a quote was read: the next byte says whether it was doubled or closed the field.
    private var quotePending = false
    /// A CR ended a record: an LF right after it belongs to the same line end.
    private var skipsLineFeed = false
    private var line = 1
    private var recordStartLine = 1
    private var quoteOpenedOnLine = 1

    init(source: String) { self.source = source }

    /// Reads `bytes`, handing every complete record that is not a blank line to `emit` with the line it starts on.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, emit: ([String], Int) throws -> Void) throws {
        for byte in bytes {
            if inQuotes {
                if quotePending {
                    quotePending = false
                    if byte == 0x22 { field.append(0x22); continue }   // a doubled quote
                    inQuotes = false                                  // the closing quote: read this byte outside
                } else if byte == 0x22 {
                    quotePending = true
                    continue
                } else {
                    if byte == 0x0A { line += 1 }
                    field.append(byte)
                    continue
                }
            }
            if skipsLineFeed {
                skipsLineFeed = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x2C:                                                // ,
                endField()
            case 0x0A, 0x0D:                                          // LF, CR
                try endRecord(emit)
                line += 1
                recordStartLine = line
                skipsLineFeed = byte == 0x0D
            case 0x22:                                                // "
                guard String(decoding: field, as: UTF8.self).trimmingCharacters(in: .whitespaces).isEmpty, !fieldWasQuoted else {
                    throw CLIError.data("CSV file '\(source)' line \(line): a double quote inside an unquoted field; quote the whole field and double the quote (\"\"), as in RFC 4180")
                }
                field = []
                fieldWasQuoted = true
                inQuotes = true
                quoteOpenedOnLine = line
            default:
                if fieldWasQuoted {
                    guard byte == 0x20 || byte == 0x09 else {
                        throw CLIError.data("CSV file '\(source)' line \(line): text after the closing quote of a field; expected a comma or the end of the line")
                    }
                } else {
                    field.append(byte)
                }
            }
        }
    }

    /// Ends the input: the last record, or an error for a quote left open.
    mutating func finish(emit: ([String], Int) throws -> Void) throws {
        if quotePending { (quotePending, inQuotes) = (false, false) }
        if inQuotes {
            throw CLIError.data("CSV file '\(source)': the quote opened on line \(quoteOpenedOnLine) is never closed")
        }
        if !field.isEmpty || fieldWasQuoted || !record.isEmpty { try endRecord(emit) }
    }

    private mutating func endField() {
        if fieldWasQuoted {
            record.append(String(decoding: field, as: UTF8.self))
        } else {
            // ASCII spaces and tabs are cut here; other whitespace at an end (non-ASCII bytes) by Foundation.
            var start = 0, end = field.count
            while start < end, field[start] == 0x20 || field[start] == 0x09 { start += 1 }
            while end > start, field[end - 1] == 0x20 || field[end - 1] == 0x09 { end -= 1 }
            let text = String(decoding: field[start..<end], as: UTF8.self)
            let mayHaveMore = start < end && (field[start] >= 0x80 || field[end - 1] >= 0x80)
            record.append(mayHaveMore ? text.trimmingCharacters(in: .whitespaces) : text)
        }
        field.removeAll(keepingCapacity: true)
        fieldWasQuoted = false
    }

    private mutating func endRecord(_ emit: ([String], Int) throws -> Void) throws {
        endField()
        // A line with nothing on it is skipped, not read as one empty field.
        if !(record.count == 1 && record[0].isEmpty) { try emit(record, recordStartLine) }
        record = []
    }
}

/// Streams a CSV file through ``CSVRecordParser`` in chunks, checking that it is UTF-8 (a leading
/// byte-order mark is skipped), that it has a header, and that every record has the header's
/// number of fields; memory stays at one chunk and one record, whatever the file's size.
enum CSVStream {
    /// Bytes read at a time.
    static let chunkSize = 1 << 20

    /// Reads the file at `path`: `header` gets the header record, `record` every data record with its line.
    /// - Parameters:
    ///   - chunkSize: bytes read at a time (default ``chunkSize``).
    ///   - progress: called after each chunk with the bytes read and the file's size.
    /// - Throws: ``CLIError`` for a missing, unreadable or empty file, and a data error for bytes that
    ///   are not UTF-8 (naming the offset), a malformed record, no header, or a record of another width.
    static func read(path: String, purpose: String = "CSV file", chunkSize: Int = chunkSize, progress: ((Int, Int) -> Void)? = nil,
                     header: ([String]) throws -> Void, record: ([String], Int) throws -> Void) throws {
        let size = try InputFile.checkedSize(of: path, purpose: purpose)
        guard let file = fopen(path, "rb") else { throw CLIError("\(purpose) '\(path)' cannot be read (check its permissions)") }
        defer { fclose(file) }
        do {
            try stream(file, size: size, path: path, purpose: purpose, chunkSize: chunkSize, progress: progress, header: header, record: record)
        } catch is StopReading {}
    }

    private static func stream(_ file: UnsafeMutablePointer<FILE>, size: Int, path: String, purpose: String, chunkSize: Int,
                               progress: ((Int, Int) -> Void)?, header: ([String]) throws -> Void,
                               record: ([String], Int) throws -> Void) throws {
        var parser = CSVRecordParser(source: path)
        var width: Int?
        func emit(_ fields: [String], _ line: Int) throws {
            guard let width else {
                width = fields.count
                try header(fields)
                return
            }
            guard fields.count == width else {
                throw CLIError.data("CSV file '\(path)' line \(line): \(fields.count) fields, expected \(width) as in the header")
            }
            try record(fields, line)
        }
        var buffer = [UInt8](repeating: 0, count: chunkSize)
        var carried: [UInt8] = []                 // the start of a character split by the chunk's end
        var offset = 0                            // of the first byte of `carried` + the chunk, in the file
        var readSoFar = 0, byteOrderMark = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, chunkSize, file) }
            readSoFar += count
            var bytes = carried + buffer[0..<count]
            carried = []
            if count > 0 {
                // Keep back a multi-byte character the chunk cut in two.
                var cut = bytes.count
                for back in 1...min(3, bytes.count) where bytes[bytes.count - back] >= 0xC0 {
                    let lead = bytes[bytes.count - back]
                    let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
                    if length > back { cut = bytes.count - back }
                    break
                }
                carried = Array(bytes[cut...])
                bytes.removeSubrange(cut...)
            }
            var skip = 0
            if offset == 0, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { (skip, byteOrderMark) = (3, 3) }
            if let bad = firstInvalidUTF8Offset(Array(bytes[skip...])) {
                let at = offset + skip + bad - byteOrderMark          // counted after a byte-order mark, as InputFile counts
                throw CLIError.data("\(purpose) '\(path)' is not UTF-8 text: invalid byte 0x\(String(format: "%02X", bytes[skip + bad])) at offset \(at); convert it first (for example with iconv -t UTF-8)")
            }
            try bytes.withUnsafeBufferPointer { try parser.feed(UnsafeBufferPointer(rebasing: $0[skip...]), emit: emit) }
            offset += bytes.count
            progress?(readSoFar, size)
            if count == 0 { break }
        }
        try parser.finish(emit: emit)
        if width == nil {
            throw CLIError.data("CSV file '\(path)' has no header row; expected a first line naming the columns, for example 'time,value'")
        }
    }

    /// The columns `names` of the CSV file at `path` as numbers, streamed.
    /// - Throws: ``CLIError`` as ``read(path:purpose:progress:header:record:)``, naming the
    ///   available columns for an absent one and the line and text of a cell that is not a finite
    ///   number, and for a file without data rows.
    static func numericColumns(path: String, names: [String], progress: ((Int, Int) -> Void)? = nil) throws -> [[Double]] {
        var indices: [Int] = []
        var columns = [[Double]](repeating: [], count: names.count)
        var headerNames: [String] = []
        try read(path: path, progress: progress, header: { header in
            headerNames = header
            indices = try names.map { name in
                guard let index = header.firstIndex(of: name) else {
                    let available = header.map { "'\($0)'" }.joined(separator: ", ")
                    throw CLIError.data("CSV file '\(path)' has no column '\(name)'; its columns are \(available)")
                }
                return index
            }
        }, record: { fields, line in
            for (k, index) in indices.enumerated() {
                guard let value = Double(fields[index]), value.isFinite else {
                    let shown = fields[index].isEmpty ? "an empty cell" : "'\(fields[index])'"
                    throw CLIError.data("CSV file '\(path)' line \(line), column '\(headerNames[index])': \(shown) is not a number; expected a finite decimal number in every row")
                }
                columns[k].append(value)
            }
        })
        guard let first = columns.first, !first.isEmpty else { throw CLIError.data("CSV file '\(path)' has a header but no data rows") }
        return columns
    }
}

/// A CSV table held whole: the header and the records, all as text (for small files: metrics.csv, tests).
struct CSVTable: Equatable {
    /// The column names of the header record, in file order.
    var header: [String]
    /// The data records; each has `header.count` fields.
    var rows: [[String]]
    /// The 1-based line of the file on which each data record starts, for messages.
    var lineNumbers: [Int]

    /// Parses CSV `text` (see the dialect above). `source` names the file in error messages.
    /// - Throws: ``CLIError`` for a missing header, an unterminated quote, a stray quote, or a
    ///   record with the wrong number of fields.
    init(parsing text: String, source: String) throws {
        var records: [[String]] = [], lines: [Int] = []
        var parser = CSVRecordParser(source: source)
        let emit: ([String], Int) throws -> Void = { records.append($0); lines.append($1) }
        var bytes = Array(text.utf8)
        try bytes.withUnsafeMutableBufferPointer { try parser.feed(UnsafeBufferPointer($0), emit: emit) }
        try parser.finish(emit: emit)
        guard let header = records.first else {
            throw CLIError.data("CSV file '\(source)' has no header row; expected a first line naming the columns, for example 'time,value'")
        }
        for (index, record) in records.enumerated().dropFirst() where record.count != header.count {
            throw CLIError.data("CSV file '\(source)' line \(lines[index]): \(record.count) fields, expected \(header.count) as in the header")
        }
        self.header = header
        self.rows = Array(records.dropFirst())
        self.lineNumbers = Array(lines.dropFirst())
    }
}

/// Where `rnnkit train` shows how far the reading of a large data file has got: set while its data
/// loads, `nil` otherwise (the commands run one at a time, on one thread).
enum InputProgress {
    nonisolated(unsafe) static var current: ((Int, Int) -> Void)?

    /// Runs `body` with ``current`` drawing `reading NAME  42% (420 of 1,000 MB)` on a terminal,
    /// redrawn at most ten times a second, for files of at least 16 MB; the line is cleared after.
    static func showing<T>(_ name: String, on console: Console, _ body: () throws -> T) rethrows -> T {
        guard console.isTerminal else { return try body() }
        var lastDraw = Date.distantPast, drawn = false
        current = { read, total in
            guard total >= 16 << 20, Date().timeIntervalSince(lastDraw) >= 0.1 || read == total else { return }
            lastDraw = Date()
            drawn = true
            console.write(String(format: "\r\u{1B}[2Kreading %@  %3d%% (%@ of %@ MB)", name, Int(100 * Double(read) / Double(total)),
                                 grouped(read >> 20), grouped(total >> 20)))
        }
        defer {
            current = nil
            if drawn { console.write("\r\u{1B}[2K") }
        }
        return try body()
    }
}
