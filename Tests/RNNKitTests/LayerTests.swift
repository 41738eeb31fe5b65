// Linear, Embedding and Dropout: naive references, finite-difference gradient checks in Double,
// and the statistics and determinism of the seeded initialisation and masks.

import Testing
import RNNKit

/// Central differences of `f` with respect to every element of `x`.
private func centralDifferences(_ x: [Double], step h: Double = 1e-6, _ f: ([Double]) throws -> Double) rethrows -> [Double] {
    var probe = x
    return try x.indices.map { i in
        probe[i] = x[i] + h
        let up = try f(probe)
        probe[i] = x[i] - h
        let down = try f(probe)
        probe[i] = x[i]
        return (up - down) / (2 * h)
    }
}

private func largestDifference(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

private func gaussians(_ count: Int, seed: UInt64) -> [Double] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in generator.nextGaussian() }
}

@Suite("Linear layer")
struct LinearLayerTests {
    @Test("forward equals the naive x·Wᵀ + b, with and without bias", arguments: [true, false])
    func forwardMatchesNaive(hasBias: Bool) throws {
        let (N, I, O) = (5, 4, 3)
        let layer = try Linear<Double>(inputSize: I, outputSize: O, bias: hasBias, seed: 2)
        let x = gaussians(N * I, seed: 1)
        let y = try layer.forward(x, rows: N)
        let w = layer.weight, b = layer.bias ?? [Double](repeating: 0, count: O)
        #expect(layer.parameters.count == O * I + (hasBias ? O : 0))
        for n in 0..<N {
            for o in 0..<O {
                var expected = b[o]
                for i in 0..<I { expected += x[n * I + i] * w[o * I + i] }
                #expect(abs(y[n * O + o] - expected) < 1e-12)
            }
        }
    }

    @Test("initialisation is seeded U(−1/√I, 1/√I), like nn.Linear")
    func initialisation() throws {
        let layer = try Linear<Float>(inputSize: 16, outputSize: 64, seed: 9)
        let bound: Float = 0.25
        #expect(layer.parameters.allSatisfy { abs($0) <= bound })
        #expect(layer.parameters.max()! > 0.2 && layer.parameters.min()! < -0.2)
        #expect(try Linear<Float>(inputSize: 16, outputSize: 64, seed: 9).parameters == layer.parameters)
        #expect(try Linear<Float>(inputSize: 16, outputSize: 64, seed: 10).parameters != layer.parameters)
        #expect(layer.parameterNames == ["weight", "bias"])
    }

    @Test("backward agrees with finite differences for x, W and b")
    func finiteDifferences() throws {
        let (N, I, O) = (4, 3, 5)
        let layer = try Linear<Double>(inputSize: I, outputSize: O, seed: 4)
        let x = gaussians(N * I, seed: 5)
        let weights = gaussians(N * O, seed: 6)          // loss = Σ weights ⊙ y, so ∂loss/∂y = weights
        func loss(_ input: [Double]) throws -> Double {
            zip(try layer.forward(input, rows: N), weights).map(*).reduce(0, +)
        }
        let dX = try layer.backward(outputGradient: weights, input: x, rows: N)
        #expect(largestDifference(dX, try centralDifferences(x, loss)) < 1e-8)

        let original = layer.parameters
        let numericParameters = try centralDifferences(original) { p in
            layer.parameters = p
            return try loss(x)
        }
        layer.parameters = original
        #expect(largestDifference(layer.gradients, numericParameters) < 1e-8)
    }

    @Test("backward adds into the gradients; zeroGradients clears them")
    func accumulates() throws {
        let layer = try Linear<Double>(inputSize: 2, outputSize: 2)
        let x: [Double] = [1, 2, 3, 4], dY: [Double] = [1, 0, 0, 1]
        _ = try layer.backward(outputGradient: dY, input: x, rows: 2)
        let once = layer.gradients
        #expect(once == [1, 2, 3, 4, 1, 1])     // dW = dYᵀ·X, db = Σ rows dY
        _ = try layer.backward(outputGradient: dY, input: x, rows: 2)
        #expect(layer.gradients == once.map { 2 * $0 })
        layer.zeroGradients()
        #expect(layer.gradients.allSatisfy { $0 == 0 })
    }

    @Test("wrong sizes and unknown names are rejected with a clear error")
    func rejectsBadInput() throws {
        let layer = try Linear<Float>(inputSize: 3, outputSize: 2)
        let error = try #require(throws: RNNKitError.self) { try layer.forward([1, 2, 3, 4], rows: 2) }
        #expect(error.message.contains("expected input [N, I] = [2, 3] with 6 elements, got 4"))
        #expect(throws: RNNKitError.self) { try layer.setParameter(named: "weight_ih", to: [Float]()) }
        #expect(throws: RNNKitError.self) { try layer.setParameter(named: "bias", to: [Float(1)]) }
        try layer.setParameter(named: "bias", to: [Float(1), 2])
        #expect(layer.bias == [1, 2])
        #expect(throws: RNNKitError.self) { try Linear<Float>(inputSize: 0, outputSize: 2) }
    }
}

@Suite("Embedding layer")
struct EmbeddingLayerTests {
    @Test("forward copies the rows of the ids")
    func forwardCopiesRows() throws {
        let table = try Embedding<Float>(count: 6, dimension: 3, seed: 1)
        let ids = [5, 0, 5, 2]
        let y = try table.forward(ids)
        for (n, id) in ids.enumerated() {
            #expect(Array(y[n * 3..<(n + 1) * 3]) == Array(table.parameters[id * 3..<(id + 1) * 3]))
            #expect(try table.vector(of: id) == Array(y[n * 3..<(n + 1) * 3]))
        }
    }

    @Test("initialisation is seeded N(0, 1), like nn.Embedding; the padding row is zero")
    func initialisation() throws {
        let table = try Embedding<Double>(count: 400, dimension: 50, paddingIndex: 7, seed: 3)
        let n = Double(table.parameters.count)
        let mean = table.parameters.reduce(0, +) / n
        let variance = table.parameters.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.05, "mean \(mean), variance \(variance)")
        #expect(try table.vector(of: 7).allSatisfy { $0 == 0 })
        #expect(try Embedding<Double>(count: 400, dimension: 50, paddingIndex: 7, seed: 3).parameters == table.parameters)
    }

    @Test("backward accumulates repeated ids and agrees with finite differences")
    func finiteDifferences() throws {
        let table = try Embedding<Double>(count: 5, dimension: 3, seed: 2)
        let ids = [1, 4, 1, 0, 1]
        let weights = gaussians(ids.count * 3, seed: 8)   // loss = Σ weights ⊙ y
        try table.backward(outputGradient: weights, ids: ids)
        let original = table.parameters
        let numeric = try centralDifferences(original) { p in
            table.parameters = p
            return zip(try table.forward(ids), weights).map(*).reduce(0, +)
        }
        table.parameters = original
        #expect(largestDifference(table.gradients, numeric) < 1e-8)
        #expect(table.gradients[2 * 3..<3 * 3].allSatisfy { $0 == 0 }, "id 2 was never looked up")
    }

    @Test("the padding row receives no gradient")
    func paddingGetsNoGradient() throws {
        let table = try Embedding<Float>(count: 4, dimension: 2, paddingIndex: 0)
        try table.backward(outputGradient: [1, 1, 2, 2], ids: [0, 3])
        #expect(table.gradients == [0, 0, 0, 0, 0, 0, 2, 2])
    }

    @Test("ids out of range are rejected with a clear error")
    func rejectsBadIds() throws {
        let table = try Embedding<Float>(count: 4, dimension: 2)
        let error = try #require(throws: RNNKitError.self) { try table.forward([0, 3, 4]) }
        #expect(error.message.contains("token id 4 at position 2 is out of range; expected 0..<4"))
        #expect(throws: RNNKitError.self) { try table.backward(outputGradient: [1, 1], ids: [-1]) }
        #expect(table.gradients.allSatisfy { $0 == 0 })
        #expect(throws: RNNKitError.self) { try Embedding<Float>(count: 4, dimension: 2, paddingIndex: 4) }
    }
}

@Suite("Dropout layer")
struct DropoutLayerTests {
    @Test("drops a fraction close to p and scales survivors by 1/(1 − p)", arguments: [0.1, 0.5, 0.8])
    func dropRate(p: Double) throws {
        let dropout = try Dropout<Double>(probability: p, seed: 42)
        let n = 100_000
        let input = (0..<n).map { Double($0 % 7) + 1 }
        let output = dropout.forward(input)
        let dropped = output.filter { $0 == 0 }.count
        // The binomial standard deviation is at most 0.0016 here; 0.01 is over six of them.
        #expect(abs(Double(dropped) / Double(n) - p) < 0.01, "dropped \(dropped) of \(n)")
        for i in 0..<n where output[i] != 0 {
            #expect(abs(output[i] - input[i] / (1 - p)) < 1e-12)
        }
    }

    @Test("the same seed gives the same masks; backward applies the forward's mask")
    func seededAndBackward() throws {
        let a = try Dropout<Float>(probability: 0.3, seed: 7)
        let b = try Dropout<Float>(probability: 0.3, seed: 7)
        let input = [Float](repeating: 1, count: 64)
        let first = a.forward(input)
        #expect(first == b.forward(input))
        #expect(a.forward(input) != first, "the stream advances between calls")
        let gradient = try a.backward([Float](repeating: 2, count: 64))
        #expect(gradient == a.mask.map { 2 * $0 })
        #expect(throws: RNNKitError.self) { try a.backward([1, 2, 3]) }
        let other = try Dropout<Float>(probability: 0.3, seed: 8)
        #expect(other.forward(input) != first)
    }

    @Test("inference, p = 0 and p = 1 behave like PyTorch")
    func edgeCases() throws {
        let input: [Double] = [1, -2, 3, 4]
        let inference = try Dropout<Double>(probability: 0.5)
        inference.isTraining = false
        let state = inference.generator
        #expect(inference.forward(input) == input)
        #expect(try inference.backward(input) == input)
        #expect(inference.generator == state, "inference draws no random numbers")
        #expect(try Dropout<Double>(probability: 0).forward(input) == input)
        #expect(try Dropout<Double>(probability: 1).forward(input) == [0, 0, 0, 0])
        #expect(throws: RNNKitError.self) { try Dropout<Double>(probability: 1.5) }
    }
}
