// OpenBLAS's core: RNNKit replaces a generic fallback with the core for the CPU at load
// (Sources/CRNNKitKernels/blas_core.c), and says what it runs.

import CRNNKitKernels
import Testing
@testable import RNNKit

@Suite struct BLASCoreTests {
    /// On this machine, whatever its CPU: unless the user chose the core, OpenBLAS runs kernels
    /// that suit the CPU — never a core without AVX2 on a CPU with AVX2 or AVX-512.
    @Test func openBLASRunsTheKernelsOfThisCPU() {
        let d = blasDiagnostics()
        #expect(!d.core.isEmpty, "OpenBLAS reports no core")
        guard ![.setByUser, .keptByRequest, .notDynamic].contains(d.choice) else { return }
        let stillWanted = rk_blas_core_wanted(rk_cpu_features(), d.core).map { String(cString: $0) }
        #expect(stillWanted == nil,
                "OpenBLAS runs \(d.core) (chose \(d.coreAtLoad) at load, RNNKit: \(d.choice)) on a CPU with \(d.cpuFeatures); expected \(stillWanted ?? "")")
        if d.choice == .selected { #expect(d.core != d.coreAtLoad) }
    }

    @Test func theCoreChosenForEachCPU() {
        let avx2 = UInt32(RK_CPU_AVX2_FMA), avx512 = UInt32(RK_CPU_AVX512), bf16 = UInt32(RK_CPU_AVX512_BF16)
        func wanted(_ features: UInt32, _ chosen: String) -> String? {
            rk_blas_core_wanted(features, chosen).map { String(cString: $0) }
        }
        #expect(wanted(avx2 | avx512 | bf16, "Prescott") == "Cooperlake")
        #expect(wanted(avx2 | avx512, "Prescott") == "SkylakeX")
        #expect(wanted(avx2, "Core2") == "Haswell")
        #expect(wanted(avx2 | avx512, "Sandybridge") == "SkylakeX", "AVX without AVX2 is a fallback too")
        #expect(wanted(avx2 | avx512, "Haswell") == nil, "a core with AVX2 kernels is OpenBLAS's choice to keep")
        #expect(wanted(avx2 | avx512 | bf16, "cooperlake") == nil)
        #expect(wanted(avx2 | avx512, "Zen") == nil)
        #expect(wanted(0, "Prescott") == nil, "an old CPU keeps its generic core")
    }
}
