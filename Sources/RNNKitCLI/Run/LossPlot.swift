// loss.svg: the training and validation loss curves of a run, as a self-contained SVG 1.1 file
// (no scripts, no external fonts or styles) that any browser opens.
//
// Layout (in SVG user units, the page is `width × height`):
//   title on top; the plot area inside margins; y axis on the left with "nice" ticks (1, 2 or 5
//   times a power of ten) and light grid lines; x axis at the bottom with step ticks; the training
//   loss as a blue polyline, the validation loss as an orange polyline with dots at each
//   measurement; a legend in the top-right corner of the plot area. A task with a validation
//   metric (a classifier's accuracy, a tagger's entity F1, a translator's exact match) gets a
//   second panel below, the metric from 0 to 100 % over the same step axis, in green.

import Foundation

/// Renders the loss curves of `log` as SVG text.
struct LossPlot {
    /// Page width in user units.
    var width = 760.0
    /// Page height in user units.
    var height = 440.0
    /// Title line above the plot.
    var title: String
    /// The y-axis label, for example `"loss (nats/char)"`.
    var yLabel: String
    /// The validation metric's name for the second panel (`"accuracy"`), or `nil` (default) for none.
    var metricName: String? = nil
    /// The second panel's height in user units.
    private let metricPanelHeight = 210.0

    private let margin = (left: 74.0, right: 24.0, top: 48.0, bottom: 58.0)
    static let trainColor = "#1f77b4"
    static let validationColor = "#ff7f0e"
    static let metricColor = "#2ca02c"

    /// The SVG document for the records of `log` (an empty plot with axes when there are none).
    func svg(for records: [MetricsRecord]) -> String {
        let train = records.filter { $0.trainLoss.isFinite }.map { (Double($0.step), $0.trainLoss) }
        let validation = records.compactMap { record in
            record.validationLoss.flatMap { $0.isFinite ? (Double(record.step), $0) : nil }
        }
        let metric = records.compactMap { record in
            record.validationMetric.flatMap { $0.isFinite ? (Double(record.step), $0) : nil }
        }
        let drawsMetric = metricName != nil && !metric.isEmpty
        let pageHeight = height + (drawsMetric ? metricPanelHeight : 0)
        let points = train + validation
        let maxStep = max(1, points.map(\.0).max() ?? 1)
        var lowest = points.map(\.1).min() ?? 0
        var highest = points.map(\.1).max() ?? 1
        if highest - lowest < 1e-9 { lowest -= 0.5; highest += 0.5 }
        // Start the y axis at 0 when the curves come near it anyway (below a quarter of the top).
        let yStart = lowest >= 0 && lowest < 0.25 * highest ? 0 : lowest
        let yTicks = niceTicks(from: yStart, to: highest)
        let xTicks = niceTicks(from: 0, to: maxStep)
        let (yMin, yMax) = (yTicks.first!, yTicks.last!)
        let (xMin, xMax) = (0.0, xTicks.last!)

        let plotLeft = margin.left, plotRight = width - margin.right
        let plotTop = margin.top, plotBottom = height - margin.bottom
        func x(_ step: Double) -> Double { plotLeft + (step - xMin) / (xMax - xMin) * (plotRight - plotLeft) }
        func y(_ loss: Double) -> Double { plotBottom - (loss - yMin) / (yMax - yMin) * (plotBottom - plotTop) }
        func n(_ value: Double) -> String { String(format: "%.1f", value) }

        var svg = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(n(width))" height="\(n(pageHeight))" viewBox="0 0 \(n(width)) \(n(pageHeight))" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
            <rect x="0" y="0" width="\(n(width))" height="\(n(pageHeight))" fill="white"/>
            <text x="\(n(width / 2))" y="26" text-anchor="middle" font-size="15" font-weight="bold">\(escapeXML(title))</text>

            """
        // Grid and y ticks.
        svg += "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n"
        for tick in yTicks { svg += "<line x1=\"\(n(plotLeft))\" y1=\"\(n(y(tick)))\" x2=\"\(n(plotRight))\" y2=\"\(n(y(tick)))\"/>\n" }
        for tick in xTicks { svg += "<line x1=\"\(n(x(tick)))\" y1=\"\(n(plotTop))\" x2=\"\(n(x(tick)))\" y2=\"\(n(plotBottom))\"/>\n" }
        svg += "</g>\n"
        // Axes.
        svg += "<g stroke=\"#333\" stroke-width=\"1.2\">\n"
        svg += "<line x1=\"\(n(plotLeft))\" y1=\"\(n(plotBottom))\" x2=\"\(n(plotRight))\" y2=\"\(n(plotBottom))\"/>\n"
        svg += "<line x1=\"\(n(plotLeft))\" y1=\"\(n(plotTop))\" x2=\"\(n(plotLeft))\" y2=\"\(n(plotBottom))\"/>\n"
        for tick in yTicks { svg += "<line x1=\"\(n(plotLeft - 5))\" y1=\"\(n(y(tick)))\" x2=\"\(n(plotLeft))\" y2=\"\(n(y(tick)))\"/>\n" }
        for tick in xTicks { svg += "<line x1=\"\(n(x(tick)))\" y1=\"\(n(plotBottom))\" x2=\"\(n(x(tick)))\" y2=\"\(n(plotBottom + 5))\"/>\n" }
        svg += "</g>\n"
        // Tick labels and axis titles.
        svg += "<g fill=\"#333\">\n"
        for tick in yTicks {
            svg += "<text x=\"\(n(plotLeft - 8))\" y=\"\(n(y(tick) + 4))\" text-anchor=\"end\">\(tickLabel(tick, ticks: yTicks))</text>\n"
        }
        for tick in xTicks {
            svg += "<text x=\"\(n(x(tick)))\" y=\"\(n(plotBottom + 20))\" text-anchor=\"middle\">\(tickLabel(tick, ticks: xTicks))</text>\n"
        }
        svg += "<text x=\"\(n((plotLeft + plotRight) / 2))\" y=\"\(n(height - 14))\" text-anchor=\"middle\">step</text>\n"
        svg += "<text x=\"18\" y=\"\(n((plotTop + plotBottom) / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(n((plotTop + plotBottom) / 2)))\">\(escapeXML(yLabel))</text>\n"
        svg += "</g>\n"
        // Curves.
        if !train.isEmpty {
            let list = train.map { "\(n(x($0.0))),\(n(y($0.1)))" }.joined(separator: " ")
            svg += "<polyline id=\"train-loss\" fill=\"none\" stroke=\"\(Self.trainColor)\" stroke-width=\"1.8\" stroke-linejoin=\"round\" points=\"\(list)\"/>\n"
        }
        if !validation.isEmpty {
            let list = validation.map { "\(n(x($0.0))),\(n(y($0.1)))" }.joined(separator: " ")
            svg += "<polyline id=\"validation-loss\" fill=\"none\" stroke=\"\(Self.validationColor)\" stroke-width=\"2.2\" stroke-linejoin=\"round\" points=\"\(list)\"/>\n"
            svg += "<g fill=\"\(Self.validationColor)\">\n"
            for point in validation { svg += "<circle cx=\"\(n(x(point.0)))\" cy=\"\(n(y(point.1)))\" r=\"3\"/>\n" }
            svg += "</g>\n"
        }
        // Legend, with the last values.
        let legendX = plotRight - 210, legendY = plotTop + 10
        svg += "<g>\n<rect x=\"\(n(legendX))\" y=\"\(n(legendY))\" width=\"200\" height=\"48\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#bbb\"/>\n"
        let entries: [(String, String, Double?)] = [
            ("training loss", Self.trainColor, train.last?.1),
            ("validation loss", Self.validationColor, validation.last?.1),
        ]
        for (index, entry) in entries.enumerated() {
            let rowY = legendY + 16 + Double(index) * 20
            let last = entry.2.map { "  (" + String(format: "%.4f", $0) + ")" } ?? ""
            svg += "<line x1=\"\(n(legendX + 10))\" y1=\"\(n(rowY - 4))\" x2=\"\(n(legendX + 34))\" y2=\"\(n(rowY - 4))\" stroke=\"\(entry.1)\" stroke-width=\"2.5\"/>\n"
            svg += "<text x=\"\(n(legendX + 42))\" y=\"\(n(rowY))\" fill=\"#333\">\(entry.0)\(last)</text>\n"
        }
        svg += "</g>\n"
        if drawsMetric, let metricName {
            // The metric panel: 0–100 % over the same step axis.
            let top = height + 10, bottom = height + metricPanelHeight - 40
            func metricY(_ value: Double) -> Double { bottom - value * (bottom - top) }
            svg += "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n"
            for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
                svg += "<line x1=\"\(n(plotLeft))\" y1=\"\(n(metricY(tick)))\" x2=\"\(n(plotRight))\" y2=\"\(n(metricY(tick)))\"/>\n"
            }
            svg += "</g>\n<g stroke=\"#333\" stroke-width=\"1.2\">\n"
            svg += "<line x1=\"\(n(plotLeft))\" y1=\"\(n(bottom))\" x2=\"\(n(plotRight))\" y2=\"\(n(bottom))\"/>\n"
            svg += "<line x1=\"\(n(plotLeft))\" y1=\"\(n(top))\" x2=\"\(n(plotLeft))\" y2=\"\(n(bottom))\"/>\n</g>\n<g fill=\"#333\">\n"
            for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
                svg += "<text x=\"\(n(plotLeft - 8))\" y=\"\(n(metricY(tick) + 4))\" text-anchor=\"end\">\(Int(tick * 100))%</text>\n"
            }
            for tick in xTicks {
                svg += "<text x=\"\(n(x(tick)))\" y=\"\(n(bottom + 18))\" text-anchor=\"middle\">\(tickLabel(tick, ticks: xTicks))</text>\n"
            }
            let middle = (top + bottom) / 2
            svg += "<text x=\"18\" y=\"\(n(middle))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(n(middle)))\">validation \(escapeXML(metricName))</text>\n"
            svg += "<text x=\"\(n(plotRight - 4))\" y=\"\(n(top + 14))\" text-anchor=\"end\">\(escapeXML(metricName)) \(String(format: "%.1f", 100 * metric.last!.1))%</text>\n</g>\n"
            let list = metric.map { "\(n(x($0.0))),\(n(metricY(min(max($0.1, 0), 1))))" }.joined(separator: " ")
            svg += "<polyline id=\"validation-metric\" fill=\"none\" stroke=\"\(Self.metricColor)\" stroke-width=\"2.2\" stroke-linejoin=\"round\" points=\"\(list)\"/>\n"
            svg += "<g fill=\"\(Self.metricColor)\">\n"
            for point in metric { svg += "<circle cx=\"\(n(x(point.0)))\" cy=\"\(n(metricY(min(max(point.1, 0), 1))))\" r=\"3\"/>\n" }
            svg += "</g>\n"
        }
        svg += "</svg>\n"
        return svg
    }
}

/// Tick values covering `[low, high]` at a step of 1, 2 or 5 times a power of ten, about 5–10 ticks,
/// from a multiple of the step at or below `low` to one at or above `high`.
func niceTicks(from low: Double, to high: Double, target: Int = 6) -> [Double] {
    let span = max(high - low, 1e-12)
    let rough = span / Double(target)
    let magnitude = pow(10, floor(log10(rough)))
    let step = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
    let first = floor(low / step) * step
    let last = ceil(high / step) * step
    let count = Int(((last - first) / step).rounded())
    return (0...max(1, count)).map { first + Double($0) * step }
}

/// A tick label with just enough decimals to tell neighbouring ticks apart.
private func tickLabel(_ value: Double, ticks: [Double]) -> String {
    let step = ticks.count > 1 ? abs(ticks[1] - ticks[0]) : 1
    let decimals = max(0, min(6, Int(ceil(-log10(step) - 1e-9))))
    if decimals == 0, abs(value) >= 10_000 {
        return value.truncatingRemainder(dividingBy: 1000) == 0
            ? String(format: "%.0fk", value / 1000) : String(format: "%.1fk", value / 1000)
    }
    return String(format: "%.\(decimals)f", value)
}

/// `text` with the five XML special characters escaped.
func escapeXML(_ text: String) -> String {
    var escaped = ""
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        case "'": escaped += "&apos;"
        default: escaped.append(character)
        }
    }
    return escaped
}
