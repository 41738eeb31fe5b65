// Elman RNN cell:  h' = φ(W_ih x + b_ih + W_hh h + b_hh),  φ = tanh or relu.
// Dimension legend: see StepRows.swift (B, H, G = 1).

/// The elementwise half of a vanilla RNN step; the matrix products are done by the layer driver.
enum VanillaCell {
    /// Forward of one step.
    ///
    /// - gates:  (B, H) in: pre-activations; out: `h' = φ(a)` (kept for backward: φ' is a function of φ)
    /// - hPrev/hNext: (B, H) state entering / leaving the step
    /// - output: (B, ·) `h'` for active rows, 0 for inactive rows
    @inline(__always)
    static func forward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, relu: Bool,
        hPrev: UnsafePointer<Scalar>, hNext: UnsafeMutablePointer<Scalar>,
        output: StridedRows<Scalar>, rows: StepRows, batch: Int, hidden: Int
    ) {
        for b in 0..<batch {
            let a = gates + b * hidden
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
                let h = relu ? max(a[j], 0) : Scalar.hyperbolicTangent(a[j])
                a[j] = h
                hNext[state + j] = h
                y[j] = h
            }
        }
    }

    /// Backward of one step. Afterwards the driver adds `dGates · W_hh` into `dhCarry`.
    ///
    /// - gates:   (B, H) in: `h' = φ(a)`; out: `∂L/∂a = dh ⊙ φ'(a)` with `tanh' = 1 − h'²`,
    ///            `relu' = [h' > 0]`
    /// - dhCarry: (B, H) in: `∂L/∂h'`; out: 0 for active rows, the whole carry for inactive rows
    @inline(__always)
    static func backward<Scalar: RNNScalar>(
        gates: UnsafeMutablePointer<Scalar>, relu: Bool,
        dY: StridedConstRows<Scalar>?, dhCarry: UnsafeMutablePointer<Scalar>,
        rows: StepRows, batch: Int, hidden: Int
    ) {
        for b in 0..<batch {
            let a = gates + b * hidden
            let state = b * hidden
            guard rows.isActive(b) else {
                for j in 0..<hidden { a[j] = 0 }
                continue
            }
            let dy = dY?.row(b)
            for j in 0..<hidden {
                let h = a[j]
                let dh = dhCarry[state + j] + (dy?[j] ?? 0)
                a[j] = relu ? (h > 0 ? dh : 0) : dh * (1 - h * h)
                dhCarry[state + j] = 0
            }
        }
    }
}
