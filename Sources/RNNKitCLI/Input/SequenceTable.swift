// Labelled sequences of numeric features from a CSV with one row per time step, for
// `rnnkit train --csv FILE --sequence-column ID --label-column L [--feature-columns a,b,c]`.
//
// The layout (docs/cli.md, "Sequence classification"):
// - the CSV dialect of CSVReader.swift, with a header row;
// - the rows of one sequence are consecutive and in time order: a sequence id that comes back
//   after another sequence's rows is an error naming both lines;
// - the label is the same on every row of a sequence (a row that disagrees is an error naming
//   its line and the sequence's first line); labels are any non-empty text;
// - the features are the named columns, or by default every column other than the sequence
//   and label columns whose every cell is a finite number; a named column with a cell that is
//   not one is an error naming the line;
// - a sequence has at most `maximumSequenceLength` rows.

import Foundation

/// The sequences of a CSV with one row per time step.
struct SequenceTable {
    /// The most rows one sequence may have.
    static let maximumSequenceLength = 100_000

    /// One sequence: its id, label and feature rows.
    struct Sequence: Equatable {
        /// The sequence column's value.
        var id: String
        /// The label column's value; `nil` when the table was read without a label column.
        var label: String?
        /// `[T, F]` features, row-major, in time order.
        var features: [Double]
        /// `T`, the rows of the sequence.
        var length: Int
        /// The 1-based line of the sequence's first row, for messages.
        var firstLine: Int
    }

    /// The feature columns, in the order of every row's `F` values.
    var featureColumns: [String]
    /// The sequences in file order.
    var sequences: [Sequence]

    /// Reads the sequences of the CSV file at `path`.
    /// - Parameters:
    ///   - sequenceColumn: the column whose value names each row's sequence.
    ///   - labelColumn: the column of labels, or `nil` (prediction) to read none.
    ///   - featureColumns: the feature columns, or `nil` for every numeric column but those two.
    ///   - progress: called after each chunk read with the bytes read and the file's size.
    /// - Throws: ``CLIError`` for an unusable file, and a data error (exit status 65) for every
    ///   way its content can break the layout above.
    static func read(path: String, sequenceColumn: String, labelColumn: String?, featureColumns: [String]?,
                     progress: ((Int, Int) -> Void)? = nil) throws -> SequenceTable {
        var header: [String] = []
        var sequenceIndex = 0, labelIndex: Int?
        func index(of name: String, _ role: String) throws -> Int {
            guard let index = header.firstIndex(of: name) else {
                let available = header.map { "'\($0)'" }.joined(separator: ", ")
                throw CLIError.data("CSV file '\(path)' has no \(role) column '\(name)'; its columns are \(available)")
            }
            return index
        }
        func readHeader(_ fields: [String]) throws {
            header = fields
            sequenceIndex = try index(of: sequenceColumn, "sequence")
            labelIndex = try labelColumn.map { try index(of: $0, "label") }
        }

        // The feature columns: named, or found by a first pass over the file.
        var featureIndices: [Int] = []
        var rowCount = 0
        if let featureColumns {
            try CSVStream.read(path: path, progress: progress, header: { fields in
                try readHeader(fields)
                featureIndices = try featureColumns.map { name in
                    let column = try index(of: name, "feature")
                    guard column != sequenceIndex, column != labelIndex else {
                        throw CLIError.data("feature column '\(name)' of '\(path)' is also the sequence or label column; expected other columns as features")
                    }
                    return column
                }
                throw StopReading()
            }, record: { _, _ in })
        } else {
            var numeric: [Bool] = []
            try CSVStream.read(path: path, progress: progress, header: { fields in
                try readHeader(fields)
                numeric = [Bool](repeating: true, count: fields.count)
            }, record: { fields, _ in
                rowCount += 1
                for column in fields.indices where numeric[column] {
                    numeric[column] = Double(fields[column]).map(\.isFinite) ?? false
                }
            })
            guard rowCount > 0 else { throw CLIError.data("CSV file '\(path)' has a header but no data rows") }
            let excluded = Set([sequenceIndex] + (labelIndex.map { [$0] } ?? []))
            featureIndices = header.indices.filter { !excluded.contains($0) && numeric[$0] }
            guard !featureIndices.isEmpty else {
                throw CLIError.data("CSV file '\(path)' has no numeric column besides the sequence and label columns; expected at least one feature column whose every cell is a number")
            }
        }

        var sequences: [Sequence] = []
        var firstLineOf: [String: Int] = [:]
        rowCount = 0
        try CSVStream.read(path: path, progress: featureColumns == nil ? nil : progress, header: { _ in }, record: { row, line in
            rowCount += 1
            let id = row[sequenceIndex]
            guard !id.isEmpty else {
                throw CLIError.data("CSV file '\(path)' line \(line): the sequence column '\(sequenceColumn)' is empty; expected a sequence id on every row")
            }
            let label = labelIndex.map { row[$0] }
            if let label, label.isEmpty {
                throw CLIError.data("CSV file '\(path)' line \(line): the label column '\(labelColumn!)' is empty; expected a label on every row")
            }
            var values: [Double] = []
            values.reserveCapacity(featureIndices.count)
            for column in featureIndices {
                guard let value = Double(row[column]), value.isFinite else {
                    let cell = row[column], shown = cell.isEmpty ? "an empty cell" : "'\(cell)'"
                    throw CLIError.data("CSV file '\(path)' line \(line), column '\(header[column])': \(shown) is not a number; expected a finite decimal number in every feature cell")
                }
                values.append(value)
            }
            if let current = sequences.last, current.id == id {
                if let label, label != current.label {
                    throw CLIError.data("CSV file '\(path)' line \(line): sequence '\(id)' has the label '\(label)' here but '\(current.label!)' on its first row (line \(current.firstLine)); expected one label per sequence")
                }
                guard current.length < maximumSequenceLength else {
                    throw CLIError.data("CSV file '\(path)' line \(line): sequence '\(id)' (from line \(current.firstLine)) is longer than \(maximumSequenceLength) rows; split it into shorter sequences")
                }
                sequences[sequences.count - 1].features += values
                sequences[sequences.count - 1].length += 1
                return
            }
            if let first = firstLineOf[id] {
                throw CLIError.data("CSV file '\(path)' line \(line): sequence '\(id)' continues after other sequences' rows (it began on line \(first)); expected the rows of each sequence to be consecutive")
            }
            firstLineOf[id] = line
            sequences.append(Sequence(id: id, label: label, features: values, length: 1, firstLine: line))
        })
        guard rowCount > 0 else { throw CLIError.data("CSV file '\(path)' has a header but no data rows") }
        return SequenceTable(featureColumns: featureIndices.map { header[$0] }, sequences: sequences)
    }
}

/// Thrown by a ``CSVStream`` callback to stop reading early; ``CSVStream/read(path:purpose:progress:header:record:)`` returns quietly.
struct StopReading: Error {}
