// What a person sees while `rnnkit train` runs.
//
// On a terminal (`isatty(1)`), one line redrawn in place, at most ten times a second:
//   [###########.............]  640/1500  loss 1.7421  val 1.8012  21.3k tok/s  0:31 elapsed  0:42 left
// Elsewhere (pipes, files, CI), one plain line per logging interval and per validation:
//   step 640/1500  loss 1.7421  val 1.8012  21300 tok/s  elapsed 0:31  left 0:42
// A task with a validation metric shows it after the validation loss: `val 0.2140 (accuracy 93.8%)`.

import Foundation

/// Draws the progress bar or prints log lines for a training run.
final class ProgressReporter {
    private let console: Console
    private let totalSteps: Int
    private let firstStep: Int
    private let unit: String
    private let started = Date()
    private let elapsedBefore: Double
    private var lastDraw = Date.distantPast
    private var barIsShown = false
    private var latestValidation: Double?
    private var latestMetric: Double?
    private let metricName: String?

    /// - Parameters:
    ///   - totalSteps: the step the run ends at.
    ///   - firstStep: the step the run starts (or resumes) at.
    ///   - unit: the throughput unit, `tok/s` or `seq/s`.
    ///   - elapsedBefore: seconds spent in earlier sessions of a resumed run.
    ///   - metricName: the validation metric shown as a percentage (`accuracy`), or `nil` (default).
    init(console: Console, totalSteps: Int, firstStep: Int, unit: String, elapsedBefore: Double = 0, metricName: String? = nil) {
        self.metricName = metricName
        self.console = console
        self.totalSteps = totalSteps
        self.firstStep = firstStep
        self.unit = unit
        self.elapsedBefore = elapsedBefore
    }

    /// Seconds since the run began, including earlier sessions.
    var elapsedSeconds: Double { elapsedBefore + Date().timeIntervalSince(started) }

    /// Reports the state after `step`. On a terminal the bar is redrawn (throttled unless `force`);
    /// otherwise a line is printed only when `logLine` is true.
    func update(step: Int, trainLoss: Double, validationLoss: Double?, validationMetric: Double? = nil, throughput: Double,
                logLine: Bool, force: Bool = false) {
        if let validationLoss { latestValidation = validationLoss }
        if let validationMetric { latestMetric = validationMetric }
        let sessionSeconds = Date().timeIntervalSince(started)
        let done = step - firstStep
        let remaining = done > 0 ? sessionSeconds / Double(done) * Double(totalSteps - step) : .nan
        var validationText = latestValidation.map { String(format: "%.4f", $0) } ?? "–"
        if let metricName, let latestMetric { validationText += " (\(metricName) \(String(format: "%.1f", 100 * latestMetric))%)" }
        if console.isTerminal {
            let now = Date()
            guard force || step == totalSteps || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            let width = 24
            let filled = totalSteps > 0 ? min(width, width * step / totalSteps) : width
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let line = "[\(bar)] \(pad(step, totalSteps))/\(totalSteps)  loss \(String(format: "%.4f", trainLoss))  val \(validationText)  "
                + "\(compact(throughput)) \(unit)  \(clock(elapsedSeconds)) elapsed  \(clock(remaining)) left"
            console.write("\r\u{1B}[2K" + line)
            barIsShown = true
        } else if logLine {
            console.line(
                "step \(step)/\(totalSteps)  loss \(String(format: "%.4f", trainLoss))  val \(validationText)  "
                    + "\(Int(throughput.rounded())) \(unit)  elapsed \(clock(elapsedSeconds))  left \(clock(remaining))")
        }
    }

    /// Prints `text` as its own line, above the bar on a terminal.
    func message(_ text: String) {
        clearBar()
        console.line(text)
    }

    /// Ends the bar's line, so that what follows starts on a new one.
    func finish() {
        if barIsShown { console.line() }
        barIsShown = false
    }

    private func clearBar() {
        if barIsShown { console.write("\r\u{1B}[2K") }
        barIsShown = false
    }

    private func pad(_ value: Int, _ widest: Int) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(0, String(widest).count - text.count)) + text
    }
}

/// `h:mm:ss` or `m:ss` for a duration in seconds; `–:––` when unknown.
func clock(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "–:––" }
    let total = Int(seconds.rounded())
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
    let twoDigits = { (value: Int) in value < 10 ? "0\(value)" : "\(value)" }
    return hours > 0 ? "\(hours):\(twoDigits(minutes)):\(twoDigits(secs))" : "\(minutes):\(twoDigits(secs))"
}

/// A rate in a short form: `950`, `21.3k`, `1.2M`.
func compact(_ value: Double) -> String {
    guard value.isFinite else { return "–" }
    if value >= 1e6 { return String(format: "%.1fM", value / 1e6) }
    if value >= 1e4 { return String(format: "%.1fk", value / 1e3) }
    return String(format: "%.0f", value)
}
