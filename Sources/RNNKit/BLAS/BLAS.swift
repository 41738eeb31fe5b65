// Thin forwarding layer over OpenBLAS. No numerics live here: each function
// turns Swift arguments into one CBLAS call, always row-major.

import COpenBLAS

/// Matrix operand orientation for ``RNNScalar/gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
@inline(__always)
private func cblasTranspose(_ transpose: Bool) -> CBLAS_TRANSPOSE {
    transpose ? CblasTrans : CblasNoTrans
}

/// Single-precision `C = alpha · op(A) · op(B) + beta · C`, row-major, via `cblas_sgemm`.
/// `op(A)` is `[m, k]`, `op(B)` is `[k, n]`, `C` is `[m, n]`.
@inline(__always)
func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    cblas_sgemm(
        CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
        blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
        beta, c, blasint(ldc))
}

/// Double-precision `C = alpha · op(A) · op(B) + beta · C`, row-major, via `cblas_dgemm`.
@inline(__always)
func dgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
) {
    cblas_dgemm(
        CblasRowMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
        blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
        beta, c, blasint(ldc))
}

/// Single-precision `y = alpha · op(A) · x + beta · y`, row-major `A` of `[m, n]`, via `cblas_sgemv`.
@inline(__always)
func sgemv(
    transpose: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
) {
    cblas_sgemv(
        CblasRowMajor, cblasTranspose(transpose), blasint(m), blasint(n), alpha, a, blasint(lda),
        x, 1, beta, y, 1)
}

/// Double-precision `y = alpha · op(A) · x + beta · y`, via `cblas_dgemv`.
@inline(__always)
func dgemv(
    transpose: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
    x: UnsafePointer<Double>, beta: Double, y: UnsafeMutablePointer<Double>
) {
    cblas_dgemv(
        CblasRowMajor, cblasTranspose(transpose), blasint(m), blasint(n), alpha, a, blasint(lda),
        x, 1, beta, y, 1)
}

/// The number of threads OpenBLAS currently uses.
public func blasThreadCount() -> Int {
    Int(openblas_get_num_threads())
}
