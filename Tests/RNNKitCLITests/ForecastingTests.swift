import Foundation
import RNNKit
import Testing
@testable import RNNKitCLI

/// `t,x,y`: `x` a seasonal driver (period 12) with noise, `y` following it two steps late,
/// `y[t] = 2·x[t−2] + 1 + noise`, so a model that reads `x` knows `y`'s next two values.
func drivenSeriesCSV(rows: Int, seed: UInt64) -> String {
    var generator = SeededGenerator(seed: seed)
    var x: [Double] = [], text = "t,x,y\n"
    for t in 0..<rows {
        x.append(sin(2 * Double.pi * Double(t) / 12) + 0.3 * generator.nextGaussian())
        let y = t >= 2 ? 2 * x[t - 2] + 1 + 0.05 * generator.nextGaussian() : 1
        text += "\(t),\(format(x[t], digits: 5)),\(format(y, digits: 5))\n"
    }
    return text
}

@Suite("Forecasting", .serialized)
struct ForecastingTests {
    /// The evaluation line's `name=value` pairs.
    func summary(_ output: String) throws -> [String: Double] {
        Dictionary(uniqueKeysWithValues: try #require(output.split(separator: "\n").last).split(separator: " ").map {
            let pair = $0.split(separator: "=")
            return (String(pair[0]), Double(pair[1])!)
        })
    }

    @Test("a forecaster of several input columns and a direct 2-step horizon beats the baselines; eval scores every origin")
    func multivariate() throws {
        let scratch = ScratchDirectory()
        let data = scratch.write("driven.csv", text: drivenSeriesCSV(rows: 1200, seed: 21))
        let heldOut = scratch.write("new.csv", text: drivenSeriesCSV(rows: 200, seed: 22))
        let run = scratch.file("run")
        let train = runCLI(["train", "--csv", data, "--column", "y", "--input-columns", "x,y", "--horizon", "2", "--seq-len", "12",
                            "--steps", "300", "--hidden", "24", "--threads", "1", "--out", run])
        try #require(train.status == 0, "\(train.errors)")
        #expect(train.output.contains("forecaster on column 'y' of \(data) (1,200 values; inputs x,y; 2 values at once)"))
        #expect(train.output.contains("validation: 2-step MSE "))
        let configuration = try RunDirectory(path: run).readConfiguration(option: "--model")
        #expect(configuration.data.inputColumns == ["x", "y"] && configuration.data.horizon == 2)
        #expect(configuration.data.featureMeans?.count == 2)

        let evaluated = runCLI(["eval", "--model", run, "--csv", heldOut, "--season", "12"])
        try #require(evaluated.status == 0, "\(evaluated.errors)")
        // Origins 12…198: a window of 12 before, 2 values after.
        #expect(evaluated.output.hasPrefix("\(heldOut): 187 origins, 2-step forecasts\n"))
        let scores = try summary(evaluated.output)
        #expect(Set(scores.keys) == ["mse", "mae", "last_value_mse", "last_value_mae", "seasonal_naive_mse", "seasonal_naive_mae"])
        #expect(scores["mse"]! < 0.5 * scores["last_value_mse"]! && scores["mse"]! < 0.5 * scores["seasonal_naive_mse"]!, "\(evaluated.output)")
        #expect(try Set(summary(runCLI(["eval", "--model", run, "--csv", heldOut]).output).keys)
                == ["mse", "mae", "last_value_mse", "last_value_mae"])

        let forecast = runCLI(["forecast", "--model", run, "--csv", heldOut, "--horizon", "2"])
        #expect(forecast.status == 0, "\(forecast.errors)")
        #expect(forecast.output.split(separator: "\n").suffix(3).map { String($0.split(separator: ",")[0]) } == ["step", "200", "201"])
        #expect(runCLI(["forecast", "--model", run, "--csv", heldOut, "--horizon", "3"]).errors
                == "rnnkit: error: the model reads several input columns, whose future values are unknown, and forecasts 2 values at once; expected --horizon at most 2\n")
        let missing = scratch.write("missing.csv", text: "t,y\n0,1\n1,2\n")
        #expect(runCLI(["eval", "--model", run, "--csv", missing]).errors.contains("has no column 'x'"))

        // A config.json whose horizon is not the checkpoint's is a damaged run, not a crash.
        let configPath = run + "/config.json"
        let text = try String(contentsOfFile: configPath, encoding: .utf8)
        try text.replacingOccurrences(of: "\"horizon\" : 2", with: "\"horizon\" : 3").write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect(runCLI(["eval", "--model", run, "--csv", heldOut]).errors
                == "rnnkit: error: \(configPath) describes a forecaster of 2 input columns and 3 outputs, which its checkpoint's model is not; the run directory is damaged\n")
    }

    @Test("a univariate forecaster of 3 values at once forecasts further by feeding its forecasts back")
    func feedingBack() throws {
        let scratch = ScratchDirectory()
        let path = scratch.write("series.csv", text: sineCSV(rows: 300, frequency: 0.3, amplitude: 2, offset: 5))
        let run = scratch.file("run")
        let train = runCLI(["train", "--csv", path, "--column", "signal", "--horizon", "3", "--seq-len", "10", "--steps", "60",
                            "--hidden", "12", "--threads", "1", "--out", run])
        try #require(train.status == 0, "\(train.errors)")
        let forecast = runCLI(["forecast", "--model", run, "--csv", path, "--horizon", "7"])
        #expect(forecast.status == 0, "\(forecast.errors)")
        let lines = forecast.output.split(separator: "\n")
        #expect(lines[0].hasPrefix("# backtest on the last 7 known values"))
        #expect(lines.dropFirst(2).map { $0.split(separator: ",")[0] } == ["300", "301", "302", "303", "304", "305", "306"])
        // Cut: the first 2 of one window's 3 values are the 7-step forecast's first 2.
        let two = runCLI(["forecast", "--model", run, "--csv", path, "--horizon", "2"]).output.split(separator: "\n").suffix(2)
        #expect(Array(two) == Array(lines.dropFirst(2).prefix(2)))
        try expectDeterministicAndResumable(["train", "--csv", path, "--column", "signal", "--horizon", "3", "--seq-len", "10",
                                             "--steps", "8", "--hidden", "6", "--threads", "1"], stoppingAfter: 3, in: scratch)
    }

    /// On a file of exactly one origin, eval's figures are the backtest's of `forecast` and the
    /// last-value MSE and MAE computed here by hand.
    @Test("eval on one origin: the model's error is the backtest's, the baseline's is computed by hand")
    func oneOrigin() throws {
        let scratch = ScratchDirectory()
        let path = scratch.write("series.csv", text: sineCSV(rows: 300, frequency: 0.3, amplitude: 2, offset: 5))
        let run = scratch.file("run")
        try #require(runCLI(["train", "--csv", path, "--column", "signal", "--horizon", "3", "--seq-len", "10", "--steps", "30",
                             "--hidden", "8", "--threads", "1", "--out", run]).status == 0)
        // 13 rows: a window of 10, then the 3 values to forecast.
        let values = (0..<13).map { 5 + 2 * sin(Double($0 + 100) * 0.3) }
        let tiny = scratch.write("tiny.csv", text: "t,signal\n" + values.enumerated().map { "\($0.offset),\(format($0.element, digits: 5))\n" }.joined())
        let read = values.map { Double(format($0, digits: 5))! }
        let evaluated = runCLI(["eval", "--model", run, "--csv", tiny])
        try #require(evaluated.status == 0, "\(evaluated.errors)")
        #expect(evaluated.output.hasPrefix("\(tiny): 1 origins, 3-step forecasts\n"))
        let scores = try summary(evaluated.output)
        let lastValue = read[9], future = read[10...]
        let lastMSE = future.map { ($0 - lastValue) * ($0 - lastValue) }.reduce(0, +) / 3
        let lastMAE = future.map { abs($0 - lastValue) }.reduce(0, +) / 3
        #expect(abs(scores["last_value_mse"]! - lastMSE) <= 1e-6 * max(1, lastMSE))
        #expect(abs(scores["last_value_mae"]! - lastMAE) <= 1e-6 * max(1, lastMAE))
        let backtest = try #require(runCLI(["forecast", "--model", run, "--csv", tiny, "--horizon", "3"]).output
            .split(separator: "\n").first { $0.hasPrefix("# backtest") })
        // "# backtest on the last 3 known values: model MSE m, last-value baseline MSE b (…)"
        let words = backtest.split(separator: " ")
        let modelMSE = try #require(Double(words[words.firstIndex(of: "MSE")! + 1].trimmingCharacters(in: .punctuationCharacters)))
        #expect(abs(scores["mse"]! - modelMSE) <= 1e-5 * max(1, modelMSE), "eval \(scores["mse"]!), backtest \(modelMSE)")
    }

    @Test("forecaster options and data that do not fit are refused", arguments: [
        (["--csv", "f.csv", "--label-column", "y", "--sequence-column", "id", "--horizon", "2"], 64,
         "--input-columns and --horizon apply to forecasters (--csv FILE --column NAME) only"),
        (["--csv", "f.csv", "--column", "y", "--horizon", "0"], 64, "--horizon must be between 1 and 10000, got 0"),
        (["--csv", "f.csv", "--column", "y", "--input-columns", "x,,y"], 64,
         "--input-columns 'x,,y' has an empty column name; expected names separated by commas, as in a,b,c"),
    ])
    func refused(options: [String], status: Int32, message: String) {
        let result = runCLI(["train"] + options)
        #expect(result.status == status)
        #expect(result.errors == "rnnkit: error: \(message)\n")
    }

    @Test("a horizon longer than the validation part, and an absent input column, are refused before anything is written")
    func badSeries() {
        let scratch = ScratchDirectory()
        let path = scratch.write("s.csv", text: drivenSeriesCSV(rows: 100, seed: 23))
        let long = runCLI(["train", "--csv", path, "--column", "y", "--horizon", "20", "--seq-len", "5", "--out", scratch.file("a")])
        #expect(long.errors == "rnnkit: error: --horizon 20 needs at least 20 validation values, but --val-fraction 0.1 holds out 10 of column 'y'; raise --val-fraction or lower --horizon\n")
        let absent = runCLI(["train", "--csv", path, "--column", "y", "--input-columns", "x,z", "--out", scratch.file("b")])
        #expect(absent.status == CommandLineRunner.dataErrorStatus)
        #expect(absent.errors == "rnnkit: error: CSV file '\(path)' has no column 'z'; its columns are 't', 'x', 'y'\n")
        #expect(scratch.contents() == ["s.csv"])
    }
}
