// The slow, obviously correct forward and backward passes: one sequence at a time, one gate at a
// time, plain loops for every matrix-vector product, no fusion, no workspace, no threads.
// They exist to be read and to be the oracle the tests hold the fused path equal to — in Double,
// and for the Float path users run (C kernels, packed weights) within a float32 tolerance.
// The dropout between layers is not modelled: compare networks whose dropout is 0. Recurrent
// dropout is, given its masks: every recurrent product reads m ⊙ h instead of h; so is zoneout,
// given its masks: a unit whose mask is 1 keeps its previous h (or c). A projected LSTM's hidden
// state is h = W_hr m with m = o ⊙ tanh(c): h is R = P wide, c and m are H wide. A
// layer-normalised LSTM normalises W_ih x and W_hh h (each over 4H) and c (over H) before use.

/// Naive forward and backward passes with exactly the semantics of ``RecurrentNetwork``.
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
    /// States are `[L·D, B, R]` (`h`, ``RecurrentConfiguration/stateSize``) and `[L·D, B, H]` (`c`).
    /// `recurrentMasks` `[L·D, B, H]`: the recurrent dropout masks, or `nil` for none.
    /// `zoneoutMasks` `[L·D, T, B, H]` each (1 = keep the previous value), or `nil` for none.
    static func forward<Scalar: RNNScalar>(
        configuration c: RecurrentConfiguration, parameters: [Scalar],
        input: [Scalar], steps T: Int, batch B: Int, lengths: [Int]?,
        initialHidden: [Scalar]?, initialCell: [Scalar]?, recurrentMasks: [Scalar]? = nil,
        zoneoutMasks: (hidden: [Scalar], cell: [Scalar])? = nil
    ) -> RecurrentOutput<Scalar> {
        let run = record(configuration: c, parameters: parameters, input: input, steps: T, batch: B,
                         lengths: lengths, initialHidden: initialHidden, initialCell: initialCell,
                         recurrentMasks: recurrentMasks, zoneoutMasks: zoneoutMasks)
        return RecurrentOutput(output: run.layerInputs.last!, finalHidden: run.finalHidden,
                               finalCell: c.cell.hasCellState ? run.finalCell : nil)
    }

    /// One step of one row, everything backward needs: the step's input and entering state, the
    /// gate activations (LSTM `i, f, g, o`; GRU `r, z, n`; RNN `h'`), GRU's `W_hn h + b_hn` (the
    /// reset-before GRU's `r ⊙ h`), the cell state `c̃` the cell computed (before zoneout), the
    /// projected LSTM's `m = o ⊙ tanh(c)` (`[H]`, empty otherwise), and the zoneout masks of the
    /// step (all 0 without zoneout).
    private struct Step<Scalar: RNNScalar> {
        var time: Int
        /// `hRecurrent`: the operand of the recurrent products, `m ⊙ hPrev` (or `hPrev` without masks).
        var x: [Scalar], hPrev: [Scalar], hRecurrent: [Scalar], cPrev: [Scalar]
        var gates: [Scalar], hiddenN: [Scalar]
        var c: [Scalar]
        var m: [Scalar] = []
        /// Layer normalisation: `ẑ_x`, `ẑ_h` (`[4H]`), `ĉ` (`[H]`), their `r = 1/√(var + ε)`, and
        /// `tanh(α_c ⊙ ĉ + β_c)`; empty otherwise.
        var normalizedInput: [Scalar] = [], normalizedHidden: [Scalar] = [], normalizedCell: [Scalar] = []
        var inverseDeviations: [Scalar] = [], tanhNormalizedCell: [Scalar] = []
        var keepHidden: [Scalar], keepCell: [Scalar]
    }

    /// `(ẑ, r)` with `ẑ = (z − mean z) · r`, `r = 1/√(var z + ε)` (the population variance).
    private static func normalized<Scalar: RNNScalar>(_ z: [Scalar]) -> (values: [Scalar], r: Scalar) {
        let mean = z.reduce(0, +) / Scalar(z.count)
        let variance = z.reduce(Scalar(0)) { $0 + ($1 - mean) * ($1 - mean) } / Scalar(z.count)
        let r = 1 / (variance + Scalar(layerNormEpsilon)).squareRoot()
        return (z.map { ($0 - mean) * r }, r)
    }

    /// `∂z` from `∂ẑ` through `ẑ = (z − mean z) · r`: `r · (∂ẑ − mean ∂ẑ − ẑ · mean(∂ẑ ⊙ ẑ))`.
    private static func normalizedBackward<Scalar: RNNScalar>(_ dNormalized: [Scalar], _ normalized: [Scalar], r: Scalar) -> [Scalar] {
        let n = Scalar(normalized.count)
        let meanGradient = dNormalized.reduce(0, +) / n
        let meanDot = zip(dNormalized, normalized).reduce(Scalar(0)) { $0 + $1.0 * $1.1 } / n
        return zip(dNormalized, normalized).map { r * ($0 - meanGradient - $1 * meanDot) }
    }

    /// `α ⊙ v + β` for the gain and shift at `gain`, `shift` in `parameters`.
    private static func affine<Scalar: RNNScalar>(_ v: [Scalar], _ parameters: [Scalar], gain: Int, shift: Int) -> [Scalar] {
        v.indices.map { parameters[gain + $0] * v[$0] + parameters[shift + $0] }
    }

    /// The offsets of a layer-normalised LSTM's gains and shifts in one layer and direction's
    /// `group`, by site, or `nil` without layer normalisation.
    private static func normOffsets(_ group: ArraySlice<ParameterEntry>) -> [LayerNormSite: (gain: Int, shift: Int)]? {
        guard group.entry(.layerNormGain(.input)) != nil else { return nil }
        var offsets: [LayerNormSite: (gain: Int, shift: Int)] = [:]
        for site in LayerNormSite.allCases {
            offsets[site] = (group.entry(.layerNormGain(site))!.offset, group.entry(.layerNormShift(site))!.offset)
        }
        return offsets
    }

    /// `Wᵀ · v` for a row-major `W` of `[rows, columns]` at `offset`: `[columns]`.
    private static func transposedMatrixVector<Scalar: RNNScalar>(
        _ parameters: [Scalar], offset: Int, rows: Int, columns: Int, _ v: [Scalar]
    ) -> [Scalar] {
        (0..<columns).map { k in
            (0..<rows).reduce(Scalar(0)) { sum, r in sum + parameters[offset + r * columns + k] * v[r] }
        }
    }

    /// The forward, layer by layer, keeping each layer's input (and the top layer's output),
    /// every step of every row, and the final states `[L·D, B, R]` and `[L·D, B, H]`.
    private static func record<Scalar: RNNScalar>(
        configuration c: RecurrentConfiguration, parameters: [Scalar],
        input: [Scalar], steps T: Int, batch B: Int, lengths: [Int]?,
        initialHidden: [Scalar]?, initialCell: [Scalar]?, recurrentMasks: [Scalar]?,
        zoneoutMasks: (hidden: [Scalar], cell: [Scalar])?
    ) -> (layerInputs: [[Scalar]], steps: [[[[Step<Scalar>]]]], finalHidden: [Scalar], finalCell: [Scalar]) {
        let layout = ParameterLayout(c)
        let H = c.hiddenSize, R = c.stateSize, D = c.directionCount, G = c.cell.gateCount
        var layerInputs: [[Scalar]] = [input]                   // L + 1 of [T, B, I_k]; the last is the output
        var recorded: [[[[Step<Scalar>]]]] = []                 // [layer][direction][row][processing step]
        var finalHidden = [Scalar](repeating: 0, count: c.numLayers * D * B * R)   // [L·D, B, R]
        var finalCell = [Scalar](repeating: 0, count: c.numLayers * D * B * H)     // [L·D, B, H]
        for layer in 0..<c.numLayers {
            let I = c.layerInputSize(layer), x = layerInputs[layer]
            var layerOutput = [Scalar](repeating: 0, count: T * B * D * R)
            var layerSteps: [[[Step<Scalar>]]] = []
            for direction in 0..<D {
                let g = layout.group(layer: layer, direction: direction, directionCount: D)
                let (wih, whh, bih, bhh) = (g[g.startIndex].offset, g[g.startIndex + 1].offset,
                                            g[g.startIndex + 2].offset, g[g.startIndex + 3].offset)
                let peephole = g.entry(.peepholeWeight)?.offset, whr = g.entry(.projectionWeight)?.offset
                let norms = normOffsets(g)
                let stateIndex = (layer * D + direction) * B * R, cellIndex = (layer * D + direction) * B * H
                var rows: [[Step<Scalar>]] = []
                for b in 0..<B {
                    let length = lengths?[b] ?? T
                    var h = initialHidden.map { Array($0[stateIndex + b * R..<stateIndex + (b + 1) * R]) }
                        ?? [Scalar](repeating: 0, count: R)
                    var cell = initialCell.map { Array($0[cellIndex + b * H..<cellIndex + (b + 1) * H]) }
                        ?? [Scalar](repeating: 0, count: H)
                    var row: [Step<Scalar>] = []
                    for t in direction == 0 ? Array(0..<length) : Array((0..<length).reversed()) {
                        let xt = Array(x[(t * B + b) * I..<(t * B + b + 1) * I])
                        let hRecurrent = recurrentMasks.map { m in (0..<R).map { h[$0] * m[stateIndex + b * R + $0] } } ?? h
                        var gx = matrixVector(parameters, offset: wih, rows: G * H, columns: I, xt)
                        var gh = matrixVector(parameters, offset: whh, rows: G * H, columns: R, hRecurrent)
                        var normalizedX: (values: [Scalar], r: Scalar) = ([], 0), normalizedH = normalizedX
                        if let norms {
                            // Each product normalised on its own, then its gain and shift.
                            normalizedX = normalized(gx)
                            normalizedH = normalized(gh)
                            gx = affine(normalizedX.values, parameters, gain: norms[.input]!.gain, shift: norms[.input]!.shift)
                            gh = affine(normalizedH.values, parameters, gain: norms[.hidden]!.gain, shift: norms[.hidden]!.shift)
                        }
                        let maskRow = ((layer * D + direction) * T + t) * B * H + b * H
                        let zeros = [Scalar](repeating: 0, count: H)
                        var step = Step<Scalar>(time: t, x: xt, hPrev: h, hRecurrent: hRecurrent, cPrev: cell,
                                                gates: [Scalar](repeating: 0, count: G * H),
                                                hiddenN: [Scalar](repeating: 0, count: H), c: cell,
                                                keepHidden: zoneoutMasks.map { Array($0.hidden[maskRow..<maskRow + H]) } ?? zeros,
                                                keepCell: zoneoutMasks.map { Array($0.cell[maskRow..<maskRow + H]) } ?? zeros)
                        for j in 0..<H {
                            func xPart(_ k: Int) -> Scalar { gx[k * H + j] + parameters[bih + k * H + j] }
                            func hPart(_ k: Int) -> Scalar { gh[k * H + j] + parameters[bhh + k * H + j] }
                            switch c.cell {
                            case .rnnTanh: step.gates[j] = Scalar.hyperbolicTangent(xPart(0) + hPart(0))
                            case .rnnRelu: step.gates[j] = max(0, xPart(0) + hPart(0))
                            case .lstm:
                                // Peephole k (i, f, o) looks at c_{t−1} for i and f, at c_t for o.
                                func look(_ k: Int, _ state: Scalar) -> Scalar {
                                    peephole.map { parameters[$0 + k * H + j] * state } ?? 0
                                }
                                step.gates[j] = Scalar.sigmoid(xPart(0) + hPart(0) + look(0, cell[j]))
                                step.gates[H + j] = Scalar.sigmoid(xPart(1) + hPart(1) + look(1, cell[j]))
                                step.gates[2 * H + j] = Scalar.hyperbolicTangent(xPart(2) + hPart(2))
                                step.c[j] = step.gates[H + j] * cell[j] + step.gates[j] * step.gates[2 * H + j]
                                step.gates[3 * H + j] = Scalar.sigmoid(xPart(3) + hPart(3) + look(2, step.c[j]))
                            case .gruResetBefore:
                                step.gates[j] = Scalar.sigmoid(xPart(0) + hPart(0))
                                step.gates[H + j] = Scalar.sigmoid(xPart(1) + hPart(1))
                                step.hiddenN[j] = step.gates[j] * hRecurrent[j]  // r ⊙ h
                            case .gru:
                                step.gates[j] = Scalar.sigmoid(xPart(0) + hPart(0))
                                step.gates[H + j] = Scalar.sigmoid(xPart(1) + hPart(1))
                                step.hiddenN[j] = hPart(2)
                                step.gates[2 * H + j] = Scalar.hyperbolicTangent(xPart(2) + step.gates[j] * hPart(2))
                            }
                        }
                        if c.cell == .gruResetBefore {
                            // n = tanh(x_n + W_hn (r ⊙ h) + b_hn), once r is known for every unit.
                            let candidate = matrixVector(parameters, offset: whh + 2 * H * H, rows: H, columns: H, step.hiddenN)
                            for j in 0..<H {
                                step.gates[2 * H + j] = Scalar.hyperbolicTangent(
                                    gx[2 * H + j] + parameters[bih + 2 * H + j] + candidate[j] + parameters[bhh + 2 * H + j])
                            }
                        }
                        if let norms {
                            // h = o ⊙ tanh(α_c ⊙ ĉ + β_c)
                            let normalizedC = normalized(step.c)
                            step.normalizedInput = normalizedX.values
                            step.normalizedHidden = normalizedH.values
                            step.normalizedCell = normalizedC.values
                            step.inverseDeviations = [normalizedX.r, normalizedH.r, normalizedC.r]
                            step.tanhNormalizedCell = affine(normalizedC.values, parameters, gain: norms[.cell]!.gain,
                                                             shift: norms[.cell]!.shift).map { Scalar.hyperbolicTangent($0) }
                        }
                        if let whr {
                            // h = W_hr (o ⊙ tanh c)
                            step.m = (0..<H).map { step.gates[3 * H + $0] * Scalar.hyperbolicTangent(step.c[$0]) }
                            h = matrixVector(parameters, offset: whr, rows: R, columns: H, step.m)
                        }
                        for j in 0..<R {
                            switch c.cell {
                            case .rnnTanh, .rnnRelu: h[j] = step.gates[j]
                            case .lstm where norms != nil: h[j] = step.gates[3 * H + j] * step.tanhNormalizedCell[j]
                            case .lstm: if whr == nil { h[j] = step.gates[3 * H + j] * Scalar.hyperbolicTangent(step.c[j]) }
                            case .gru, .gruResetBefore:
                                h[j] = (1 - step.gates[H + j]) * step.gates[2 * H + j] + step.gates[H + j] * step.hPrev[j]
                            }
                            if step.keepHidden[j] != 0 { h[j] = step.hPrev[j] }            // zoneout
                            layerOutput[(t * B + b) * D * R + direction * R + j] = h[j]
                        }
                        cell = (0..<H).map { step.keepCell[$0] != 0 ? step.cPrev[$0] : step.c[$0] }
                        row.append(step)
                    }
                    rows.append(row)
                    for j in 0..<R { finalHidden[stateIndex + b * R + j] = h[j] }
                    for j in 0..<H { finalCell[cellIndex + b * H + j] = cell[j] }
                }
                layerSteps.append(rows)
            }
            recorded.append(layerSteps)
            layerInputs.append(layerOutput)
        }

        return (layerInputs, recorded, finalHidden, finalCell)
    }

    /// The gradients of a forward from `∂L/∂y` (`[T, B, D·R]`, ignored at padded positions) and
    /// `∂L/∂h_n` (`[L·D, B, R]`), `∂L/∂c_n` (`[L·D, B, H]`), or `nil` for zeros: `∂L/∂parameters`
    /// in the parameters' layout, `∂L/∂x` `[T, B, I]`, `∂L/∂h0` `[L·D, B, R]` and `∂L/∂c0` `[L·D, B, H]`.
    static func backward<Scalar: RNNScalar>(
        configuration c: RecurrentConfiguration, parameters: [Scalar],
        input: [Scalar], steps T: Int, batch B: Int, lengths: [Int]?,
        initialHidden: [Scalar]?, initialCell: [Scalar]?,
        outputGradient: [Scalar], finalHiddenGradient: [Scalar]?, finalCellGradient: [Scalar]?,
        recurrentMasks: [Scalar]? = nil, zoneoutMasks: (hidden: [Scalar], cell: [Scalar])? = nil
    ) -> (parameters: [Scalar], input: [Scalar], initialHidden: [Scalar], initialCell: [Scalar]?) {
        let layout = ParameterLayout(c)
        let H = c.hiddenSize, R = c.stateSize, D = c.directionCount, G = c.cell.gateCount
        var dParameters = [Scalar](repeating: 0, count: layout.totalCount)
        var dInitialHidden = [Scalar](repeating: 0, count: c.numLayers * D * B * R)
        var dInitialCell = [Scalar](repeating: 0, count: c.numLayers * D * B * H)

        let run = record(configuration: c, parameters: parameters, input: input, steps: T, batch: B,
                         lengths: lengths, initialHidden: initialHidden, initialCell: initialCell,
                         recurrentMasks: recurrentMasks, zoneoutMasks: zoneoutMasks)
        let recorded = run.steps

        // Backward, top layer first: each layer's ∂x is the ∂y of the layer below.
        var dOutput = outputGradient                                            // [T, B, D·R]
        var dInput: [Scalar] = []
        for layer in stride(from: c.numLayers - 1, through: 0, by: -1) {
            let I = c.layerInputSize(layer)
            dInput = [Scalar](repeating: 0, count: T * B * I)                  // [T, B, I_k]
            for direction in 0..<D {
                let g = layout.group(layer: layer, direction: direction, directionCount: D)
                let (wih, whh, bih, bhh) = (g[g.startIndex].offset, g[g.startIndex + 1].offset,
                                            g[g.startIndex + 2].offset, g[g.startIndex + 3].offset)
                let peephole = g.entry(.peepholeWeight)?.offset, whr = g.entry(.projectionWeight)?.offset
                let norms = normOffsets(g)
                let stateIndex = (layer * D + direction) * B * R, cellIndex = (layer * D + direction) * B * H
                for b in 0..<B {
                    var dh = finalHiddenGradient.map { Array($0[stateIndex + b * R..<stateIndex + (b + 1) * R]) }
                        ?? [Scalar](repeating: 0, count: R)
                    var dc = finalCellGradient.map { Array($0[cellIndex + b * H..<cellIndex + (b + 1) * H]) }
                        ?? [Scalar](repeating: 0, count: H)
                    for step in recorded[layer][direction][b].reversed() {
                        let t = step.time
                        for j in 0..<R { dh[j] += dOutput[(t * B + b) * D * R + direction * R + j] }
                        // Zoneout: a kept unit's gradient goes to the previous state, not through the cell.
                        let keptHidden = (0..<R).map { step.keepHidden[$0] != 0 ? dh[$0] : 0 }
                        let keptCell = (0..<H).map { step.keepCell[$0] != 0 ? dc[$0] : 0 }
                        for j in 0..<R where step.keepHidden[j] != 0 { dh[j] = 0 }
                        for j in 0..<H where step.keepCell[j] != 0 { dc[j] = 0 }
                        // ∂ of the pre-activations: input side (W_ih x + b_ih) and hidden side (W_hh h + b_hh).
                        var dInputSide = [Scalar](repeating: 0, count: G * H)
                        var dHiddenSide = [Scalar](repeating: 0, count: G * H)
                        var dhPrev = [Scalar](repeating: 0, count: R)
                        // The projected LSTM: ∂W_hr += ∂h mᵀ, and the cell sees ∂m = W_hrᵀ ∂h.
                        var dm = dh
                        if let whr {
                            for p in 0..<R {
                                for k in 0..<H { dParameters[whr + p * H + k] += dh[p] * step.m[k] }
                            }
                            dm = transposedMatrixVector(parameters, offset: whr, rows: R, columns: H, dh)
                        }
                        // Layer normalisation: the biases (and β_x, β_h) see ∂a; W_ih and W_hh see
                        // ∂z_x and ∂z_h, through the normalisations.
                        var dBiasSide: [Scalar]? = nil
                        if let norms {
                            let (gain, shift) = (norms[.cell]!.gain, norms[.cell]!.shift)
                            var da = [Scalar](repeating: 0, count: 4 * H), dNormalizedCell = [Scalar](repeating: 0, count: H)
                            for j in 0..<H {
                                let o = step.gates[3 * H + j], tn = step.tanhNormalizedCell[j]
                                da[3 * H + j] = dm[j] * tn * o * (1 - o)
                                let dn = dm[j] * o * (1 - tn * tn)                    // ∂(α_c ⊙ ĉ + β_c)
                                dParameters[gain + j] += dn * step.normalizedCell[j]
                                dParameters[shift + j] += dn
                                dNormalizedCell[j] = dn * parameters[gain + j]
                            }
                            let dCell = normalizedBackward(dNormalizedCell, step.normalizedCell, r: step.inverseDeviations[2])
                            for j in 0..<H {
                                let (i, f, gg) = (step.gates[j], step.gates[H + j], step.gates[2 * H + j])
                                let dcTotal = dc[j] + dCell[j]                         // ∂L/∂c_t
                                da[j] = dcTotal * gg * i * (1 - i)
                                da[H + j] = dcTotal * step.cPrev[j] * f * (1 - f)
                                da[2 * H + j] = dcTotal * i * (1 - gg * gg)
                                dc[j] = dcTotal * f                                   // ∂L/∂c_{t−1}
                            }
                            for (site, normalizedSide) in [(LayerNormSite.input, step.normalizedInput), (.hidden, step.normalizedHidden)] {
                                let (sideGain, sideShift) = (norms[site]!.gain, norms[site]!.shift)
                                for k in 0..<4 * H {
                                    dParameters[sideGain + k] += da[k] * normalizedSide[k]
                                    dParameters[sideShift + k] += da[k]
                                }
                            }
                            dInputSide = normalizedBackward((0..<4 * H).map { da[$0] * parameters[norms[.input]!.gain + $0] },
                                                            step.normalizedInput, r: step.inverseDeviations[0])
                            dHiddenSide = normalizedBackward((0..<4 * H).map { da[$0] * parameters[norms[.hidden]!.gain + $0] },
                                                             step.normalizedHidden, r: step.inverseDeviations[1])
                            dBiasSide = da
                        }
                        for j in 0..<H where norms == nil {
                            switch c.cell {
                            case .rnnTanh, .rnnRelu:
                                let h = step.gates[j]
                                let da = c.cell == .rnnRelu ? (h > 0 ? dh[j] : 0) : dh[j] * (1 - h * h)
                                dInputSide[j] = da
                                dHiddenSide[j] = da
                            case .lstm:
                                let (i, f, gg, o) = (step.gates[j], step.gates[H + j], step.gates[2 * H + j], step.gates[3 * H + j])
                                let tc = Scalar.hyperbolicTangent(step.c[j])
                                let dOut = dm[j] * tc * o * (1 - o)
                                let p = { (k: Int) -> Scalar in peephole.map { parameters[$0 + k * H + j] } ?? 0 }
                                let dcTotal = dc[j] + dm[j] * o * (1 - tc * tc) + dOut * p(2)   // ∂L/∂c_t
                                let das = [dcTotal * gg * i * (1 - i), dcTotal * step.cPrev[j] * f * (1 - f),
                                           dcTotal * i * (1 - gg * gg), dOut]
                                for k in 0..<4 {
                                    dInputSide[k * H + j] = das[k]
                                    dHiddenSide[k * H + j] = das[k]
                                }
                                if let peephole {
                                    dParameters[peephole + j] += das[0] * step.cPrev[j]
                                    dParameters[peephole + H + j] += das[1] * step.cPrev[j]
                                    dParameters[peephole + 2 * H + j] += dOut * step.c[j]
                                }
                                dc[j] = dcTotal * f + das[0] * p(0) + das[1] * p(1)   // ∂L/∂c_{t−1}
                            case .gruResetBefore:
                                let (z, n) = (step.gates[H + j], step.gates[2 * H + j])
                                dInputSide[H + j] = dh[j] * (step.hPrev[j] - n) * z * (1 - z)
                                dInputSide[2 * H + j] = dh[j] * (1 - z) * (1 - n * n)
                                dHiddenSide[H + j] = dInputSide[H + j]
                                dHiddenSide[2 * H + j] = dInputSide[2 * H + j]
                                dhPrev[j] = dh[j] * z
                            case .gru:
                                let (r, z, n) = (step.gates[j], step.gates[H + j], step.gates[2 * H + j])
                                let dnPre = dh[j] * (1 - z) * (1 - n * n)             // ∂ of x_n + r ⊙ hh_n
                                let dzPre = dh[j] * (step.hPrev[j] - n) * z * (1 - z)
                                let drPre = dnPre * step.hiddenN[j] * r * (1 - r)
                                dInputSide[j] = drPre
                                dInputSide[H + j] = dzPre
                                dInputSide[2 * H + j] = dnPre
                                dHiddenSide[j] = drPre
                                dHiddenSide[H + j] = dzPre
                                dHiddenSide[2 * H + j] = dnPre * r
                                dhPrev[j] = dh[j] * z                                 // h' = … + z ⊙ h
                            }
                        }
                        // The reset-before GRU's candidate rows multiply r ⊙ h, not h: its ∂(r ⊙ h)
                        // gives ∂a_r and a direct part of ∂h, and only the r, z rows multiply h.
                        // ∂L/∂hRecurrent, the products' operand; ∂h gets it times the mask.
                        var dRecurrent = [Scalar](repeating: 0, count: R)
                        var recurrentRows = G * H
                        if c.cell == .gruResetBefore {
                            let dCandidate = Array(dHiddenSide[2 * H..<3 * H])
                            let dResetHidden = transposedMatrixVector(parameters, offset: whh + 2 * H * H, rows: H, columns: H, dCandidate)
                            for j in 0..<H {
                                let r = step.gates[j]
                                dInputSide[j] = dResetHidden[j] * step.hRecurrent[j] * r * (1 - r)
                                dHiddenSide[j] = dInputSide[j]
                                dRecurrent[j] += dResetHidden[j] * r
                                for k in 0..<H { dParameters[whh + (2 * H + j) * H + k] += dCandidate[j] * step.hiddenN[k] }
                            }
                            recurrentRows = 2 * H
                        }
                        for row in 0..<G * H {
                            dParameters[bih + row] += dBiasSide?[row] ?? dInputSide[row]
                            dParameters[bhh + row] += dBiasSide?[row] ?? dHiddenSide[row]
                            for k in 0..<I { dParameters[wih + row * I + k] += dInputSide[row] * step.x[k] }
                        }
                        for row in 0..<recurrentRows {
                            for k in 0..<R { dParameters[whh + row * R + k] += dHiddenSide[row] * step.hRecurrent[k] }
                        }
                        let dx = transposedMatrixVector(parameters, offset: wih, rows: G * H, columns: I, dInputSide)
                        for k in 0..<I { dInput[(t * B + b) * I + k] += dx[k] }
                        let dhThroughWeights = transposedMatrixVector(parameters, offset: whh, rows: recurrentRows, columns: R,
                                                                      Array(dHiddenSide[0..<recurrentRows]))
                        for j in 0..<R {
                            let mask = recurrentMasks.map { $0[stateIndex + b * R + j] } ?? 1
                            dh[j] = dhPrev[j] + (dRecurrent[j] + dhThroughWeights[j]) * mask + keptHidden[j]
                        }
                        if c.cell == .lstm { for j in 0..<H { dc[j] += keptCell[j] } }
                    }
                    for j in 0..<R { dInitialHidden[stateIndex + b * R + j] = dh[j] }
                    for j in 0..<H { dInitialCell[cellIndex + b * H + j] = dc[j] }
                }
            }
            dOutput = dInput
        }
        return (dParameters, dInput, dInitialHidden, c.cell.hasCellState ? dInitialCell : nil)
    }
}
