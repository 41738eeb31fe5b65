import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import RNNKitCLI

@Suite("Run directory files")
struct RunFilesTests {
    static let records = [
        MetricsRecord(step: 50, trainLoss: 3.5, validationLoss: nil, throughput: 12000.04, elapsedSeconds: 1.5),
        MetricsRecord(step: 100, trainLoss: 2.75, validationLoss: 2.9, throughput: 13000, elapsedSeconds: 3.25),
        MetricsRecord(step: 150, trainLoss: 2.125, validationLoss: 2.5, throughput: 12500.5, elapsedSeconds: 5),
    ]

    @Test("metrics.csv has the documented header and rows, and reads back")
    func metricsCSV() throws {
        var log = MetricsLog(throughputColumn: "tokens_per_second")
        log.records = Self.records
        let text = log.csvText()
        #expect(text == """
            step,train_loss,val_loss,tokens_per_second,elapsed_seconds
            50,3.500000,,12000.0,1.50
            100,2.750000,2.900000,13000.0,3.25
            150,2.125000,2.500000,12500.5,5.00

            """)
        let read = try MetricsLog(csvText: text, source: "metrics.csv")
        #expect(read.throughputColumn == "tokens_per_second")
        #expect(read.records.map(\.step) == [50, 100, 150])
        #expect(read.records.map(\.validationLoss) == [nil, 2.9, 2.5])
        #expect(throws: CLIError.self) { try MetricsLog(csvText: "a,b\n1,2\n", source: "m.csv") }
    }

    @Test("loss.svg is well-formed XML with axes, ticks, both curves and a legend")
    func lossPlot() throws {
        let svg = LossPlot(title: "char-lm <lstm> & more", yLabel: "loss (nats/char)").svg(for: Self.records)
        let document = try XMLDocument(xmlString: svg)
        let root = try #require(document.rootElement())
        #expect(root.name == "svg")
        #expect(root.value(of: "viewBox") == "0 0 760.0 440.0")
        let polylines = try root.nodes(forXPath: "//*[local-name()='polyline']").compactMap { $0 as? XMLElement }
        #expect(polylines.map { $0.value(of: "id") } == ["train-loss", "validation-loss"])
        // Three training points and two validation points.
        #expect(polylines[0].value(of: "points")?.split(separator: " ").count == 3)
        #expect(polylines[1].value(of: "points")?.split(separator: " ").count == 2)
        let texts = try root.nodes(forXPath: "//*[local-name()='text']").compactMap(\.stringValue)
        #expect(texts.contains("char-lm <lstm> & more"))  // escaped in the file, intact after parsing
        #expect(texts.contains("step"))
        #expect(texts.contains("loss (nats/char)"))
        #expect(texts.contains("training loss  (2.1250)"))
        #expect(texts.contains("validation loss  (2.5000)"))
        // x ticks 0…150 every 25 steps, y ticks 2.0…3.5 every 0.5.
        #expect(texts.contains("0") && texts.contains("150"))
        #expect(texts.contains("2.0") && texts.contains("3.5"))
        // The training curve falls: its y coordinates (downwards in SVG) increase.
        let ys = polylines[0].value(of: "points")!.split(separator: " ")
            .map { Double($0.split(separator: ",")[1])! }
        #expect(ys == ys.sorted())
    }

    @Test("an empty metrics log still plots axes without curves")
    func emptyPlot() throws {
        let svg = LossPlot(title: "t", yLabel: "y").svg(for: [])
        let document = try XMLDocument(xmlString: svg)
        #expect(try document.nodes(forXPath: "//*[local-name()='polyline']").isEmpty)
        #expect(try document.nodes(forXPath: "//*[local-name()='line']").count > 4)
    }

    @Test("nice ticks step by 1, 2 or 5 times a power of ten and cover the range")
    func ticks() {
        #expect(niceTicks(from: 0, to: 1500) == [0, 500, 1000, 1500])
        #expect(niceTicks(from: 1.37, to: 4.2) == [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5])
        #expect(niceTicks(from: 0, to: 7) == [0, 2, 4, 6, 8])
    }

    @Test("atomic writes replace the file whole and leave no temporary file")
    func atomicWrite() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("config.json")
        try writeAtomically("first", to: path)
        try writeAtomically("second, longer", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second, longer")
        #expect(scratch.contents() == ["config.json"])
        #expect(throws: CLIError.self) { try writeAtomically("x", to: scratch.file("missing/dir/file")) }
    }

    @Test("a run directory that holds a run is never overwritten")
    func noClobber() throws {
        let scratch = ScratchDirectory()
        _ = try RunDirectory.createNew(at: scratch.file("new/nested"))
        #expect(FileManager.default.fileExists(atPath: scratch.file("new/nested")))
        scratch.write("taken/config.json", bytes: [])
        try? FileManager.default.createDirectory(atPath: scratch.file("taken"), withIntermediateDirectories: true)
        scratch.write("taken/config.json", text: "{}")
        let taken = scratch.file("taken")
        #expect(throws: CLIError("'\(taken)' already holds a run; continue it with --resume \(taken), or pass a new --out directory")) {
            try RunDirectory.createNew(at: taken)
        }
        scratch.write("file", text: "x")
        #expect(throws: CLIError.self) { try RunDirectory.createNew(at: scratch.file("file")) }
    }

    @Test("config.json of another format or a newer version is refused with the version")
    func incompatibleVersion() throws {
        let scratch = ScratchDirectory()
        let run = scratch.file("run")
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        scratch.write("run/config.json", text: #"{"format": "rnnkit-run", "format_version": 2, "rnnkit_version": "9.0.0"}"#)
        #expect(throws: CLIError("'\(run)' was written in run format 2 (rnnkit 9.0.0); this rnnkit \(cliVersion) reads run format 1 only")) {
            try RunDirectory(path: run).readConfiguration(option: "--model")
        }
        scratch.write("run/config.json", text: #"{"format": "something-else"}"#)
        #expect(throws: CLIError.self) { try RunDirectory(path: run).readConfiguration(option: "--model") }
        scratch.write("run/config.json", text: #"{"format": "rnnkit-run", "format_version": 1, "rnnkit_version": "0.1.0"}"#)
        #expect(throws: CLIError("\(run)/config.json is incomplete or malformed: missing key task")) {
            try RunDirectory(path: run).readConfiguration(option: "--model")
        }
    }

    @Test("durations and rates are printed compactly")
    func formatting() {
        #expect(clock(0) == "0:00")
        #expect(clock(125.4) == "2:05")
        #expect(clock(3725) == "1:02:05")
        #expect(clock(.nan) == "–:––")
        #expect(compact(950) == "950")
        #expect(compact(21_340) == "21.3k")
        #expect(grouped(1_234_567) == "1,234,567")
    }
}

extension XMLElement {
    /// The value of the attribute `name` (FoundationXML's `attribute(forName:)` misses attributes
    /// of elements in a default namespace, as SVG's are).
    func value(of name: String) -> String? {
        attributes?.first { $0.name == name }?.stringValue
    }
}
