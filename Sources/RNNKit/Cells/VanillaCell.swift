// Elman RNN cell:  h' = φ(W_ih x + b_ih + W_hh h + b_hh),  φ = tanh or relu.
// Dimension legend: see StepRows.swift (B, H, G = 1).
//
// `forward`/`backward` walk the rows of a step and call the scalar type's row kernel
// (CellKernels.swift): the vectorised C kernel for Float, the reference loops below for Double;
// the tests hold the two equal.

/// The elementwise half of a vanilla RNN step; the matrix products are done by the layer driver.
enum VanillaCell {
    /// Forward of one step for the hidden units `columns` (all `0..<H`, or the share of one
    /// worker of a column-split time loop).
    ///
    /// - gates:  (B, H) in: pre-activations without bias; out: `h' = φ(a)` (kept for backward:
    ///           φ' is a function of φ)
    /// - bias:   (H) `b_ih + b_hh`
    /// - hPrev/hNext: (B, H) state entering / leaving the step
    /// - output: (B, ·) `h'` for active rows, 0 for inactive rows
    @inline(__always)
    static func forward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, bias: UnsafePointer<Scalar>, relu: Bool,
        hPrev: UnsafePointer<Scalar>, hNext: UnsafeMutablePointer<Scalar>,
        output: StridedRows<Scalar>, rows: StepRows, batch: Int, hidden: Int, columns: Range<Int>
    ) {
        let j0 = columns.lowerBound, count = columns.count
        for b in 0..<batch {
            let state = b * hidden + j0
            guard rows.isActive(b) else {
                passThrough(hPrev + state, to: hNext + state, zeroing: output.row(b) + j0, count: count)
                continue
            }
            Scalar.rnnForwardRow(gates: gates + state, bias: bias + j0, relu: relu,
                                 hNext: hNext + state, output: output.row(b) + j0, count: count)
        }
    }

    /// The reference forward of the units `0..<count` of one row.
    @inline(__always)
    static func forwardReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, bias: UnsafePointer<Scalar>, relu: Bool,
        hNext: UnsafeMutablePointer<Scalar>, output y: UnsafeMutablePointer<Scalar>, count: Int
    ) {
        for j in 0..<count {
            let pre = a[j] + bias[j]
            let h = relu ? max(pre, 0) : Scalar.hyperbolicTangent(pre)
            a[j] = h
            hNext[j] = h
            y[j] = h
        }
    }

    /// Backward of one step. Afterwards the driver adds `∂a · W_hh` into `dhCarry`.
    ///
    /// - gates:   (B, H) in: `h' = φ(a)`; out: `∂L/∂a = dh ⊙ φ'(a)` with `tanh' = 1 − h'²`,
    ///            `relu' = [h' > 0]`
    /// - dhCarry: (B, H) in: `∂L/∂h'`; out: 0 for active rows, the whole carry for inactive rows
    /// - dBias:   (H) `+= Σ_rows ∂a`
    @inline(__always)
    static func backward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, relu: Bool,
        dY: StridedConstRows<Scalar>, dhCarry: UnsafeMutablePointer<Scalar>,
        dBias: UnsafeMutablePointer<Scalar>, rows: StepRows, batch: Int, hidden: Int
    ) {
        for b in 0..<batch {
            let state = b * hidden
            guard rows.isActive(b) else {
                (gates + b * hidden).update(repeating: 0, count: hidden)
                continue
            }
            Scalar.rnnBackwardRow(gates: gates + b * hidden, relu: relu, dY: dY.row(b),
                                  dhCarry: dhCarry + state, dBias: dBias, hidden: hidden)
        }
    }

    /// The reference backward of one row.
    @inline(__always)
    static func backwardReference<Scalar: RNNScalar>(
        gates a: UnsafeMutablePointer<Scalar>, relu: Bool, dY dy: UnsafePointer<Scalar>,
        dhCarry: UnsafeMutablePointer<Scalar>, dBias: UnsafeMutablePointer<Scalar>, hidden: Int
    ) {
        for j in 0..<hidden {
            let h = a[j]
            let dh = dhCarry[j] + dy[j]
            let da = relu ? (h > 0 ? dh : 0) : dh * (1 - h * h)
            a[j] = da
            dBias[j] += da
            dhCarry[j] = 0
        }
    }
}
