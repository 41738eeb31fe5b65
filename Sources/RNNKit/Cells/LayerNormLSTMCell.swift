// Layer-normalised LSTM cell (Ba, Kiros & Hinton 2016, eqs. 20–22), PyTorch gate order i, f, g, o:
//   a  = LN(W_ih x; α_x, β_x) + LN(W_hh h; α_h, β_h) + b_ih + b_hh        LN over all 4H pre-activations
//   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
//   c' = f ⊙ c + i ⊙ g        h' = o ⊙ tanh(LN(c'; α_c, β_c))             LN over the H units of c'
// with LN(z; α, β) = α ⊙ ẑ + β, ẑ = (z − mean z) · r, r = 1/√(var z + ε), the variance the biased
// (population) one, ε = layerNormEpsilon. The state carried to the next step is c', not LN(c').
// Dimension legend: see StepRows.swift (B, H, G = 4).
//
// `forward`/`backward` walk the rows of a step and call the scalar type's row kernel
// (CellKernels.swift): the vectorised C kernel for Float, the reference rows below for Double; the
// tests hold the two equal, and both to PyTorch autograd fixtures and finite differences.

/// ε of every layer normalisation of the layer-normalised LSTM: `1e-5`, PyTorch's `nn.LayerNorm` default.
public let layerNormEpsilon = 1e-5

/// The gains and shifts of one layer and direction, contiguous as the parameters lie (18H):
/// `α_x, β_x, α_h, β_h` (4H each), `α_c, β_c` (H each).
struct LayerNormParameters<Scalar> {
    let base: UnsafePointer<Scalar>

    /// Where a site's gain and shift start in the 18H block (parameters and gradients alike).
    static func offsets(_ site: LayerNormSite, hidden H: Int) -> (gain: Int, shift: Int) {
        switch site { case .input: (0, 4 * H); case .hidden: (8 * H, 12 * H); case .cell: (16 * H, 17 * H) }
    }
    func gain(_ site: LayerNormSite, hidden H: Int) -> UnsafePointer<Scalar> { base + Self.offsets(site, hidden: H).gain }
    func shift(_ site: LayerNormSite, hidden H: Int) -> UnsafePointer<Scalar> { base + Self.offsets(site, hidden: H).shift }
}

/// What a step keeps for backward, row `b` at `b · 4H`, `b · H` and `b · 3`: the normalised
/// pre-activations `ẑ_x`, `ẑ_h` (B, 4H), the normalised cell `ĉ` (B, H) and the three `r` (B, 3).
/// Inference passes scratch of the same shape.
struct LayerNormSaved<Scalar> {
    let input: UnsafeMutablePointer<Scalar>
    let hidden: UnsafeMutablePointer<Scalar>
    let cell: UnsafeMutablePointer<Scalar>
    let inverseDeviations: UnsafeMutablePointer<Scalar>

    /// The same buffers advanced to row `row`.
    func advanced(toRow row: Int, hidden H: Int) -> LayerNormSaved {
        LayerNormSaved(input: input + row * 4 * H, hidden: hidden + row * 4 * H, cell: cell + row * H,
                       inverseDeviations: inverseDeviations + row * 3)
    }
}

enum LayerNormLSTMCell {
    /// Forward of one step for all `H` units (its time loops never split a row's units).
    ///
    /// - gates:     (B, 4H) in: `W_ih x` without bias; out: activations `i, f, g, o`
    /// - recurrent: (B, 4H) `W_hh h` without bias (zeros for a step from a zero state)
    /// - bias:      (4H) `b_ih + b_hh`
    /// - saved:     what backward needs (``LayerNormSaved``)
    /// - hPrev, cPrev: (B, H) state entering the step; hNext, cNext: (B, H) leaving it
    ///   (inactive rows copy the entering state)
    /// - tanhC:     (B, H) `tanh(LN(c'))`, kept for backward; `nil` in inference
    /// - output:    (B, ·) `h'` for active rows, 0 for inactive rows
    @inline(__always)
    static func forward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, recurrent: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>,
        norms: LayerNormParameters<Scalar>, saved: LayerNormSaved<Scalar>,
        hPrev: UnsafePointer<Scalar>, cPrev: UnsafePointer<Scalar>,
        hNext: UnsafeMutablePointer<Scalar>, cNext: UnsafeMutablePointer<Scalar>,
        tanhC: UnsafeMutablePointer<Scalar>?, output: StridedRows<Scalar>,
        rows: StepRows, batch: Int, hidden H: Int
    ) {
        for b in 0..<batch {
            let state = b * H
            guard rows.isActive(b) else {
                passThrough(hPrev + state, to: hNext + state, cPrev + state, to: cNext + state,
                            zeroing: output.row(b), count: H)
                continue
            }
            let keep = saved.advanced(toRow: b, hidden: H)
            Scalar.layerNormLSTMForwardRow(
                gates: gates + b * 4 * H, recurrent: recurrent + b * 4 * H, bias: bias, norms: norms.base,
                cPrev: cPrev + state, cNext: cNext + state, hNext: hNext + state, tanhC: tanhC.map { $0 + state },
                output: output.row(b), savedInput: keep.input, savedHidden: keep.hidden, savedCell: keep.cell,
                inverseDeviations: keep.inverseDeviations, hidden: H)
        }
    }

    /// Backward of one step. Afterwards the driver adds `∂z_h · W_hh` into `dhCarry`, and the
    /// weight gradients read `∂z_x` from `gates` and `∂z_h` from `saved.hidden`.
    ///
    /// - gates:   (B, 4H) in: activations `i, f, g, o`; out: `∂z_x = ∂L/∂(W_ih x)` (0 for inactive rows)
    /// - saved:   in: the step's ``LayerNormSaved``; out: `saved.hidden` holds `∂z_h = ∂L/∂(W_hh h)`
    ///            (0 for inactive rows)
    /// - cPrev:   (B, H) cell state entering the step;  tanhC: (B, H) `tanh(LN(c'))`
    /// - dY:      (B, ·) gradient of this step's output
    /// - dhCarry: (B, H) in: `∂L/∂h'`; out: 0 for active rows (the whole carry for inactive rows)
    /// - dcCarry: (B, H) in: `∂L/∂c'`; out: `∂L/∂c`
    /// - dBias:   (4H) `+= Σ_rows ∂a`, the gradient of `b_ih`, `b_hh`, `β_x` and `β_h` alike
    /// - dNorms:  (10H) `+=` the sums of `∂α_x` (4H), `∂α_h` (4H), `∂α_c` (H), `∂β_c` (H)
    /// - scratch: (B, 4H) room for `∂ĉ` and `∂ẑ_h`
    @inline(__always)
    static func backward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, norms: LayerNormParameters<Scalar>, saved: LayerNormSaved<Scalar>,
        cPrev: UnsafePointer<Scalar>, tanhC: UnsafePointer<Scalar>, dY: StridedConstRows<Scalar>,
        dhCarry: UnsafeMutablePointer<Scalar>, dcCarry: UnsafeMutablePointer<Scalar>,
        dBias: UnsafeMutablePointer<Scalar>, dNorms: UnsafeMutablePointer<Scalar>, scratch: UnsafeMutablePointer<Scalar>,
        rows: StepRows, batch: Int, hidden H: Int
    ) {
        for b in 0..<batch {
            let a = gates + b * 4 * H, state = b * H
            let keep = saved.advanced(toRow: b, hidden: H)
            guard rows.isActive(b) else {
                // Padded step: state and its gradients pass through; dY here is ignored.
                a.update(repeating: 0, count: 4 * H)
                keep.hidden.update(repeating: 0, count: 4 * H)
                continue
            }
            Scalar.layerNormLSTMBackwardRow(
                gates: a, norms: norms.base, savedInput: keep.input, savedHidden: keep.hidden, savedCell: keep.cell,
                inverseDeviations: keep.inverseDeviations, cPrev: cPrev + state, tanhC: tanhC + state, dY: dY.row(b),
                dhCarry: dhCarry + state, dcCarry: dcCarry + state, dBias: dBias, dNorms: dNorms,
                scratch: scratch + b * 4 * H, hidden: H)
        }
    }

    /// `ẑ = (z − mean z) · r` of `count` values into `normalized`; returns `r = 1/√(var z + ε)`.
    /// The sums are accumulated in Double whatever `Scalar` is (as the C kernel does): a Float sum
    /// of 4H terms would put its rounding into every ẑ.
    @inline(__always)
    static func normalize<Scalar: RNNScalar>(
        _ z: UnsafePointer<Scalar>, into normalized: UnsafeMutablePointer<Scalar>, count: Int
    ) -> Scalar {
        var sum = 0.0
        for j in 0..<count { sum += Double(z[j]) }
        let mean = sum / Double(count)
        var squares = 0.0
        for j in 0..<count { let d = Double(z[j]) - mean; squares += d * d }
        let r = 1 / (squares / Double(count) + layerNormEpsilon).squareRoot()
        for j in 0..<count { normalized[j] = Scalar((Double(z[j]) - mean) * r) }
        return Scalar(r)
    }

    /// The gradient through `ẑ = (z − mean z) · r` of `count` values: given `∂ẑ` in `gradient`,
    /// writes `∂z = r · (∂ẑ − mean ∂ẑ − ẑ ⊙ mean(∂ẑ ⊙ ẑ))` over it (the mean and the variance
    /// both depend on every z: the two mean terms are their share).
    @inline(__always)
    static func normalizeBackward<Scalar: RNNScalar>(
        _ gradient: UnsafeMutablePointer<Scalar>, normalized: UnsafePointer<Scalar>, r: Scalar, count: Int
    ) {
        var sum = 0.0, dot = 0.0
        for j in 0..<count {
            sum += Double(gradient[j])
            dot += Double(gradient[j]) * Double(normalized[j])
        }
        let meanGradient = sum / Double(count), meanDot = dot / Double(count), rate = Double(r)
        for j in 0..<count {
            gradient[j] = Scalar(rate * (Double(gradient[j]) - meanGradient - Double(normalized[j]) * meanDot))
        }
    }

    /// The reference forward of one active row (buffers as ``forward``, one row each; `norms` 18H).
    @inline(__always)
    static func forwardReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, recurrent: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>,
        norms base: UnsafePointer<Scalar>, cPrev cp: UnsafePointer<Scalar>, cNext c: UnsafeMutablePointer<Scalar>,
        hNext h: UnsafeMutablePointer<Scalar>, tanhC: UnsafeMutablePointer<Scalar>?, output y: UnsafeMutablePointer<Scalar>,
        savedInput: UnsafeMutablePointer<Scalar>, savedHidden: UnsafeMutablePointer<Scalar>,
        savedCell: UnsafeMutablePointer<Scalar>, inverseDeviations: UnsafeMutablePointer<Scalar>, hidden H: Int
    ) {
        let norms = LayerNormParameters(base: base)
        let (gainX, shiftX) = (norms.gain(.input, hidden: H), norms.shift(.input, hidden: H))
        let (gainH, shiftH) = (norms.gain(.hidden, hidden: H), norms.shift(.hidden, hidden: H))
        let (gainC, shiftC) = (norms.gain(.cell, hidden: H), norms.shift(.cell, hidden: H))
        inverseDeviations[0] = normalize(a, into: savedInput, count: 4 * H)
        inverseDeviations[1] = normalize(recurrent, into: savedHidden, count: 4 * H)
        for k in 0..<4 * H {
            a[k] = gainX[k] * savedInput[k] + shiftX[k] + gainH[k] * savedHidden[k] + shiftH[k] + bias[k]
        }
        for j in 0..<H {
            let i = Scalar.sigmoid(a[j]), f = Scalar.sigmoid(a[H + j])
            let g = Scalar.hyperbolicTangent(a[2 * H + j]), o = Scalar.sigmoid(a[3 * H + j])
            a[j] = i
            a[H + j] = f
            a[2 * H + j] = g
            a[3 * H + j] = o
            c[j] = f * cp[j] + i * g
        }
        inverseDeviations[2] = normalize(c, into: savedCell, count: H)
        for j in 0..<H {
            let tn = Scalar.hyperbolicTangent(gainC[j] * savedCell[j] + shiftC[j])
            tanhC?[j] = tn
            h[j] = a[3 * H + j] * tn
            y[j] = h[j]
        }
    }

    /// The reference backward of one active row, with its derivation (buffers as ``backward``).
    @inline(__always)
    static func backwardReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, norms base: UnsafePointer<Scalar>, savedInput: UnsafePointer<Scalar>,
        savedHidden: UnsafeMutablePointer<Scalar>, savedCell: UnsafePointer<Scalar>, inverseDeviations: UnsafePointer<Scalar>,
        cPrev cp: UnsafePointer<Scalar>, tanhC tn: UnsafePointer<Scalar>, dY dy: UnsafePointer<Scalar>,
        dhCarry dh: UnsafeMutablePointer<Scalar>, dcCarry dc: UnsafeMutablePointer<Scalar>,
        dBias: UnsafeMutablePointer<Scalar>, dNorms: UnsafeMutablePointer<Scalar>, scratch d: UnsafeMutablePointer<Scalar>,
        hidden H: Int
    ) {
        let norms = LayerNormParameters(base: base)
        let (gainX, gainH, gainC) = (norms.gain(.input, hidden: H), norms.gain(.hidden, hidden: H), norms.gain(.cell, hidden: H))
        let dInputGain = dNorms, dHiddenGain = dNorms + 4 * H, dCellGain = dNorms + 8 * H, dCellShift = dNorms + 9 * H
        // h' = o ⊙ tanh(n), n = α_c ⊙ ĉ + β_c: ∂a_o = ∂h' ⊙ tanh n ⊙ σ', ∂n = ∂h' ⊙ o ⊙ tanh'(n),
        // ∂α_c = ∂n ⊙ ĉ, ∂β_c = ∂n, ∂ĉ = ∂n ⊙ α_c.
        for j in 0..<H {
            let o = a[3 * H + j], dhj = dh[j] + dy[j]
            let dn = dhj * o * (1 - tn[j] * tn[j])
            dCellGain[j] += dn * savedCell[j]
            dCellShift[j] += dn
            d[j] = dn * gainC[j]
            a[3 * H + j] = dhj * tn[j] * o * (1 - o)
            dh[j] = 0                                                            // ∂L/∂h = ∂z_h · W_hh, added by the driver
        }
        normalizeBackward(d, normalized: savedCell, r: inverseDeviations[2], count: H)  // ∂c' through LN(c')
        for j in 0..<H {
            let i = a[j], f = a[H + j], g = a[2 * H + j]
            let dcj = dc[j] + d[j]                                               // ∂L/∂c' in all
            a[j] = dcj * g * i * (1 - i)                                         // ∂a_i = ∂c' ⊙ g ⊙ σ'
            a[H + j] = dcj * cp[j] * f * (1 - f)                                 // ∂a_f = ∂c' ⊙ c ⊙ σ'
            a[2 * H + j] = dcj * i * (1 - g * g)                                 // ∂a_g = ∂c' ⊙ i ⊙ tanh'
            dc[j] = dcj * f                                                      // ∂L/∂c = ∂c' ⊙ f
        }
        // a = α_x ⊙ ẑ_x + β_x + α_h ⊙ ẑ_h + β_h + b: ∂α = ∂a ⊙ ẑ, ∂β = ∂b = ∂a, ∂ẑ = ∂a ⊙ α,
        // then ∂z through each normalisation.
        for k in 0..<4 * H {
            dBias[k] += a[k]
            dInputGain[k] += a[k] * savedInput[k]
            dHiddenGain[k] += a[k] * savedHidden[k]
            d[k] = a[k] * gainH[k]
            a[k] *= gainX[k]
        }
        normalizeBackward(d, normalized: savedHidden, r: inverseDeviations[1], count: 4 * H)
        normalizeBackward(a, normalized: savedInput, r: inverseDeviations[0], count: 4 * H)
        savedHidden.update(from: d, count: 4 * H)
    }
}
