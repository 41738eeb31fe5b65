// Reader for the reference fixtures under Tests/RNNKitTests/Fixtures (written by
// scripts/make-fixtures.py, which documents the format). A file looks like:
//
//   rnnkit-fixture 1
//   config cell=lstm input=3 hidden=4 layers=2 bidirectional=1 steps=5 batch=3 batch_first=0
//   tensor weight_ih_l0 48
//   <48 values separated by single spaces>
//   ...
//   end

import Foundation
import RNNKit

/// A parse error that names the file, the line and what was expected there.
struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

/// One fixture file: a `config` line of `key=value` pairs and named, flattened tensors in file order.
struct FixtureFile: Sendable {
    /// One named tensor, flattened row-major in PyTorch's layout.
    struct Tensor: Sendable {
        /// The tensor's name: a `state_dict` key, `x`, `y`, `h_n`, `grad.<parameter>`, ...
        let name: String
        /// The values as written (`%.9g` round-trips every Float exactly through Double).
        let values: [Double]
    }

    /// The file name, for messages (`lstm_l2_bi_packed.txt`).
    let name: String
    /// The `key=value` pairs of the `config` line.
    let config: [String: String]
    /// All tensors, in the order the file lists them.
    let tensors: [Tensor]
    private let indexByName: [String: Int]

    /// The folder holding the fixture tree, copied into the test bundle as a resource.
    static var fixturesDirectory: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    }

    /// The `.txt` files of one fixture subfolder (for example `recurrent`), sorted by name;
    /// empty if the folder is missing.
    static func fileNames(in subfolder: String) -> [String] {
        let directory = fixturesDirectory.appendingPathComponent(subfolder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") && $0 != "README.txt" }.sorted()
    }

    /// Loads `Fixtures/<subfolder>/<fileName>` from the test bundle.
    init(subfolder: String, fileName: String) throws {
        let url = Self.fixturesDirectory.appendingPathComponent(subfolder).appendingPathComponent(fileName)
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw FixtureError(description: "cannot read fixture \(url.path): \(error)")
        }
        try self.init(name: fileName, text: text)
    }

    /// Parses the text of a fixture file; `name` is used in error messages.
    init(name: String, text: String) throws {
        self.name = name
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func fail(_ line: Int, _ what: String) -> FixtureError {
            FixtureError(description: "\(name):\(line + 1): \(what)")
        }
        guard lines.first == "rnnkit-fixture 1" else {
            throw fail(0, "expected header 'rnnkit-fixture 1', got '\(lines.first ?? "")'")
        }
        guard lines.count > 1, lines[1].hasPrefix("config ") else {
            throw fail(1, "expected a 'config key=value ...' line")
        }
        var config: [String: String] = [:]
        for pair in lines[1].split(separator: " ").dropFirst() {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw fail(1, "expected key=value, got '\(pair)'") }
            config[String(parts[0])] = String(parts[1])
        }

        var tensors: [Tensor] = []
        var line = 2
        var sawEnd = false
        while line < lines.count {
            let header = lines[line].split(separator: " ")
            if header == ["end"] { sawEnd = true; break }
            guard header.count == 3, header[0] == "tensor", let count = Int(header[2]), count >= 0 else {
                throw fail(line, "expected 'tensor <name> <count>' or 'end', got '\(lines[line])'")
            }
            guard line + 1 < lines.count else { throw fail(line, "tensor \(header[1]) has no value line") }
            let tokens = lines[line + 1].split(separator: " ")
            var values: [Double] = []
            values.reserveCapacity(tokens.count)
            for token in tokens {
                guard let value = Double(token) else {
                    throw fail(line + 1, "tensor \(header[1]): '\(token)' is not a number")
                }
                values.append(value)
            }
            guard values.count == count else {
                throw fail(line + 1, "tensor \(header[1]): expected \(count) values, got \(values.count)")
            }
            tensors.append(Tensor(name: String(header[1]), values: values))
            line += 2
        }
        guard sawEnd else { throw fail(lines.count - 1, "missing final 'end' line (truncated file?)") }

        var indexByName: [String: Int] = [:]
        for (index, tensor) in tensors.enumerated() {
            guard indexByName.updateValue(index, forKey: tensor.name) == nil else {
                throw FixtureError(description: "\(name): tensor \(tensor.name) appears twice")
            }
        }
        self.config = config
        self.tensors = tensors
        self.indexByName = indexByName
    }

    /// Whether the file has a tensor called `name`.
    func has(_ name: String) -> Bool { indexByName[name] != nil }

    /// Tensor `name` converted to `Scalar`, or `nil` if the file does not have it.
    func optionalTensor<Scalar: BinaryFloatingPoint>(_ name: String, as _: Scalar.Type = Scalar.self) -> [Scalar]? {
        indexByName[name].map { tensors[$0].values.map { Scalar($0) } }
    }

    /// Tensor `name` converted to `Scalar`.
    /// - Throws: if the file has no such tensor.
    func tensor<Scalar: BinaryFloatingPoint>(_ name: String, as _: Scalar.Type = Scalar.self) throws -> [Scalar] {
        guard let values: [Scalar] = optionalTensor(name) else {
            throw FixtureError(description: "\(self.name): no tensor '\(name)'; has \(tensors.map(\.name).joined(separator: ", "))")
        }
        return values
    }

    /// Tensor `name` as integers (for `lengths`), or `nil` if absent.
    /// - Throws: if a value is not a whole number.
    func integers(_ name: String) throws -> [Int]? {
        guard let values: [Double] = optionalTensor(name) else { return nil }
        return try values.map { value in
            guard let integer = Int(exactly: value) else {
                throw FixtureError(description: "\(self.name): tensor \(name) holds \(value), expected integers")
            }
            return integer
        }
    }

    /// The `config` value `key` as an integer.
    /// - Throws: if the key is missing or not an integer.
    func configInteger(_ key: String) throws -> Int {
        guard let text = config[key], let value = Int(text) else {
            throw FixtureError(description: "\(name): config needs integer '\(key)', has \(config)")
        }
        return value
    }

    /// The recurrent configuration described by the `config` line
    /// (`cell`, `input`, `hidden`, `layers`, `bidirectional`, `batch_first`).
    func recurrentConfiguration() throws -> RecurrentConfiguration {
        guard let cellName = config["cell"], let cell = CellKind(name: cellName) else {
            throw FixtureError(description: "\(name): config needs a known 'cell', has '\(config["cell"] ?? "")'")
        }
        return RecurrentConfiguration(
            cell: cell, inputSize: try configInteger("input"), hiddenSize: try configInteger("hidden"),
            numLayers: try configInteger("layers"), bidirectional: try configInteger("bidirectional") != 0,
            batchFirst: try configInteger("batch_first") != 0, peepholes: config["peepholes"] == "1",
            projectionSize: config["proj"] == nil ? 0 : try configInteger("proj"),
            layerNorm: config["layer_norm"] == "1")
    }
}
