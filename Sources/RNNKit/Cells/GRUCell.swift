// GRU cell, PyTorch gate order r, z, n:
//   r = σ(x_r + hh_r)   z = σ(x_z + hh_z)   n = tanh(x_n + r ⊙ hh_n)   h' = (1 − z) ⊙ n + z ⊙ h
// where x_* = W_i* x + b_i* and hh_* = W_h* h + b_h*. Because r multiplies hh_n, the
// recurrent product is kept apart from the input projection (unlike LSTM and RNN).
// Dimension legend: see StepRows.swift (B, H, G = 3).

/// The elementwise half of a GRU step; the matrix products are done by the layer driver.
enum GRUCell {
    /// Forward of one step.
    ///
    /// - gates:  (B, 3H) in: input projections `x_r, x_z, x_n` (with `b_ih`); out: `r, z, n`
    /// - hidden: (B, 3H) `W_hh h` (without bias) from the driver's GEMM
    /// - hiddenBias: (3H) `b_hh`
    /// - hnSaved: (B, H) `hh_n = W_hn h + b_hn`, kept for backward; `nil` in inference
    /// - hPrev/hNext: (B, H) state entering / leaving the step
    /// - output: (B, ·) `h'` for active rows, 0 for inactive rows
    @inline(__always)
    static func forward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, hidden recurrent: UnsafePointer<Scalar>,
        hiddenBias: UnsafePointer<Scalar>, hnSaved: UnsafeMutablePointer<Scalar>?,
        hPrev: UnsafePointer<Scalar>, hNext: UnsafeMutablePointer<Scalar>,
        output: StridedRows<Scalar>, rows: StepRows, batch: Int, hidden: Int
    ) {
        for b in 0..<batch {
            let a = gates + b * 3 * hidden
            let hh = recurrent + b * 3 * hidden
            let state = b * hidden
            let y = output.row(b)
            guard rows.isActive(b) else {
                for j in 0..<hidden {
                    hNext[state + j] = hPrev[state + j]
                    y[j] = 0
                }
                continue
            }
            for j in 0..<hidden {
                let r = Scalar.sigmoid(a[j] + hh[j] + hiddenBias[j])
                let z = Scalar.sigmoid(a[hidden + j] + hh[hidden + j] + hiddenBias[hidden + j])
                let hn = hh[2 * hidden + j] + hiddenBias[2 * hidden + j]
                let n = Scalar.hyperbolicTangent(a[2 * hidden + j] + r * hn)
                let h = (1 - z) * n + z * hPrev[state + j]
                a[j] = r
                a[hidden + j] = z
                a[2 * hidden + j] = n
                hnSaved?[state + j] = hn
                hNext[state + j] = h
                y[j] = h
            }
        }
    }

    /// Backward of one step. Afterwards the driver adds `dHidden · W_hh` into `dhCarry`.
    ///
    /// - gates:   (B, 3H) in: `r, z, n`; out: `∂L/∂x_r, ∂L/∂x_z, ∂L/∂x_n` (input side)
    /// - hnSaved: (B, H) in: `hh_n`; out: `∂L/∂hh_n = ∂x_n ⊙ r` (kept for the `W_hn` gradient)
    /// - dHidden: (B, 3H) out: `∂L/∂hh_r, ∂L/∂hh_z, ∂L/∂hh_n` (hidden side, for this step's GEMM)
    /// - hPrev:   (B, H) state entering the step
    /// - dY:      (B, ·) gradient of this step's output, or `nil`
    /// - dhCarry: (B, H) in: `∂L/∂h'`; out: the direct part `∂L/∂h' ⊙ z` (whole carry if inactive)
    @inline(__always)
    static func backward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, hnSaved: UnsafeMutablePointer<Scalar>,
        dHidden: UnsafeMutablePointer<Scalar>, hPrev: UnsafePointer<Scalar>,
        dY: StridedConstRows<Scalar>?, dhCarry: UnsafeMutablePointer<Scalar>,
        rows: StepRows, batch: Int, hidden: Int
    ) {
        for b in 0..<batch {
            let a = gates + b * 3 * hidden
            let dhh = dHidden + b * 3 * hidden
            let state = b * hidden
            guard rows.isActive(b) else {
                for j in 0..<3 * hidden {
                    a[j] = 0
                    dhh[j] = 0
                }
                for j in 0..<hidden { hnSaved[state + j] = 0 }
                continue
            }
            let dy = dY?.row(b)
            for j in 0..<hidden {
                let r = a[j], z = a[hidden + j], n = a[2 * hidden + j]
                let hn = hnSaved[state + j]
                let dh = dhCarry[state + j] + (dy?[j] ?? 0)
                let dnPre = dh * (1 - z) * (1 - n * n)            // ∂(x_n + r ⊙ hh_n) = dh ⊙ (1 − z) ⊙ tanh'
                let dzPre = dh * (hPrev[state + j] - n) * z * (1 - z)  // ∂h'/∂z = h − n
                let drPre = dnPre * hn * r * (1 - r)              // ∂n_pre/∂r = hh_n
                a[j] = drPre
                a[hidden + j] = dzPre
                a[2 * hidden + j] = dnPre
                dhh[j] = drPre
                dhh[hidden + j] = dzPre
                dhh[2 * hidden + j] = dnPre * r                   // ∂n_pre/∂hh_n = r
                hnSaved[state + j] = dnPre * r
                dhCarry[state + j] = dh * z                       // direct path h → h' through z ⊙ h
            }
        }
    }
}
