// RNNKit against ONNX Runtime for the cell variants PyTorch does not have: every fixture under
// Fixtures/onnx holds a network's parameters (RNNKit's names and order), inputs and the outputs
// of ONNX Runtime's GRU (`linear_before_reset = 0`) and LSTM (with peepholes `P`) nodes, one per
// layer. The generating script is scripts/make-onnx-fixtures.py, which also writes down the gate
// order and layout mapping (docs/file-format.md has it too). ONNX Runtime has no backward; the
// gradients of these cells are held to finite differences (GradientCheckTests) and the naive
// reference (CoreLayerTests).

import Testing
import RNNKit

private let onnxFixtureNames = FixtureFile.fileNames(in: "onnx")

@Suite("ONNX Runtime reference fixtures")
struct ONNXRuntimeReferenceTests {
    @Test("the fixture folder holds both variants × layers × directions × lengths")
    func fixturesArePresent() {
        #expect(onnxFixtureNames.count == 16, "found \(onnxFixtureNames)")
        #expect(onnxFixtureNames.filter { $0.hasPrefix("gru_reset_before_") }.count == 8)
        #expect(onnxFixtureNames.filter { $0.hasPrefix("lstm_peephole_") }.count == 8)
    }

    @Test("forward matches ONNX Runtime in Float, training and inference", arguments: onnxFixtureNames)
    func matchesFloat(fileName: String) throws {
        try compare(Float.self, fileName: fileName)
    }

    @Test("forward matches ONNX Runtime in Double", arguments: onnxFixtureNames)
    func matchesDouble(fileName: String) throws {
        try compare(Double.self, fileName: fileName)
    }

    private func compare<Scalar: RNNScalar>(_: Scalar.Type, fileName: String) throws {
        let fixture = try FixtureFile(subfolder: "onnx", fileName: fileName)
        let configuration = try fixture.recurrentConfiguration()
        #expect(configuration.cell == .gruResetBefore || configuration.peepholes, "\(fileName) is a variant")
        let steps = try fixture.configInteger("steps"), batch = try fixture.configInteger("batch")
        let network = try RecurrentNetwork<Scalar>(configuration)
        let fileParameters = fixture.tensors.map(\.name).filter { $0.hasPrefix("weight_") || $0.hasPrefix("bias_") }
        #expect(network.parameterNames == fileParameters)
        for name in network.parameterNames {
            try network.setParameter(named: name, to: try fixture.tensor(name, as: Scalar.self))
        }
        let lengths = try fixture.integers("lengths")
        let h0: [Scalar]? = fixture.optionalTensor("h0")
        let c0: [Scalar]? = fixture.optionalTensor("c0")
        let input: [Scalar] = try fixture.tensor("x")
        for training in [true, false] {
            network.isTraining = training
            let label = "\(fileName) [\(Scalar.self), \(training ? "training" : "inference")]"
            let result = try network.forward(input, steps: steps, batch: batch, lengths: lengths,
                                             initialHidden: h0, initialCell: c0)
            checkTensor("\(label) y", actual: result.output, expected: try fixture.tensor("y"))
            checkTensor("\(label) h_n", actual: result.finalHidden, expected: try fixture.tensor("h_n"))
            if configuration.cell.hasCellState {
                checkTensor("\(label) c_n", actual: try #require(result.finalCell), expected: try fixture.tensor("c_n"))
            }
        }
    }
}
