// GRU cell, PyTorch gate order r, z, n:
//   r = σ(x_r + hh_r)   z = σ(x_z + hh_z)   n = tanh(x_n + r ⊙ hh_n)   h' = (1 − z) ⊙ n + z ⊙ h
// where x_* = W_i* x + b_i* and hh_* = W_h* h + b_h*. Because r multiplies hh_n, the
// recurrent product is kept apart from the input projection (unlike LSTM and RNN).
// Dimension legend: see StepRows.swift (B, H, G = 3).
//
// `forward`/`backward` walk the rows of a step and call the scalar type's row kernel
// (CellKernels.swift): the vectorised C kernel for Float, the reference loops below for Double;
// the tests hold the two equal.

/// The elementwise half of a GRU step; the matrix products are done by the layer driver.
enum GRUCell {
    /// Forward of one step for the hidden units `columns` (all `0..<H`, or the share of one
    /// worker of a column-split time loop).
    ///
    /// - gates:  (B, 3H) in: input projections `W_i* x` (no bias); out: `r, z, n`
    /// - recurrent: (B, 3H) `W_h* h` (no bias) from the driver's GEMM
    /// - inputBias, hiddenBias: (3H) `b_ih`, `b_hh`
    /// - hnSaved: (B, H) `hh_n = W_hn h + b_hn`, kept for backward; `nil` in inference
    /// - hPrev/hNext: (B, H) state entering / leaving the step
    /// - output: (B, ·) `h'` for active rows, 0 for inactive rows
    @inline(__always)
    static func forward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, recurrent: UnsafePointer<Scalar>,
        inputBias: UnsafePointer<Scalar>, hiddenBias: UnsafePointer<Scalar>,
        hnSaved: UnsafeMutablePointer<Scalar>?,
        hPrev: UnsafePointer<Scalar>, hNext: UnsafeMutablePointer<Scalar>,
        output: StridedRows<Scalar>, rows: StepRows, batch: Int, hidden: Int, columns: Range<Int>
    ) {
        let j0 = columns.lowerBound, count = columns.count
        for b in 0..<batch {
            let state = b * hidden + j0
            let a = gates + b * 3 * hidden + j0, hh = recurrent + b * 3 * hidden + j0
            guard rows.isActive(b) else {
                passThrough(hPrev + state, to: hNext + state, zeroing: output.row(b) + j0, count: count)
                continue
            }
            Scalar.gruForwardRow(
                gates: a, recurrent: hh, inputBias: inputBias + j0, hiddenBias: hiddenBias + j0,
                hPrev: hPrev + state, hNext: hNext + state, hnSaved: hnSaved.map { $0 + state },
                output: output.row(b) + j0, count: count, hidden: hidden)
        }
    }

    /// The reference forward of one row: the equations above, one unit at a time, for the units
    /// `0..<count` of the row (gate `k` of unit `j` at `a[k·hidden + j]`).
    @inline(__always)
    static func forwardReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, recurrent hh: UnsafePointer<Scalar>,
        inputBias bi: UnsafePointer<Scalar>, hiddenBias bh: UnsafePointer<Scalar>,
        hnSaved: UnsafeMutablePointer<Scalar>?, hPrev: UnsafePointer<Scalar>,
        hNext: UnsafeMutablePointer<Scalar>, output y: UnsafeMutablePointer<Scalar>, count: Int, hidden: Int
    ) {
        for j in 0..<count {
            let r = Scalar.sigmoid(a[j] + bi[j] + hh[j] + bh[j])
            let z = Scalar.sigmoid(a[hidden + j] + bi[hidden + j] + hh[hidden + j] + bh[hidden + j])
            let hn = hh[2 * hidden + j] + bh[2 * hidden + j]
            let n = Scalar.hyperbolicTangent(a[2 * hidden + j] + bi[2 * hidden + j] + r * hn)
            let h = (1 - z) * n + z * hPrev[j]
            a[j] = r
            a[hidden + j] = z
            a[2 * hidden + j] = n
            hnSaved?[j] = hn
            hNext[j] = h
            y[j] = h
        }
    }

    /// Backward of one step. Afterwards the driver adds `dHidden · W_hh` into `dhCarry`.
    ///
    /// - gates:   (B, 3H) in: `r, z, n`; out: `∂L/∂x_r, ∂L/∂x_z, ∂L/∂x_n` (input side)
    /// - hnSaved: (B, H) in: `hh_n`; out: `∂L/∂hh_n = ∂x_n ⊙ r` (kept for the `W_hn` gradient)
    /// - dHidden: (B, 3H) out: `∂L/∂hh_r, ∂L/∂hh_z, ∂L/∂hh_n` (hidden side, for this step's GEMM)
    /// - hPrev:   (B, H) state entering the step
    /// - dY:      (B, ·) gradient of this step's output
    /// - dhCarry: (B, H) in: `∂L/∂h'`; out: the direct part `∂L/∂h' ⊙ z` (whole carry if inactive)
    /// - dInputBias, dHiddenBias: (3H) `+=` the input-side and hidden-side gradients
    @inline(__always)
    static func backward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, hnSaved: UnsafeMutablePointer<Scalar>,
        dHidden: UnsafeMutablePointer<Scalar>, hPrev: UnsafePointer<Scalar>,
        dY: StridedConstRows<Scalar>, dhCarry: UnsafeMutablePointer<Scalar>,
        dInputBias: UnsafeMutablePointer<Scalar>, dHiddenBias: UnsafeMutablePointer<Scalar>,
        rows: StepRows, batch: Int, hidden: Int
    ) {
        for b in 0..<batch {
            let state = b * hidden
            guard rows.isActive(b) else {
                (gates + b * 3 * hidden).update(repeating: 0, count: 3 * hidden)
                (dHidden + b * 3 * hidden).update(repeating: 0, count: 3 * hidden)
                (hnSaved + state).update(repeating: 0, count: hidden)
                continue
            }
            Scalar.gruBackwardRow(
                gates: gates + b * 3 * hidden, hnSaved: hnSaved + state, dHidden: dHidden + b * 3 * hidden,
                hPrev: hPrev + state, dY: dY.row(b), dhCarry: dhCarry + state,
                dInputBias: dInputBias, dHiddenBias: dHiddenBias, hidden: hidden)
        }
    }

    /// The reference backward of one row, with its derivation.
    @inline(__always)
    static func backwardReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, hnSaved: UnsafeMutablePointer<Scalar>,
        dHidden dhh: UnsafeMutablePointer<Scalar>, hPrev: UnsafePointer<Scalar>,
        dY dy: UnsafePointer<Scalar>, dhCarry: UnsafeMutablePointer<Scalar>,
        dInputBias: UnsafeMutablePointer<Scalar>, dHiddenBias: UnsafeMutablePointer<Scalar>, hidden: Int
    ) {
        for j in 0..<hidden {
            let r = a[j], z = a[hidden + j], n = a[2 * hidden + j]
            let hn = hnSaved[j]
            let dh = dhCarry[j] + dy[j]
            let dnPre = dh * (1 - z) * (1 - n * n)            // ∂(x_n + r ⊙ hh_n) = dh ⊙ (1 − z) ⊙ tanh'
            let dzPre = dh * (hPrev[j] - n) * z * (1 - z)     // ∂h'/∂z = h − n
            let drPre = dnPre * hn * r * (1 - r)              // ∂n_pre/∂r = hh_n
            let dhn = dnPre * r                               // ∂n_pre/∂hh_n = r
            a[j] = drPre
            a[hidden + j] = dzPre
            a[2 * hidden + j] = dnPre
            dhh[j] = drPre
            dhh[hidden + j] = dzPre
            dhh[2 * hidden + j] = dhn
            hnSaved[j] = dhn
            dInputBias[j] += drPre
            dInputBias[hidden + j] += dzPre
            dInputBias[2 * hidden + j] += dnPre
            dHiddenBias[j] += drPre
            dHiddenBias[hidden + j] += dzPre
            dHiddenBias[2 * hidden + j] += dhn
            dhCarry[j] = dh * z                               // direct path h → h' through z ⊙ h
        }
    }
}
