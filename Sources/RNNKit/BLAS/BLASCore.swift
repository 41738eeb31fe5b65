// What OpenBLAS runs in this process, what the CPU offers, and whether RNNKit chose OpenBLAS's
// core (Sources/CRNNKitKernels/blas_core.c does, at load). A thin read of OpenBLAS and cpuid.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import COpenBLAS
import CRNNKitKernels

/// The BLAS and CPU facts behind RNNKit's speed in this process (`rnnkit inspect --system`).
public struct BLASDiagnostics: Sendable, Equatable {
    /// What RNNKit did about OpenBLAS's core when it was loaded.
    public enum CoreChoice: String, Sendable, Equatable {
        /// No OpenBLAS was found in the process.
        case unknown
        /// OpenBLAS's own choice suits the CPU and was kept.
        case recognised
        /// OpenBLAS had fallen back to a generic core; RNNKit selected the one for this CPU.
        case selected
        /// RNNKit asked OpenBLAS for the core of this CPU, and OpenBLAS kept its own.
        case selectionFailed = "selection-failed"
        /// `OPENBLAS_CORETYPE` was set, so OpenBLAS's core is the one the user asked for.
        case setByUser = "set-by-user"
        /// `RNNKIT_BLAS_CORE=keep`: OpenBLAS's own choice was kept although it is slower.
        case keptByRequest = "kept-by-request"
        /// OpenBLAS is not a `DYNAMIC_ARCH` build, so its core is fixed at build time.
        case notDynamic = "not-dynamic"
    }

    /// The core OpenBLAS runs now (`openblas_get_corename`), for example `Cooperlake`.
    public var core: String
    /// The core OpenBLAS chose when it was loaded, before RNNKit's choice (`Prescott` when it did
    /// not recognise the CPU).
    public var coreAtLoad: String
    /// What RNNKit did about it.
    public var choice: CoreChoice
    /// OpenBLAS's build configuration (`openblas_get_config`).
    public var configuration: String
    /// OpenBLAS's thread count now.
    public var blasThreads: Int
    /// RNNKit's thread count (``threadCount()``).
    public var threads: Int
    /// The CPU features that decide the kernels: `avx2+fma`, `avx512`, `avx512_bf16`.
    public var cpuFeatures: [String]
    /// The kernel of RNNKit's packed product: `avx512`, `avx2` or `portable`.
    public var packedKernel: String
}

/// OpenBLAS's name of the core it runs now, a static string (`""` without OpenBLAS), for the C API.
package func openBLASCoreName() -> UnsafePointer<CChar> {
    openblas_get_corename().map { UnsafePointer($0) } ?? emptyCString
}

nonisolated(unsafe) private let emptyCString: UnsafePointer<CChar> = UnsafePointer(strdup("")!)

/// The BLAS and CPU facts of this process; see ``BLASDiagnostics``.
public func blasDiagnostics() -> BLASDiagnostics {
    let features = rk_cpu_features()
    let choices: [Int32: BLASDiagnostics.CoreChoice] = [
        Int32(RK_BLAS_CORE_RECOGNISED): .recognised, Int32(RK_BLAS_CORE_SELECTED): .selected,
        Int32(RK_BLAS_CORE_SELECTION_FAILED): .selectionFailed, Int32(RK_BLAS_CORE_SET_BY_USER): .setByUser,
        Int32(RK_BLAS_CORE_KEPT_BY_REQUEST): .keptByRequest, Int32(RK_BLAS_CORE_NOT_DYNAMIC): .notDynamic,
    ]
    let featureNames: [(UInt32, String)] = [
        (UInt32(RK_CPU_AVX2_FMA), "avx2+fma"), (UInt32(RK_CPU_AVX512), "avx512"), (UInt32(RK_CPU_AVX512_BF16), "avx512_bf16"),
    ]
    let kernels = [Int32(RK_KERNEL_AVX512): "avx512", Int32(RK_KERNEL_AVX2): "avx2"]
    return BLASDiagnostics(
        core: openblas_get_corename().map { String(cString: $0) } ?? "",
        coreAtLoad: String(cString: rk_blas_core_at_load()),
        choice: choices[rk_blas_core_choice()] ?? .unknown,
        configuration: openblas_get_config().map { String(cString: $0) } ?? "",
        blasThreads: blasThreadCount(), threads: threadCount(),
        cpuFeatures: featureNames.filter { features & $0.0 != 0 }.map(\.1),
        packedKernel: kernels[rk_packed_kernel()] ?? "portable")
}
