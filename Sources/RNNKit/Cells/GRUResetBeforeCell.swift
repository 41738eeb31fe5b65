// GRU with the reset gate before the recurrent product (Cho et al. 2014; ONNX
// `linear_before_reset = 0`), gate order r, z, n as PyTorch's GRU:
//   r = σ(x_r + hh_r)   z = σ(x_z + hh_z)   hh_r, hh_z = W_h{r,z} h + b_h{r,z}
//   n = tanh(x_n + W_hn (r ⊙ h) + b_hn)      h' = (1 − z) ⊙ n + z ⊙ h
// where x_* = W_i* x + b_i*. The candidate's product reads r ⊙ h, so a step is two products with
// a kernel after each: hh_rz = h · W_h{r,z}^T → gates (r, z, r ⊙ h) → hh_n = (r ⊙ h) · W_hn^T →
// candidate (n, h'). Backward mirrors it:
//   ∂a_n = ∂h' ⊙ (1 − z) ⊙ (1 − n²)          ∂a_z = ∂h' ⊙ (h − n) ⊙ z(1 − z)
//   ∂(r ⊙ h) = ∂a_n · W_hn                      (the driver's first product)
//   ∂a_r = ∂(r ⊙ h) ⊙ h ⊙ r(1 − r)            ∂h = ∂h' ⊙ z + ∂(r ⊙ h) ⊙ r + [∂a_r, ∂a_z] · W_h{r,z}
// and the weight gradients ∂W_h{r,z} += [∂a_r, ∂a_z]^T · h, ∂W_hn += ∂a_n^T · (r ⊙ h).
// Both biases of a gate get the same gradient (b_hn is added after the product, not scaled by r).
// Dimension legend: see StepRows.swift (B, H, G = 3).
//
// The step functions walk the rows and call the scalar type's row kernels (CellKernels.swift):
// the vectorised C kernels for Float, the reference loops below for Double; the tests hold the
// two equal.

/// The elementwise parts of a reset-before GRU step; the products are done by the layer driver.
enum GRUResetBeforeCell {
    /// The first half of a step for the hidden units `columns` (all `0..<H`, or the share of one
    /// worker of a column-split time loop), after the driver's `hh_rz = h · W_h{r,z}^T`.
    ///
    /// - gates:       (B, 3H) in: `W_i* x` (no bias); out: `r, z` in the first `2H` (the last `H` untouched)
    /// - recurrent:   (B, 3H) the first `2H` hold `hh_r, hh_z` without bias
    /// - inputBias, hiddenBias: (3H) `b_ih`, `b_hh`
    /// - hPrev:       (B, H) state entering the step
    /// - resetHidden: (B, H) out: `r ⊙ h` (0 for inactive rows), the operand of the candidate's product
    @inline(__always)
    static func gates<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, recurrent: UnsafePointer<Scalar>,
        inputBias: UnsafePointer<Scalar>, hiddenBias: UnsafePointer<Scalar>,
        hPrev: UnsafePointer<Scalar>, resetHidden: UnsafeMutablePointer<Scalar>,
        rows: StepRows, batch: Int, hidden: Int, columns: Range<Int>
    ) {
        let j0 = columns.lowerBound, count = columns.count
        for b in 0..<batch {
            let state = b * hidden + j0
            guard rows.isActive(b) else {
                (resetHidden + state).update(repeating: 0, count: count)
                continue
            }
            Scalar.gruResetGatesRow(
                gates: gates + b * 3 * hidden + j0, recurrent: recurrent + b * 3 * hidden + j0, inputBias: inputBias + j0,
                hiddenBias: hiddenBias + j0, hPrev: hPrev + state, resetHidden: resetHidden + state,
                count: count, hidden: hidden)
        }
    }

    /// The second half of a step for the units `columns`, after the driver's
    /// `hh_n = (r ⊙ h) · W_hn^T` into the last `H` of `recurrent`: `n` into the last `H` of
    /// `gates`, the new state and the output. Inactive rows copy the entering state and write a
    /// zero output.
    @inline(__always)
    static func candidate<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, recurrent: UnsafePointer<Scalar>,
        inputBias: UnsafePointer<Scalar>, hiddenBias: UnsafePointer<Scalar>,
        hPrev: UnsafePointer<Scalar>, hNext: UnsafeMutablePointer<Scalar>, output: StridedRows<Scalar>,
        rows: StepRows, batch: Int, hidden: Int, columns: Range<Int>
    ) {
        let j0 = columns.lowerBound, count = columns.count
        for b in 0..<batch {
            let state = b * hidden + j0
            guard rows.isActive(b) else {
                passThrough(hPrev + state, to: hNext + state, zeroing: output.row(b) + j0, count: count)
                continue
            }
            Scalar.gruResetCandidateRow(
                gates: gates + b * 3 * hidden + j0, recurrent: recurrent + b * 3 * hidden + j0, inputBias: inputBias + j0,
                hiddenBias: hiddenBias + j0, hPrev: hPrev + state, hNext: hNext + state, output: output.row(b) + j0,
                count: count, hidden: hidden)
        }
    }

    /// The first half of a step's backward: through `h'` and `n`.
    ///
    /// - gates:   (B, 3H) in: `r, z, n`; out: `r, ∂a_z, ∂a_n` (all zero for inactive rows)
    /// - hPrev:   (B, H) state entering the step
    /// - dY:      (B, ·) gradient of this step's output
    /// - dhCarry: (B, H) in: `∂L/∂h'`; out: `∂L/∂h' ⊙ z` (the whole carry for inactive rows)
    /// - dInputBias, dHiddenBias: (3H) `+=` the `z` and `n` parts
    @inline(__always)
    static func backward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, hPrev: UnsafePointer<Scalar>, dY: StridedConstRows<Scalar>,
        dhCarry: UnsafeMutablePointer<Scalar>, dInputBias: UnsafeMutablePointer<Scalar>,
        dHiddenBias: UnsafeMutablePointer<Scalar>, rows: StepRows, batch: Int, hidden: Int
    ) {
        for b in 0..<batch {
            guard rows.isActive(b) else {
                (gates + b * 3 * hidden).update(repeating: 0, count: 3 * hidden)
                continue
            }
            Scalar.gruResetBackwardRow(
                gates: gates + b * 3 * hidden, hPrev: hPrev + b * hidden, dY: dY.row(b), dhCarry: dhCarry + b * hidden,
                dInputBias: dInputBias, dHiddenBias: dHiddenBias, hidden: hidden)
        }
    }

    /// The second half of a step's backward, after the driver's `∂(r ⊙ h) = ∂a_n · W_hn` into
    /// `dResetHidden` (B, H) (zero for inactive rows, whose `∂a_n` is zero): `∂a_r` into the first `H` of `gates`,
    /// `dhCarry += ∂(r ⊙ h) ⊙ r`, the `r` parts of both bias gradients.
    @inline(__always)
    static func backwardReset<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, hPrev: UnsafePointer<Scalar>, dResetHidden: UnsafePointer<Scalar>,
        dhCarry: UnsafeMutablePointer<Scalar>, dInputBias: UnsafeMutablePointer<Scalar>,
        dHiddenBias: UnsafeMutablePointer<Scalar>, rows: StepRows, batch: Int, hidden: Int
    ) {
        for b in 0..<batch where rows.isActive(b) {
            Scalar.gruResetBackwardResetRow(
                gates: gates + b * 3 * hidden, hPrev: hPrev + b * hidden, dResetHidden: dResetHidden + b * hidden,
                dhCarry: dhCarry + b * hidden, dInputBias: dInputBias, dHiddenBias: dHiddenBias, hidden: hidden)
        }
    }

    // MARK: Reference row kernels

    /// Reference of ``gates(gates:recurrent:inputBias:hiddenBias:hPrev:resetHidden:rows:batch:hidden:columns:)``
    /// for the units `0..<count` of one row.
    @inline(__always)
    static func gatesReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, recurrent hh: UnsafePointer<Scalar>,
        inputBias bi: UnsafePointer<Scalar>, hiddenBias bh: UnsafePointer<Scalar>,
        hPrev: UnsafePointer<Scalar>, resetHidden: UnsafeMutablePointer<Scalar>, count: Int, hidden: Int
    ) {
        for j in 0..<count {
            let r = Scalar.sigmoid(a[j] + bi[j] + hh[j] + bh[j])
            let z = Scalar.sigmoid(a[hidden + j] + bi[hidden + j] + hh[hidden + j] + bh[hidden + j])
            a[j] = r
            a[hidden + j] = z
            resetHidden[j] = r * hPrev[j]
        }
    }

    /// Reference of ``candidate(gates:recurrent:inputBias:hiddenBias:hPrev:hNext:output:rows:batch:hidden:columns:)``
    /// for the units `0..<count` of one row.
    @inline(__always)
    static func candidateReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, recurrent hh: UnsafePointer<Scalar>,
        inputBias bi: UnsafePointer<Scalar>, hiddenBias bh: UnsafePointer<Scalar>,
        hPrev: UnsafePointer<Scalar>, hNext: UnsafeMutablePointer<Scalar>, output y: UnsafeMutablePointer<Scalar>,
        count: Int, hidden: Int
    ) {
        for j in 0..<count {
            let z = a[hidden + j]
            let n = Scalar.hyperbolicTangent(a[2 * hidden + j] + bi[2 * hidden + j] + hh[2 * hidden + j] + bh[2 * hidden + j])
            let h = (1 - z) * n + z * hPrev[j]
            a[2 * hidden + j] = n
            hNext[j] = h
            y[j] = h
        }
    }

    /// Reference of ``backward(gates:hPrev:dY:dhCarry:dInputBias:dHiddenBias:rows:batch:hidden:)`` for one row.
    @inline(__always)
    static func backwardReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, hPrev: UnsafePointer<Scalar>, dY dy: UnsafePointer<Scalar>,
        dhCarry: UnsafeMutablePointer<Scalar>, dInputBias: UnsafeMutablePointer<Scalar>,
        dHiddenBias: UnsafeMutablePointer<Scalar>, hidden: Int
    ) {
        for j in 0..<hidden {
            let z = a[hidden + j], n = a[2 * hidden + j]
            let dh = dhCarry[j] + dy[j]
            let dn = dh * (1 - z) * (1 - n * n)              // ∂a_n = ∂h' ⊙ (1 − z) ⊙ tanh'
            let dz = dh * (hPrev[j] - n) * z * (1 - z)       // ∂h'/∂z = h − n
            a[hidden + j] = dz
            a[2 * hidden + j] = dn
            dInputBias[hidden + j] += dz
            dInputBias[2 * hidden + j] += dn
            dHiddenBias[hidden + j] += dz
            dHiddenBias[2 * hidden + j] += dn
            dhCarry[j] = dh * z                              // direct path h → h' through z ⊙ h
        }
    }

    /// Reference of ``backwardReset(gates:hPrev:dResetHidden:dhCarry:dInputBias:dHiddenBias:rows:batch:hidden:)`` for one row.
    @inline(__always)
    static func backwardResetReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, hPrev: UnsafePointer<Scalar>, dResetHidden: UnsafePointer<Scalar>,
        dhCarry: UnsafeMutablePointer<Scalar>, dInputBias: UnsafeMutablePointer<Scalar>,
        dHiddenBias: UnsafeMutablePointer<Scalar>, hidden: Int
    ) {
        for j in 0..<hidden {
            let r = a[j], drh = dResetHidden[j]
            let dr = drh * hPrev[j] * r * (1 - r)            // ∂(r ⊙ h)/∂r = h
            a[j] = dr
            dInputBias[j] += dr
            dHiddenBias[j] += dr
            dhCarry[j] += drh * r                            // ∂(r ⊙ h)/∂h = r
        }
    }
}
