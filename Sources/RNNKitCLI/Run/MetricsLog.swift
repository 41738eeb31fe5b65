// metrics.csv: one row per logging interval of a training run.
//
//   step,train_loss,val_loss,<throughput>,elapsed_seconds[,val_<metric>]
//   100,2.413208,,15873.2,4.1
//   200,2.016711,2.034511,16102.9,8.3
//
// `train_loss` is the mean training loss (nats per character, or mean squared error) over the
// steps since the previous row; `val_loss` is present on rows where validation ran, empty
// otherwise; the throughput column is `tokens_per_second` for character models and taggers and
// `sequences_per_second` for forecasters and classifiers; `elapsed_seconds` counts wall time from
// the start of the run, across resumptions. A task with a metric of its own adds it last, present
// on the rows where validation ran, as a fraction: `val_accuracy` for classifiers, `val_entity_f1`
// for taggers.

import Foundation

/// One row of `metrics.csv`.
struct MetricsRecord: Equatable {
    /// Optimizer steps completed.
    var step: Int
    /// Mean training loss since the previous record.
    var trainLoss: Double
    /// Validation loss, when validation ran at this step.
    var validationLoss: Double?
    /// Training tokens (or sequences) per second since the previous record.
    var throughput: Double
    /// Seconds of training since the run began.
    var elapsedSeconds: Double
    /// The task's validation metric, when validation ran at this step and the task has one.
    var validationMetric: Double? = nil
}

/// The rows of `metrics.csv`, kept in memory and rewritten whole (atomically) after each append.
struct MetricsLog: Equatable {
    /// Name of the throughput column: `tokens_per_second` or `sequences_per_second`.
    var throughputColumn: String
    /// Name of the validation metric's column (`val_accuracy`), or `nil` for a task without one.
    var metricColumn: String?
    /// The rows in step order.
    var records: [MetricsRecord] = []

    /// The header line's fields.
    var header: [String] { ["step", "train_loss", "val_loss", throughputColumn, "elapsed_seconds"] + (metricColumn.map { [$0] } ?? []) }

    /// The CSV text: the header, then one line per record.
    func csvText() -> String {
        var text = header.joined(separator: ",") + "\n"
        for record in records {
            let validation = record.validationLoss.map { format($0, digits: 6) } ?? ""
            let metric = metricColumn == nil ? "" : "," + (record.validationMetric.map { format($0, digits: 6) } ?? "")
            text += "\(record.step),\(format(record.trainLoss, digits: 6)),\(validation),"
                + "\(format(record.throughput, digits: 1)),\(format(record.elapsedSeconds, digits: 2))\(metric)\n"
        }
        return text
    }

    /// Reads `metrics.csv` written by ``csvText()`` (to append to it when a run resumes).
    init(csvText text: String, source: String) throws {
        let table = try CSVTable(parsing: text, source: source)
        guard table.header.count == 5 || (table.header.count == 6 && table.header[5].hasPrefix("val_")),
            table.header[0] == "step", table.header[1] == "train_loss",
            table.header[2] == "val_loss", table.header[4] == "elapsed_seconds"
        else {
            throw CLIError("'\(source)' does not have the columns of an rnnkit metrics.csv (step,train_loss,val_loss,<throughput>,elapsed_seconds[,val_<metric>])")
        }
        throughputColumn = table.header[3]
        metricColumn = table.header.count == 6 ? table.header[5] : nil
        for (row, line) in zip(table.rows, table.lineNumbers) {
            let metric = row.count == 6 ? row[5] : ""
            guard let step = Int(row[0]), let train = Double(row[1]), let throughput = Double(row[3]),
                let elapsed = Double(row[4]), row[2].isEmpty || Double(row[2]) != nil, metric.isEmpty || Double(metric) != nil
            else {
                throw CLIError("'\(source)' line \(line) is not a metrics row")
            }
            records.append(MetricsRecord(
                step: step, trainLoss: train, validationLoss: Double(row[2]), throughput: throughput,
                elapsedSeconds: elapsed, validationMetric: Double(metric)))
        }
    }

    /// An empty log with the given throughput column and metric column (default none).
    init(throughputColumn: String, metricColumn: String? = nil) {
        self.throughputColumn = throughputColumn
        self.metricColumn = metricColumn
    }
}

/// `value` with `digits` decimals, `nan`/`inf` spelled as Python and pandas read them.
func format(_ value: Double, digits: Int) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    return String(format: "%.\(digits)f", value)
}
