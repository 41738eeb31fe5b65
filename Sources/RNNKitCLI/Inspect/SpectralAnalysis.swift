// Spectral radius and spectral norm of recurrent weight blocks, with LAPACKE in double precision.
//
// Why per gate block: `weight_hh` of a layer stacks G square blocks W_g (H×H), one per gate
// (LSTM i, f, g, o; GRU r, z, n; one block for a vanilla RNN). Each block maps h_{t-1} to one
// gate's pre-activation, so the linearised recurrence through that gate multiplies gradients by
// W_gᵀ (times the gate's derivative, at most 1) at every step. Its spectral radius ρ(W_g), the
// largest |eigenvalue|, is the asymptotic growth rate of repeated multiplication: ρ well above 1
// risks exploding gradients, ρ well below 1 vanishing ones (for a tanh RNN, the classic
// condition; for gated cells the gates rescale it, so ρ of the candidate block, g for LSTM and n
// for GRU, is the one to read). The whole [G·H, H] matrix is not square and has no eigenvalues.
// The spectral norm ‖W_g‖₂ (largest singular value) bounds the gain of a single step, ρ ≤ ‖W_g‖₂.

import CLAPACKE

/// The spectral radius `max |λ|` of the square row-major matrix `matrix` (`n × n`),
/// from the eigenvalues that `LAPACKE_dgeev` computes.
/// - Throws: ``CLIError`` if LAPACK reports an error or the QR algorithm does not converge.
func spectralRadius(_ matrix: [Double], n: Int) throws -> Double {
    precondition(matrix.count == n * n, "spectralRadius: expected \(n * n) elements, got \(matrix.count)")
    guard n > 0 else { return 0 }
    var a = matrix                                   // [n, n], overwritten by LAPACK
    var real = [Double](repeating: 0, count: n)      // [n] real parts of the eigenvalues
    var imaginary = [Double](repeating: 0, count: n) // [n] imaginary parts
    var unusedLeft = [Double](repeating: 0, count: 1)
    var unusedRight = [Double](repeating: 0, count: 1)
    let info = LAPACKE_dgeev(
        LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int8(UInt8(ascii: "N")), Int32(n), &a,
        Int32(n), &real, &imaginary, &unusedLeft, 1, &unusedRight, 1)
    guard info == 0 else {
        throw CLIError("LAPACKE_dgeev failed on a \(n)×\(n) block (info \(info)); the weights may hold NaN or infinity")
    }
    return zip(real, imaginary).map { ($0 * $0 + $1 * $1).squareRoot() }.max() ?? 0
}

/// The spectral norm (largest singular value) of the row-major `rows × columns` `matrix`,
/// from `LAPACKE_dgesdd` computing singular values only.
/// - Throws: ``CLIError`` if LAPACK reports an error.
func spectralNorm(_ matrix: [Double], rows: Int, columns: Int) throws -> Double {
    precondition(matrix.count == rows * columns, "spectralNorm: expected \(rows * columns) elements")
    guard rows > 0, columns > 0 else { return 0 }
    var a = matrix                                                    // [rows, columns], destroyed
    var singularValues = [Double](repeating: 0, count: min(rows, columns))  // [min(rows, columns)]
    // U and Vᵀ are not computed with job "N", but LAPACKE still checks their leading dimensions.
    var unusedU = [Double](repeating: 0, count: rows)
    var unusedVT = [Double](repeating: 0, count: columns)
    let info = LAPACKE_dgesdd(
        LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int32(rows), Int32(columns), &a,
        Int32(columns), &singularValues, &unusedU, Int32(rows), &unusedVT, Int32(columns))
    guard info == 0 else {
        throw CLIError("LAPACKE_dgesdd failed on a \(rows)×\(columns) block (info \(info)); the weights may hold NaN or infinity")
    }
    return singularValues.max() ?? 0
}

/// The spectral figures of one gate block of a `weight_hh` tensor.
struct GateBlockSpectrum: Equatable {
    /// The tensor's name in the file, for example `rnn.weight_hh_l1_reverse`.
    var tensorName: String
    /// The gate's letter in PyTorch order (`i f g o`, `r z n`) or `h` for a vanilla RNN.
    var gate: String
    /// `max |λ|` of the H×H block.
    var spectralRadius: Double
    /// The largest singular value of the block.
    var spectralNorm: Double
}

/// Splits a `weight_hh` tensor of shape `[G·H, H]` (row-major) into its G blocks and measures each.
/// - Parameter gates: the gate letters, `G` of them (see ``gateLetters(gateCount:)``).
func gateBlockSpectra(tensorName: String, values: [Double], hidden: Int, gates: [String]) throws -> [GateBlockSpectrum] {
    precondition(values.count == gates.count * hidden * hidden)
    return try gates.enumerated().map { index, gate in
        let block = Array(values[index * hidden * hidden..<(index + 1) * hidden * hidden])  // [H, H]
        return GateBlockSpectrum(
            tensorName: tensorName, gate: gate,
            spectralRadius: try spectralRadius(block, n: hidden),
            spectralNorm: try spectralNorm(block, rows: hidden, columns: hidden))
    }
}

/// The gate letters of a cell with `gateCount` gates, in PyTorch's order.
func gateLetters(gateCount: Int) -> [String] {
    switch gateCount {
    case 4: ["i", "f", "g", "o"]
    case 3: ["r", "z", "n"]
    case 1: ["h"]
    default: (0..<gateCount).map { "gate\($0)" }
    }
}
