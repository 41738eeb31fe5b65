import RNNKit

// The Swift example in README.md is the body of this function, line for line;
// ReadmeExampleTests checks that the two agree and runs it.
func readmeExample() throws -> (output: [Float], inputGradient: [Float]) {
    // BEGIN README EXAMPLE
    // A 2-layer bidirectional LSTM: 8 input features, 16 hidden, PyTorch's parameter names.
    let lstm = try RecurrentNetwork<Float>(
        RecurrentConfiguration(cell: .lstm, inputSize: 8, hiddenSize: 16, numLayers: 2, bidirectional: true),
        seed: 42)

    // A batch of 3 sequences padded to T = 5 steps, time-major [T, B, I], with their true lengths.
    let (steps, batch) = (5, 3)
    let input = (0..<steps * batch * 8).map { Float(($0 * 37) % 11) / 11 - 0.5 }
    let result = try lstm.forward(input, steps: steps, batch: batch, lengths: [5, 2, 4])
    // result.output: [T, B, 2·16] (zero past each length); result.finalHidden, result.finalCell: [2·2, B, 16]

    // Backward from a loss gradient with respect to the outputs; parameter gradients accumulate.
    lstm.zeroGradients()
    let outputGradient = result.output.map { 2 * $0 }   // ∂(Σ y²)/∂y
    let gradients = try lstm.backward(outputGradient: outputGradient)
    print("∂L/∂weight_hh_l1_reverse[0] =", try lstm.gradient(named: "weight_hh_l1_reverse")[0])
    // END README EXAMPLE
    return (result.output, gradients.input)
}
