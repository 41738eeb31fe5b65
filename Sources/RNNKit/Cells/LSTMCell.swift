// LSTM cell, PyTorch gate order i, f, g, o:
//   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)     a = W_ih x + b_ih + W_hh h + b_hh
//   c' = f ⊙ c + i ⊙ g        h' = o ⊙ tanh(c')
// With peepholes (p = p_i, p_f, p_o): a_i += p_i ⊙ c, a_f += p_f ⊙ c, a_o += p_o ⊙ c'.
// Dimension legend: see StepRows.swift (B, H, G = 4).
//
// `forward`/`backward` walk the rows of a step and call the scalar type's row kernel
// (CellKernels.swift): the vectorised C kernel for Float, the reference loops below for Double;
// the tests hold the two equal.

/// The elementwise half of an LSTM step; the matrix products are done by the layer driver.
enum LSTMCell {
    /// Forward of one step for the hidden units `columns` (all `0..<H`, or the share of one
    /// worker of a column-split time loop), after the driver has added `h · W_hh^T` into `gates`.
    ///
    /// - gates:  (B, 4H) in: pre-activations without bias; out: activations `i, f, g, o`
    /// - bias:   (4H) `b_ih + b_hh`
    /// - peephole: (3H) `p_i, p_f, p_o`, or `nil` without peepholes
    /// - hPrev, cPrev: (B, H) state entering the step
    /// - hNext, cNext: (B, H) state leaving the step (inactive rows copy the entering state)
    /// - tanhC:  (B, H) `tanh(c')`, kept for backward; `nil` in inference
    /// - output: (B, ·) `h'` for active rows, 0 for inactive rows
    @inline(__always)
    static func forward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, bias: UnsafePointer<Scalar>, peephole: UnsafePointer<Scalar>?,
        hPrev: UnsafePointer<Scalar>, cPrev: UnsafePointer<Scalar>,
        hNext: UnsafeMutablePointer<Scalar>, cNext: UnsafeMutablePointer<Scalar>,
        tanhC: UnsafeMutablePointer<Scalar>?, output: StridedRows<Scalar>,
        rows: StepRows, batch: Int, hidden: Int, columns: Range<Int>
    ) {
        let j0 = columns.lowerBound, count = columns.count
        for b in 0..<batch {
            let state = b * hidden + j0
            let a = gates + b * 4 * hidden + j0
            guard rows.isActive(b) else {
                passThrough(hPrev + state, to: hNext + state, cPrev + state, to: cNext + state,
                            zeroing: output.row(b) + j0, count: count)
                continue
            }
            if let peephole {
                Scalar.lstmPeepholeForwardRow(
                    gates: a, bias: bias + j0, peephole: peephole + j0, cPrev: cPrev + state, cNext: cNext + state,
                    hNext: hNext + state, tanhC: tanhC.map { $0 + state }, output: output.row(b) + j0,
                    count: count, hidden: hidden)
            } else {
                Scalar.lstmForwardRow(
                    gates: a, bias: bias + j0, cPrev: cPrev + state, cNext: cNext + state,
                    hNext: hNext + state, tanhC: tanhC.map { $0 + state }, output: output.row(b) + j0,
                    count: count, hidden: hidden)
            }
        }
    }

    /// The reference forward of one row: the equations above, one unit at a time, for the units
    /// `0..<count` of the row (gate `k` of unit `j` at `a[k·hidden + j]`, peephole `k` at
    /// `peephole[k·hidden + j]`).
    @inline(__always)
    static func forwardReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, bias: UnsafePointer<Scalar>, peephole: UnsafePointer<Scalar>? = nil,
        cPrev: UnsafePointer<Scalar>, cNext: UnsafeMutablePointer<Scalar>,
        hNext: UnsafeMutablePointer<Scalar>, tanhC: UnsafeMutablePointer<Scalar>?,
        output y: UnsafeMutablePointer<Scalar>, count: Int, hidden: Int
    ) {
        for j in 0..<count {
            let cp = cPrev[j]
            func look(_ k: Int, _ state: Scalar) -> Scalar { peephole.map { $0[k * hidden + j] * state } ?? 0 }
            let i = Scalar.sigmoid(a[j] + bias[j] + look(0, cp))
            let f = Scalar.sigmoid(a[hidden + j] + bias[hidden + j] + look(1, cp))
            let g = Scalar.hyperbolicTangent(a[2 * hidden + j] + bias[2 * hidden + j])
            let c = f * cp + i * g
            let o = Scalar.sigmoid(a[3 * hidden + j] + bias[3 * hidden + j] + look(2, c))
            let tc = Scalar.hyperbolicTangent(c)
            let h = o * tc
            a[j] = i
            a[hidden + j] = f
            a[2 * hidden + j] = g
            a[3 * hidden + j] = o
            cNext[j] = c
            hNext[j] = h
            tanhC?[j] = tc
            y[j] = h
        }
    }

    /// Backward of one step. Afterwards the driver adds `∂a · W_hh` into `dhCarry`.
    ///
    /// - gates:   (B, 4H) in: activations `i, f, g, o`; out: `∂L/∂a` (zero for inactive rows)
    /// - cPrev:   (B, H) cell state entering the step;  tanhC: (B, H) `tanh(c')`
    /// - dY:      (B, ·) gradient of this step's output
    /// - dhCarry: (B, H) in: `∂L/∂h'` from later steps; out: the part of `∂L/∂h` that does not
    ///            go through `W_hh` (the whole carry for inactive rows, 0 otherwise)
    /// - dcCarry: (B, H) in: `∂L/∂c'` from later steps; out: `∂L/∂c`
    /// - dBias:   (4H) `+= Σ_rows ∂a` (the gradient of both `b_ih` and `b_hh`)
    /// - peephole, dPeephole: (3H) `p` and `+= Σ_rows ∂p`, or both `nil` without peepholes
    @inline(__always)
    static func backward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>,
        cPrev: UnsafePointer<Scalar>, tanhC: UnsafePointer<Scalar>,
        dY: StridedConstRows<Scalar>,
        dhCarry: UnsafeMutablePointer<Scalar>, dcCarry: UnsafeMutablePointer<Scalar>,
        dBias: UnsafeMutablePointer<Scalar>, peephole: UnsafePointer<Scalar>?, dPeephole: UnsafeMutablePointer<Scalar>?,
        rows: StepRows, batch: Int, hidden: Int
    ) {
        for b in 0..<batch {
            let a = gates + b * 4 * hidden
            let state = b * hidden
            guard rows.isActive(b) else {
                // Padded step: state and its gradients pass through; dY here is ignored.
                a.update(repeating: 0, count: 4 * hidden)
                continue
            }
            if let peephole, let dPeephole {
                Scalar.lstmPeepholeBackwardRow(
                    gates: a, peephole: peephole, cPrev: cPrev + state, tanhC: tanhC + state, dY: dY.row(b),
                    dhCarry: dhCarry + state, dcCarry: dcCarry + state, dBias: dBias, dPeephole: dPeephole,
                    hidden: hidden)
            } else {
                Scalar.lstmBackwardRow(
                    gates: a, cPrev: cPrev + state, tanhC: tanhC + state, dY: dY.row(b),
                    dhCarry: dhCarry + state, dcCarry: dcCarry + state, dBias: dBias, hidden: hidden)
            }
        }
    }

    /// The reference backward of one row, with its derivation.
    @inline(__always)
    static func backwardReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, cPrev: UnsafePointer<Scalar>, tanhC: UnsafePointer<Scalar>,
        dY dy: UnsafePointer<Scalar>, dhCarry: UnsafeMutablePointer<Scalar>,
        dcCarry: UnsafeMutablePointer<Scalar>, dBias: UnsafeMutablePointer<Scalar>,
        peephole: UnsafePointer<Scalar>? = nil, dPeephole: UnsafeMutablePointer<Scalar>? = nil, hidden: Int
    ) {
        for j in 0..<hidden {
            let i = a[j], f = a[hidden + j], g = a[2 * hidden + j], o = a[3 * hidden + j]
            let tc = tanhC[j], cp = cPrev[j]
            let dh = dhCarry[j] + dy[j]
            let dOut = dh * tc * o * (1 - o)           // ∂a_o = dh ⊙ tanh c' ⊙ σ'
            // dc = ∂L/∂c' + dh ⊙ o ⊙ (1 − tanh²c') [+ ∂a_o ⊙ p_o: c' feeds a_o through the peephole]
            let dc = dcCarry[j] + dh * o * (1 - tc * tc) + (peephole.map { dOut * $0[2 * hidden + j] } ?? 0)
            let di = dc * g * i * (1 - i)              // ∂a_i = dc ⊙ g ⊙ σ'
            let df = dc * cp * f * (1 - f)             // ∂a_f = dc ⊙ c ⊙ σ'
            let dg = dc * i * (1 - g * g)              // ∂a_g = dc ⊙ i ⊙ tanh'
            a[j] = di
            a[hidden + j] = df
            a[2 * hidden + j] = dg
            a[3 * hidden + j] = dOut
            dBias[j] += di
            dBias[hidden + j] += df
            dBias[2 * hidden + j] += dg
            dBias[3 * hidden + j] += dOut
            if let peephole, let dPeephole {
                // ∂p_i, ∂p_f = ∂a ⊙ c; ∂p_o = ∂a_o ⊙ c' (c' = f ⊙ c + i ⊙ g, as in the forward)
                dPeephole[j] += di * cp
                dPeephole[hidden + j] += df * cp
                dPeephole[2 * hidden + j] += dOut * (f * cp + i * g)
                // ∂L/∂c = dc ⊙ f + ∂a_i ⊙ p_i + ∂a_f ⊙ p_f
                dcCarry[j] = dc * f + di * peephole[j] + df * peephole[hidden + j]
            } else {
                dcCarry[j] = dc * f                    // ∂L/∂c = dc ⊙ f
            }
            dhCarry[j] = 0                             // ∂L/∂h = ∂a · W_hh, added by the driver
        }
    }
}
