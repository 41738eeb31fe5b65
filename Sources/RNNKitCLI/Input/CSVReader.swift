// A small CSV reader for `--csv FILE --column NAME`.
//
// The dialect (RFC 4180, read leniently):
// - the first record is a header naming the columns; it is required;
// - fields are separated by commas; records end with LF or CRLF; blank lines are skipped;
// - a field may be quoted with double quotes, and then may hold commas, line breaks and doubled
//   quotes (`"say ""hi"""`); spaces around an unquoted field are trimmed;
// - every record must have as many fields as the header.
// Other separators (semicolons, tabs), comment lines and type inference are not supported.

import Foundation

/// A CSV table: the header and the records, all as text.
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
        var records: [[String]] = []
        var recordLines: [Int] = []
        var record: [String] = []
        var field = ""
        var fieldWasQuoted = false
        var inQuotes = false
        var line = 1
        var recordStartLine = 1
        var quoteOpenedOnLine = 1
        var scalars = Array(text.unicodeScalars)[...]

        func endField() {
            record.append(fieldWasQuoted ? field : field.trimmingCharacters(in: .whitespaces))
            field = ""
            fieldWasQuoted = false
        }
        func endRecord() {
            endField()
            // A line with nothing on it is skipped, not read as one empty field.
            if !(record.count == 1 && record[0].isEmpty) {
                records.append(record)
                recordLines.append(recordStartLine)
            }
            record = []
        }

        while let scalar = scalars.popFirst() {
            if inQuotes {
                if scalar == "\"" {
                    if scalars.first == "\"" {
                        scalars.removeFirst()
                        field.unicodeScalars.append("\"")
                    } else {
                        inQuotes = false
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case ",":
                endField()
            case "\r" where scalars.first == "\n":
                break  // the LF that follows ends the record
            case "\n", "\r":
                endRecord()
                line += 1
                recordStartLine = line
            case "\"":
                guard field.trimmingCharacters(in: .whitespaces).isEmpty, !fieldWasQuoted else {
                    throw CLIError.data("CSV file '\(source)' line \(line): a double quote inside an unquoted field; quote the whole field and double the quote (\"\"), as in RFC 4180")
                }
                field = ""
                fieldWasQuoted = true
                inQuotes = true
                quoteOpenedOnLine = line
            default:
                if fieldWasQuoted {
                    guard scalar == " " || scalar == "\t" else {
                        throw CLIError.data("CSV file '\(source)' line \(line): text after the closing quote of a field; expected a comma or the end of the line")
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
            }
        }
        if inQuotes {
            throw CLIError.data("CSV file '\(source)': the quote opened on line \(quoteOpenedOnLine) is never closed")
        }
        if !field.isEmpty || fieldWasQuoted || !record.isEmpty { endRecord() }

        guard let header = records.first else {
            throw CLIError.data("CSV file '\(source)' has no header row; expected a first line naming the columns, for example 'time,value'")
        }
        for (index, record) in records.enumerated().dropFirst() where record.count != header.count {
            throw CLIError.data("CSV file '\(source)' line \(recordLines[index]): \(record.count) fields, expected \(header.count) as in the header")
        }
        self.header = header
        self.rows = Array(records.dropFirst())
        self.lineNumbers = Array(recordLines.dropFirst())
    }

    /// The values of the column called `name` as numbers.
    /// - Throws: ``CLIError`` naming the available columns when there is no such column, and the
    ///   line and text of the first cell that is empty or not a finite number.
    func numericColumn(named name: String, source: String) throws -> [Double] {
        guard let column = header.firstIndex(of: name) else {
            let available = header.map { "'\($0)'" }.joined(separator: ", ")
            throw CLIError.data("CSV file '\(source)' has no column '\(name)'; its columns are \(available)")
        }
        var values: [Double] = []
        values.reserveCapacity(rows.count)
        for (row, line) in zip(rows, lineNumbers) {
            let cell = row[column]
            guard let value = Double(cell), value.isFinite else {
                let shown = cell.isEmpty ? "an empty cell" : "'\(cell)'"
                throw CLIError.data("CSV file '\(source)' line \(line), column '\(name)': \(shown) is not a number; expected a finite decimal number in every row")
            }
            values.append(value)
        }
        return values
    }

    /// Reads the CSV file at `path` and returns column `name` as numbers.
    /// - Throws: ``CLIError`` for every way the file or column can be unusable, including a
    ///   column with no data rows.
    static func readNumericColumn(path: String, column name: String) throws -> [Double] {
        let text = try InputFile.text(at: path, purpose: "CSV file")
        let table = try CSVTable(parsing: text, source: path)
        let values = try table.numericColumn(named: name, source: path)
        guard !values.isEmpty else {
            throw CLIError.data("CSV file '\(path)' has a header but no data rows")
        }
        return values
    }
}
