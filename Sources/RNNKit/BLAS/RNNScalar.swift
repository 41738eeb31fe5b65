// The small floating-point protocol the kernels are generic over. `Float` is
// the working precision; `Double` runs the same kernels for gradient checks.
// The choice between the fast and the reference path is made here, by type: each requirement
// is one BLAS routine, one libm function or one row kernel, and Float and Double each provide
// theirs (the row kernels in Cells/CellKernels.swift).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A floating-point type the recurrent kernels run in: `Float` (working precision) or `Double`.
///
/// Each requirement forwards to the matching BLAS routine, libm function or row kernel; the
/// layers stay generic and the compiler specialises them per type. `Float` runs the vectorised C
/// kernels of CRNNKitKernels; `Double` runs the Swift reference loops of `Cells/`, which are the
/// oracle the tests hold the C kernels to. The row-kernel requirements are what the layers call;
/// they are public only because the protocol is.
public protocol RNNScalar: BinaryFloatingPoint, Sendable, Codable, CellRowKernels
where RawSignificand: FixedWidthInteger {
    /// Row-major `C = alpha · op(A) · op(B) + beta · C` (`sgemm` or `dgemm`).
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// Row-major `y = alpha · op(A) · x + beta · y` with `A` of `[m, n]` (`sgemv` or `dgemv`).
    static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
        x: UnsafePointer<Self>, beta: Self, y: UnsafeMutablePointer<Self>)
    /// Natural exponential.
    static func exponential(_ x: Self) -> Self
    /// Hyperbolic tangent.
    static func hyperbolicTangent(_ x: Self) -> Self
    /// Natural logarithm.
    static func logarithm(_ x: Self) -> Self
    /// A short name for messages and file metadata: `"F32"` or `"F64"` (safetensors dtype names).
    static var dtypeName: String { get }
}

extension Float: RNNScalar {
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
              a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    @inline(__always)
    public static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        sgemv(transpose: transpose, m: m, n: n, alpha: alpha, a: a, lda: lda, x: x, beta: beta, y: y)
    }
    @inline(__always) public static func exponential(_ x: Float) -> Float { expf(x) }
    @inline(__always) public static func hyperbolicTangent(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) public static func logarithm(_ x: Float) -> Float { logf(x) }
    public static var dtypeName: String { "F32" }
}

extension Double: RNNScalar {
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        dgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
              a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    @inline(__always)
    public static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
        x: UnsafePointer<Double>, beta: Double, y: UnsafeMutablePointer<Double>
    ) {
        dgemv(transpose: transpose, m: m, n: n, alpha: alpha, a: a, lda: lda, x: x, beta: beta, y: y)
    }
    @inline(__always) public static func exponential(_ x: Double) -> Double { exp(x) }
    @inline(__always) public static func hyperbolicTangent(_ x: Double) -> Double { tanh(x) }
    @inline(__always) public static func logarithm(_ x: Double) -> Double { log(x) }
    public static var dtypeName: String { "F64" }
}

extension RNNScalar {
    /// Logistic sigmoid `1 / (1 + e^{-x})`; saturates to exactly 0 or 1 without overflow traps.
    @inline(__always)
    static func sigmoid(_ x: Self) -> Self { 1 / (1 + exponential(-x)) }
}
