import Foundation
import RNNKit
import Testing
@testable import RNNKitCLI

@Suite("Spectral analysis (LAPACKE)")
struct SpectralAnalysisTests {
    @Test("radius and norm of matrices with known spectra")
    func knownMatrices() throws {
        // 0.9 × a rotation by 30°: eigenvalues 0.9·e^{±iπ/6}, so ρ = ‖W‖₂ = 0.9.
        let (c, s) = (0.9 * cos(Double.pi / 6), 0.9 * sin(Double.pi / 6))
        #expect(abs(try spectralRadius([c, -s, s, c], n: 2) - 0.9) < 1e-12)
        #expect(abs(try spectralNorm([c, -s, s, c], rows: 2, columns: 2) - 0.9) < 1e-12)
        // A nilpotent matrix: every eigenvalue is 0 but one step can double a vector.
        #expect(abs(try spectralRadius([0, 2, 0, 0], n: 2)) < 1e-12)
        #expect(abs(try spectralNorm([0, 2, 0, 0], rows: 2, columns: 2) - 2) < 1e-12)
        // Diagonal with a negative entry: ρ = |−3|.
        #expect(abs(try spectralRadius([1, 0, 0, 0, -3, 0, 0, 0, 0.5], n: 3) - 3) < 1e-12)
        #expect(throws: CLIError.self) { try spectralRadius([.nan, 0, 0, 1], n: 2) }
    }

    @Test("an LSTM weight_hh is split into its i, f, g, o blocks")
    func gateBlocks() throws {
        // H = 2, G = 4: block k is (k + 1) × identity, so ρ = k + 1.
        var values: [Double] = []
        for k in 0..<4 { values += [Double(k + 1), 0, 0, Double(k + 1)] }
        let spectra = try gateBlockSpectra(tensorName: "w", values: values, hidden: 2, gates: gateLetters(gateCount: 4))
        #expect(spectra.map(\.gate) == ["i", "f", "g", "o"])
        #expect(spectra.map(\.spectralRadius).map { ($0 * 1e9).rounded() / 1e9 } == [1, 2, 3, 4])
    }

    @Test("inspect on a saved network file lists every tensor and measures each gate block")
    func inspectFile() throws {
        let scratch = ScratchDirectory()
        let network = try RecurrentNetwork<Float>(
            RecurrentConfiguration(cell: .gru, inputSize: 3, hiddenSize: 4, numLayers: 2), seed: 7)
        let path = scratch.file("gru.safetensors")
        try network.save(to: path)
        let result = runCLI(["inspect", path])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.contains("weight_ih_l0"))
        #expect(result.output.contains("[12, 3]"))
        #expect(result.output.contains("total: \(grouped(network.parameters.count)) parameters in 8 tensors"))
        // Two layers × three gates (r, z, n).
        let blockLines = result.output.split(separator: "\n").filter { $0.contains("weight_hh_l") && ($0.contains(" r ") || $0.contains(" z ") || $0.contains(" n ")) }
        try #require(blockLines.count == 6)
        // The figure printed for layer 0's r block is the one LAPACK gives for that block.
        let hh = try network.parameter(named: "weight_hh_l0").prefix(16).map(Double.init)
        let expected = String(format: "%8.4f", try spectralRadius(Array(hh), n: 4))
        #expect(blockLines[0].contains(expected))
    }

    @Test("inspect on something that is not safetensors fails with one line")
    func inspectBadFile() {
        let scratch = ScratchDirectory()
        let path = scratch.write("junk.safetensors", text: "hello")
        let result = runCLI(["inspect", path])
        #expect(result.status == 1)
        #expect(result.errors.hasPrefix("rnnkit: error: \(path): "))
        #expect(result.errors.split(separator: "\n").count == 1)
        let missing = runCLI(["inspect", scratch.file("nothing")])
        #expect(missing.errors == "rnnkit: error: '\(scratch.file("nothing"))' does not exist; expected a run directory or a .safetensors file\n")
    }
}
