// Dimension legend for every kernel in Cells/:
//   B  batch rows          T  time steps        I  input features of the layer
//   H  hidden features     G  gates (RNN 1, GRU 3, LSTM 4)
// Every buffer is row-major; a "(B, G·H)" buffer holds row b at offset b·G·H.

/// Which rows of the batch take part in one time step.
///
/// With per-sequence lengths, row `b` is active at time `t` when `t < lengths[b]`
/// (PyTorch's packed-sequence semantics). An inactive row keeps its state, writes
/// a zero output and, in backward, passes its state gradient through untouched.
/// The same rule holds for the reverse direction, which therefore starts each
/// sequence at its own last valid step from the initial state.
struct StepRows {
    /// The time index `t` of this step.
    let time: Int
    /// Per-row lengths `(B)`, or `nil` when every row has length `T`.
    let lengths: UnsafePointer<Int>?

    @inline(__always)
    func isActive(_ row: Int) -> Bool {
        guard let lengths else { return true }
        return time < lengths[row]
    }
}

/// Where a step writes its output `h`: row `b` at `base + b · stride`, `H` entries.
/// The stride is `D·H`, so the two directions of a layer interleave in one `(T, B, D·H)` buffer.
struct StridedRows<Scalar> {
    let base: UnsafeMutablePointer<Scalar>
    let stride: Int

    @inline(__always)
    func row(_ b: Int) -> UnsafeMutablePointer<Scalar> { base + b * stride }
}

/// Read-only rows with a stride, for output gradients `dY` laid out like ``StridedRows``.
struct StridedConstRows<Scalar> {
    let base: UnsafePointer<Scalar>
    let stride: Int

    @inline(__always)
    func row(_ b: Int) -> UnsafePointer<Scalar> { base + b * stride }
}

/// A padded row: `count` units of the state pass through unchanged and the output is zero.
@inline(__always)
func passThrough<Scalar: RNNScalar>(
    _ hPrev: UnsafePointer<Scalar>, to hNext: UnsafeMutablePointer<Scalar>,
    _ cPrev: UnsafePointer<Scalar>? = nil, to cNext: UnsafeMutablePointer<Scalar>? = nil,
    zeroing output: UnsafeMutablePointer<Scalar>, count: Int
) {
    hNext.update(from: hPrev, count: count)
    if let cPrev, let cNext { cNext.update(from: cPrev, count: count) }
    output.update(repeating: 0, count: count)
}
