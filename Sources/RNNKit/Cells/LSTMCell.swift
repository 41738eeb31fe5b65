// LSTM cell, PyTorch gate order i, f, g, o:
//   i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)     a = W_ih x + b_ih + W_hh h + b_hh
//   c' = f ⊙ c + i ⊙ g        h' = o ⊙ tanh(c')
// Dimension legend: see StepRows.swift (B, H, G = 4).

/// The elementwise half of an LSTM step; the matrix products are done by the layer driver.
enum LSTMCell {
    /// Forward of one step, after the driver has put the full pre-activations in `gates`.
    ///
    /// - gates:  (B, 4H) in: pre-activations `a`; out: activations `i, f, g, o` (kept for backward)
    /// - hPrev, cPrev: (B, H) state entering the step
    /// - hNext, cNext: (B, H) state leaving the step (inactive rows copy the entering state)
    /// - tanhC:  (B, H) `tanh(c')`, kept for backward; `nil` in inference
    /// - output: (B, ·) `h'` for active rows, 0 for inactive rows
    @inline(__always)
    static func forward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>,
        hPrev: UnsafePointer<Scalar>, cPrev: UnsafePointer<Scalar>,
        hNext: UnsafeMutablePointer<Scalar>, cNext: UnsafeMutablePointer<Scalar>,
        tanhC: UnsafeMutablePointer<Scalar>?, output: StridedRows<Scalar>,
        rows: StepRows, batch: Int, hidden: Int
    ) {
        for b in 0..<batch {
            let a = gates + b * 4 * hidden
            let state = b * hidden
            let y = output.row(b)
            guard rows.isActive(b) else {
                for j in 0..<hidden {
                    hNext[state + j] = hPrev[state + j]
                    cNext[state + j] = cPrev[state + j]
                    y[j] = 0
                }
                continue
            }
            for j in 0..<hidden {
                let i = Scalar.sigmoid(a[j])
                let f = Scalar.sigmoid(a[hidden + j])
                let g = Scalar.hyperbolicTangent(a[2 * hidden + j])
                let o = Scalar.sigmoid(a[3 * hidden + j])
                let c = f * cPrev[state + j] + i * g
                let tc = Scalar.hyperbolicTangent(c)
                let h = o * tc
                a[j] = i
                a[hidden + j] = f
                a[2 * hidden + j] = g
                a[3 * hidden + j] = o
                cNext[state + j] = c
                hNext[state + j] = h
                tanhC?[state + j] = tc
                y[j] = h
            }
        }
    }

    /// Backward of one step. Afterwards the driver adds `dGates · W_hh` into `dhCarry`.
    ///
    /// - gates:   (B, 4H) in: activations `i, f, g, o`; out: `∂L/∂a` (zero for inactive rows)
    /// - cPrev:   (B, H) cell state entering the step;  tanhC: (B, H) `tanh(c')`
    /// - dY:      (B, ·) gradient of this step's output, or `nil`
    /// - dhCarry: (B, H) in: `∂L/∂h'` from later steps; out: the part of `∂L/∂h` that does not
    ///            go through `W_hh` (the whole carry for inactive rows, 0 otherwise)
    /// - dcCarry: (B, H) in: `∂L/∂c'` from later steps; out: `∂L/∂c`
    @inline(__always)
    static func backward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>,
        cPrev: UnsafePointer<Scalar>, tanhC: UnsafePointer<Scalar>,
        dY: StridedConstRows<Scalar>?,
        dhCarry: UnsafeMutablePointer<Scalar>, dcCarry: UnsafeMutablePointer<Scalar>,
        rows: StepRows, batch: Int, hidden: Int
    ) {
        for b in 0..<batch {
            let a = gates + b * 4 * hidden
            let state = b * hidden
            guard rows.isActive(b) else {
                // Padded step: state and its gradients pass through; dY here is ignored.
                for j in 0..<4 * hidden { a[j] = 0 }
                continue
            }
            let dy = dY?.row(b)
            for j in 0..<hidden {
                let i = a[j], f = a[hidden + j], g = a[2 * hidden + j], o = a[3 * hidden + j]
                let tc = tanhC[state + j]
                let dh = dhCarry[state + j] + (dy?[j] ?? 0)
                // dc = ∂L/∂c' + dh ⊙ o ⊙ (1 − tanh²c')
                let dc = dcCarry[state + j] + dh * o * (1 - tc * tc)
                a[j] = dc * g * i * (1 - i)                       // ∂a_i = dc ⊙ g ⊙ σ'
                a[hidden + j] = dc * cPrev[state + j] * f * (1 - f)  // ∂a_f = dc ⊙ c ⊙ σ'
                a[2 * hidden + j] = dc * i * (1 - g * g)           // ∂a_g = dc ⊙ i ⊙ tanh'
                a[3 * hidden + j] = dh * tc * o * (1 - o)          // ∂a_o = dh ⊙ tanh c' ⊙ σ'
                dcCarry[state + j] = dc * f                        // ∂L/∂c = dc ⊙ f
                dhCarry[state + j] = 0                             // ∂L/∂h = ∂a · W_hh, added by the driver
            }
        }
    }
}
