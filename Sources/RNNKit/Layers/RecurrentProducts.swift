// The two matrix products of a recurrent step without packed weights, each routed to the
// fastest routine for its shape. (With packed weights both go through Scalar.packedProduct.)

extension RNNScalar {
    /// `C (m, n) = alpha · A (m, k) · B^T + beta · C`, with `B` stored `(n, k)` — the shape of every
    /// recurrent and input product (`h · W^T`). OpenBLAS's sgemm is slow for few rows, so one row
    /// goes to gemv and 2…8 rows to ``CellRowKernels/fewRowsProduct(m:n:k:a:lda:b:ldb:beta:c:ldc:)``,
    /// which reads each row of `B` once for all rows of `A` (`KernelTests` holds it to a naive product).
    ///
    /// Input projections pass `fewRows: false`: OpenBLAS's result for a row does not depend on how
    /// many rows the product has, so streaming one step at a time (B rows) keeps giving bitwise the
    /// same numbers as one call over the sequence (T·B rows). The recurrent product has B rows
    /// either way.
    @inline(__always)
    static func multiplyTransposed(
        m: Int, n: Int, k: Int, alpha: Self = 1, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int, beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int,
        fewRows: Bool = true
    ) {
        if m == 1 {
            gemv(transpose: false, m: n, n: k, alpha: alpha, a: b, lda: ldb, x: a, beta: beta, y: c)
        } else if fewRows, m <= 8, alpha == 1 {
            fewRowsProduct(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else {
            gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                 b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// `C (m, n) = alpha · A (m, k) · B + beta · C`, with `B` stored `(k, n)` — the backward product
    /// `∂h = ∂a · W_hh`. One row goes to gemv.
    @inline(__always)
    static func multiply(
        m: Int, n: Int, k: Int, alpha: Self = 1, a: UnsafePointer<Self>, lda: Int,
        b: UnsafePointer<Self>, ldb: Int, beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        if m == 1 {
            gemv(transpose: true, m: k, n: n, alpha: alpha, a: b, lda: ldb, x: a, beta: beta, y: c)
        } else {
            gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                 b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }
}
