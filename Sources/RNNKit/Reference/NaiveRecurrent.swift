// The slow, obviously correct forward pass: one sequence at a time, one gate at a
// time, plain loops for every matrix-vector product, no fusion, no workspace.
// It exists to be read and to be the oracle the tests hold the fused path equal to.

/// A naive forward pass with exactly the semantics of ``RecurrentNetwork``.
enum NaiveRecurrentReference {
    /// `W · v` for a row-major `W` of `[rows, columns]` starting at `offset` in `parameters`.
    private static func matrixVector<Scalar: RNNScalar>(
        _ parameters: [Scalar], offset: Int, rows: Int, columns: Int, _ v: [Scalar]
    ) -> [Scalar] {
        (0..<rows).map { r in
            (0..<columns).reduce(Scalar(0)) { sum, k in sum + parameters[offset + r * columns + k] * v[k] }
        }
    }

    /// Runs `parameters` (laid out by ``ParameterLayout``) over a time-major input `[T, B, I]`.
    static func forward<Scalar: RNNScalar>(
        configuration c: RecurrentConfiguration, parameters: [Scalar],
        input: [Scalar], steps T: Int, batch B: Int, lengths: [Int]?,
        initialHidden: [Scalar]?, initialCell: [Scalar]?
    ) -> RecurrentOutput<Scalar> {
        let layout = ParameterLayout(c)
        let H = c.hiddenSize, D = c.directionCount
        var layerInput = input           // [T, B, I_k]
        var finalHidden = [Scalar](repeating: 0, count: c.numLayers * D * B * H)
        var finalCell = [Scalar](repeating: 0, count: c.numLayers * D * B * H)
        for layer in 0..<c.numLayers {
            let I = c.layerInputSize(layer)
            var layerOutput = [Scalar](repeating: 0, count: T * B * D * H)
            for direction in 0..<D {
                let g = layout.group(layer: layer, direction: direction, directionCount: D)
                let (wih, whh, bih, bhh) = (g[g.startIndex].offset, g[g.startIndex + 1].offset,
                                            g[g.startIndex + 2].offset, g[g.startIndex + 3].offset)
                let stateIndex = (layer * D + direction) * B * H
                for b in 0..<B {
                    let length = lengths?[b] ?? T
                    var h = initialHidden.map { Array($0[stateIndex + b * H..<stateIndex + (b + 1) * H]) }
                        ?? [Scalar](repeating: 0, count: H)
                    var cell = initialCell.map { Array($0[stateIndex + b * H..<stateIndex + (b + 1) * H]) }
                        ?? [Scalar](repeating: 0, count: H)
                    let times = direction == 0 ? Array(0..<length) : Array((0..<length).reversed())
                    for t in times {
                        let x = Array(layerInput[(t * B + b) * I..<(t * B + b + 1) * I])
                        let gx = matrixVector(parameters, offset: wih, rows: c.cell.gateCount * H, columns: I, x)
                        let gh = matrixVector(parameters, offset: whh, rows: c.cell.gateCount * H, columns: H, h)
                        // Gate k, unit j: input part and hidden part, each with its own bias.
                        func xPart(_ k: Int, _ j: Int) -> Scalar { gx[k * H + j] + parameters[bih + k * H + j] }
                        func hPart(_ k: Int, _ j: Int) -> Scalar { gh[k * H + j] + parameters[bhh + k * H + j] }
                        var next = h
                        for j in 0..<H {
                            switch c.cell {
                            case .rnnTanh:
                                next[j] = Scalar.hyperbolicTangent(xPart(0, j) + hPart(0, j))
                            case .rnnRelu:
                                next[j] = max(0, xPart(0, j) + hPart(0, j))
                            case .lstm:
                                let inputGate = Scalar.sigmoid(xPart(0, j) + hPart(0, j))
                                let forgetGate = Scalar.sigmoid(xPart(1, j) + hPart(1, j))
                                let candidate = Scalar.hyperbolicTangent(xPart(2, j) + hPart(2, j))
                                let outputGate = Scalar.sigmoid(xPart(3, j) + hPart(3, j))
                                cell[j] = forgetGate * cell[j] + inputGate * candidate
                                next[j] = outputGate * Scalar.hyperbolicTangent(cell[j])
                            case .gru:
                                let reset = Scalar.sigmoid(xPart(0, j) + hPart(0, j))
                                let update = Scalar.sigmoid(xPart(1, j) + hPart(1, j))
                                let candidate = Scalar.hyperbolicTangent(xPart(2, j) + reset * hPart(2, j))
                                next[j] = (1 - update) * candidate + update * h[j]
                            }
                        }
                        h = next
                        for j in 0..<H { layerOutput[(t * B + b) * D * H + direction * H + j] = h[j] }
                    }
                    for j in 0..<H {
                        finalHidden[stateIndex + b * H + j] = h[j]
                        finalCell[stateIndex + b * H + j] = cell[j]
                    }
                }
            }
            layerInput = layerOutput
        }
        return RecurrentOutput(output: layerInput, finalHidden: finalHidden,
                               finalCell: c.cell.hasCellState ? finalCell : nil)
    }
}
