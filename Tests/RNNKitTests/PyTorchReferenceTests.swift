// RNNKit against PyTorch: every fixture under Fixtures/recurrent holds a network's parameters,
// inputs, outputs and gradients as computed by nn.RNN / nn.LSTM / nn.GRU in float32.
// The generating script is scripts/make-fixtures.py; regenerate with
//   /work/venv/bin/python scripts/make-fixtures.py
// Per tensor the tolerance is max |rnnkit − torch| ≤ 1e-5 · max(1, max |torch|).

import Testing
import RNNKit

/// The recurrent fixtures, by file name (for example `lstm_l2_bi_packed.txt`).
private let recurrentFixtureNames = FixtureFile.fileNames(in: "recurrent")

/// The layer-normalised LSTM's fixtures (scripts/make-layer-norm-fixtures.py: PyTorch autograd
/// on the equations, since PyTorch has no such module).
private let layerNormFixtureNames = FixtureFile.fileNames(in: "layernorm")

/// Whether a fixture tensor name is a parameter (a `state_dict` key) rather than data or a gradient.
private func isParameterName(_ name: String) -> Bool {
    name.hasPrefix("weight_") || name.hasPrefix("bias_")
}

/// Compares `actual` with the reference `expected` and records one labelled failure with the
/// largest difference and where it is, like llm.c's `check_tensor`. Returns whether it passed.
@discardableResult
func checkTensor<Scalar: BinaryFloatingPoint>(
    _ label: String, actual: [Scalar], expected: [Scalar], relativeTolerance: Double = 1e-5,
    sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
    guard actual.count == expected.count else {
        Issue.record(Comment(rawValue: "\(label): expected \(expected.count) elements, got \(actual.count)"),
                     sourceLocation: sourceLocation)
        return false
    }
    var maxDifference = 0.0, worstIndex = 0, maxMagnitude = 0.0
    for index in expected.indices {
        let reference = Double(expected[index])
        let difference = abs(Double(actual[index]) - reference)
        maxMagnitude = max(maxMagnitude, abs(reference))
        // `!(a <= b)` also catches NaN.
        if !(difference <= maxDifference) { maxDifference = difference; worstIndex = index }
    }
    let tolerance = relativeTolerance * max(1, maxMagnitude)
    let passed = maxDifference <= tolerance
    if !passed {
        let message = "\(label): max |rnnkit − torch| = \(maxDifference) at index \(worstIndex) "
            + "(rnnkit \(actual[worstIndex]), torch \(expected[worstIndex])), tolerance \(tolerance)"
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }
    return passed
}

@Suite("PyTorch reference fixtures")
struct PyTorchReferenceTests {
    @Test("the fixture folder is in the test bundle and holds every case")
    func fixturesArePresent() {
        // 4 cells × 2 layer counts × 2 directions × plain/packed, plus 2 batch-first cases and
        // 3 projected LSTMs.
        #expect(recurrentFixtureNames.count == 37, "found \(recurrentFixtureNames)")
        for name in ["lstm_l2_bi_packed.txt", "gru_l1_uni_plain.txt", "rnn_relu_l2_uni_packed.txt",
                     "lstm_l2_bi_packed_batchfirst.txt", "gru_l1_bi_packed_batchfirst.txt",
                     "lstm_proj2_l1_uni_plain.txt", "lstm_proj3_l2_bi_packed.txt",
                     "lstm_proj3_l2_uni_packed_batchfirst.txt"] {
            #expect(recurrentFixtureNames.contains(name), "missing \(name)")
        }
    }

    @Test("parameter names and order agree with PyTorch's state_dict", arguments: recurrentFixtureNames)
    func parameterNamesMatch(fileName: String) throws {
        let fixture = try FixtureFile(subfolder: "recurrent", fileName: fileName)
        let network = try RecurrentNetwork<Float>(try fixture.recurrentConfiguration())
        let fileParameters = fixture.tensors.map(\.name).filter(isParameterName)
        #expect(network.parameterNames == fileParameters)
        let fileGradients = fixture.tensors.map(\.name).filter { $0.hasPrefix("grad.") }
        #expect(fileGradients == network.parameterNames.map { "grad." + $0 })
        for entry in network.layout.entries {
            let values: [Float] = try fixture.tensor(entry.name)
            #expect(values.count == entry.count, "\(entry.name): shape \(entry.shape)")
        }
    }

    @Test("forward and backward match PyTorch in Float", arguments: recurrentFixtureNames)
    func matchesPyTorchFloat(fileName: String) throws {
        try compareWithPyTorch(Float.self, fileName: fileName)
    }

    @Test("the layer-normalised LSTM's fixture folder holds its three cases")
    func layerNormFixturesArePresent() {
        #expect(layerNormFixtureNames == ["lstm_layernorm_l1_uni_plain.txt", "lstm_layernorm_l2_bi_packed.txt",
                                          "lstm_layernorm_l2_uni_packed_batchfirst.txt"], "found \(layerNormFixtureNames)")
    }

    @Test("the layer-normalised LSTM matches PyTorch autograd on its equations, Float and Double",
          arguments: layerNormFixtureNames)
    func layerNormMatchesPyTorchAutograd(fileName: String) throws {
        let fixture = try FixtureFile(subfolder: "layernorm", fileName: fileName)
        let network = try RecurrentNetwork<Float>(try fixture.recurrentConfiguration())
        #expect(network.parameterNames == fixture.tensors.map(\.name).filter(isParameterName))
        try compareWithPyTorch(Float.self, fileName: fileName, subfolder: "layernorm")
        try compareWithPyTorch(Double.self, fileName: fileName, subfolder: "layernorm")
    }

    // The same float32 references, computed in Double: the difference is float32 rounding
    // in PyTorch, far below the tolerance.
    @Test("forward and backward match PyTorch in Double", arguments: recurrentFixtureNames)
    func matchesPyTorchDouble(fileName: String) throws {
        try compareWithPyTorch(Double.self, fileName: fileName)
    }

    private func compareWithPyTorch<Scalar: RNNScalar>(_: Scalar.Type, fileName: String, subfolder: String = "recurrent") throws {
        let fixture = try FixtureFile(subfolder: subfolder, fileName: fileName)
        let configuration = try fixture.recurrentConfiguration()
        let steps = try fixture.configInteger("steps"), batch = try fixture.configInteger("batch")
        let network = try RecurrentNetwork<Scalar>(configuration)
        for name in network.parameterNames {
            try network.setParameter(named: name, to: try fixture.tensor(name, as: Scalar.self))
        }
        let label = "\(fileName) [\(Scalar.self)]"
        let lengths = try fixture.integers("lengths")
        let h0: [Scalar]? = fixture.optionalTensor("h0")
        let c0: [Scalar]? = fixture.optionalTensor("c0")
        let input: [Scalar] = try fixture.tensor("x")

        let result = try network.forward(
            input, steps: steps, batch: batch, lengths: lengths, initialHidden: h0, initialCell: c0)
        checkTensor("\(label) y", actual: result.output, expected: try fixture.tensor("y"))
        checkTensor("\(label) h_n", actual: result.finalHidden, expected: try fixture.tensor("h_n"))
        if configuration.cell.hasCellState {
            checkTensor("\(label) c_n", actual: try #require(result.finalCell), expected: try fixture.tensor("c_n"))
        } else {
            #expect(result.finalCell == nil)
        }

        let gradients = try network.backward(
            outputGradient: try fixture.tensor("dy"),
            finalHiddenGradient: try fixture.tensor("dh_n"),
            finalCellGradient: fixture.optionalTensor("dc_n"))
        checkTensor("\(label) dx", actual: gradients.input, expected: try fixture.tensor("dx"))
        if fixture.has("dh0") {
            checkTensor("\(label) dh0", actual: gradients.initialHidden, expected: try fixture.tensor("dh0"))
        }
        if fixture.has("dc0") {
            checkTensor("\(label) dc0", actual: try #require(gradients.initialCell), expected: try fixture.tensor("dc0"))
        }
        for name in network.parameterNames {
            checkTensor("\(label) grad.\(name)", actual: try network.gradient(named: name),
                        expected: try fixture.tensor("grad." + name))
        }

        // Inference mode runs on a smaller workspace; it must give the same outputs.
        network.isTraining = false
        let inference = try network.forward(
            input, steps: steps, batch: batch, lengths: lengths, initialHidden: h0, initialCell: c0)
        checkTensor("\(label) y (inference)", actual: inference.output, expected: try fixture.tensor("y"))
        checkTensor("\(label) h_n (inference)", actual: inference.finalHidden, expected: try fixture.tensor("h_n"))
        if configuration.cell.hasCellState {
            checkTensor("\(label) c_n (inference)", actual: try #require(inference.finalCell),
                        expected: try fixture.tensor("c_n"))
        }
    }
}

@Suite("Fixture file parser")
struct FixtureFileTests {
    @Test("parses config and tensors in order")
    func parsesWellFormedText() throws {
        let text = """
            rnnkit-fixture 1
            config cell=gru input=2 hidden=1 layers=1 bidirectional=0 steps=1 batch=1 batch_first=1
            tensor weight_ih_l0 2
            0.5 -1.25e-05
            tensor lengths 1
            1
            end

            """
        let fixture = try FixtureFile(name: "inline", text: text)
        #expect(fixture.tensors.map(\.name) == ["weight_ih_l0", "lengths"])
        #expect(try fixture.tensor("weight_ih_l0", as: Float.self) == [0.5, -1.25e-05])
        #expect(try fixture.integers("lengths") == [1])
        let configuration = try fixture.recurrentConfiguration()
        #expect(configuration == RecurrentConfiguration(cell: .gru, inputSize: 2, hiddenSize: 1, batchFirst: true))
    }

    @Test("rejects a wrong count and a truncated file")
    func rejectsMalformedText() {
        let header = "rnnkit-fixture 1\nconfig cell=lstm\n"
        #expect(throws: FixtureError.self) {
            try FixtureFile(name: "count", text: header + "tensor x 3\n1 2\nend\n")
        }
        #expect(throws: FixtureError.self) {
            try FixtureFile(name: "truncated", text: header + "tensor x 2\n1 2\n")
        }
    }

    @Test("checkTensor fails on a difference above the tolerance")
    func checkTensorCanFail() {
        #expect(checkTensor("equal", actual: [1, 2] as [Float], expected: [1, 2.000001]))
        withKnownIssue {
            #expect(!checkTensor("different", actual: [1, 2] as [Float], expected: [1, 2.001]))
        }
    }
}
