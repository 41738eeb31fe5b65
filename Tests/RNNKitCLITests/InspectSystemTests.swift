import Testing
@testable import RNNKitCLI

@Suite struct InspectSystemTests {
    @Test("inspect --system names the BLAS core, the threads, the CPU features and the packed kernel")
    func system() {
        let result = runCLI(["inspect", "--system"])
        #expect(result.status == 0, "\(result.errors)")
        for label in ["BLAS core ", "BLAS build ", "threads ", "CPU features ", "packed kernel "] {
            #expect(result.output.contains(label), "\(label) missing from:\n\(result.output)")
        }
        #expect(runCLI(["inspect"]).errors.contains("or --system"))
    }
}
