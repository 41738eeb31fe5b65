// Initialisation options for a recurrent layer, applied on top of PyTorch's default draw.
// Gate blocks: W_ih (G·H, I) and W_hh (G·H, H) are G stacked blocks of H rows, in PyTorch's
// gate order (LSTM i, f, g, o; GRU r, z, n); each block is initialised on its own.

import CLAPACKE

/// A random `n×n` orthogonal matrix, row-major: Q of the QR factorisation of a standard Gaussian
/// matrix (LAPACKE `dgeqrf` + `dorgqr`), with column `j` multiplied by `sign(R_jj)` so that the
/// result is uniformly distributed over the orthogonal group (Mezzadri 2007).
/// - Throws: ``RNNKitError`` `.numerical` if LAPACK reports a failure.
public func randomOrthogonalMatrix(size n: Int, generator: inout SeededGenerator) throws -> [Double] {
    precondition(n >= 1)
    var a = (0..<n * n).map { _ in generator.nextGaussian() }   // (n, n) row-major Gaussian
    var tau = [Double](repeating: 0, count: n)                    // (n) Householder scalars
    let m = Int32(n)
    let factorStatus = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, m, m, &a, m, &tau)
    guard factorStatus == 0 else {
        throw RNNKitError(.numerical, "LAPACKE_dgeqrf failed with status \(factorStatus) for a \(n)×\(n) Gaussian matrix")
    }
    let signs = (0..<n).map { a[$0 * n + $0] < 0 ? -1.0 : 1.0 }  // sign(diag(R)), R is the upper triangle now
    let formStatus = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, m, m, m, &a, m, &tau)
    guard formStatus == 0 else {
        throw RNNKitError(.numerical, "LAPACKE_dorgqr failed with status \(formStatus) for a \(n)×\(n) matrix")
    }
    for row in 0..<n {
        for column in 0..<n { a[row * n + column] *= signs[column] }
    }
    return a
}

extension RecurrentNetwork {
    /// Applies `initialization` to every layer and direction, drawing from `generator`.
    /// With ``RecurrentInitialization/pytorchDefault`` nothing changes.
    /// - Throws: ``RNNKitError`` if LAPACK fails or a forget-gate bias is asked of a non-LSTM network.
    public func apply(_ initialization: RecurrentInitialization, generator: inout SeededGenerator) throws {
        let c = configuration, H = c.hiddenSize, G = c.cell.gateCount
        if initialization.forgetGateBias != nil, c.cell != .lstm {
            throw RNNKitError(.invalidArgument, "a forget-gate bias is only for LSTM, not \(c.cell.rawValue)")
        }
        for entry in layout.entries {
            switch entry.role {
            case .hiddenWeight where initialization.orthogonalRecurrentWeights:
                // Each gate's (H, R) block: the first R columns of an orthogonal (H, H) matrix
                // (all of it unless the LSTM is projected, R = P < H), orthonormal columns either way.
                let R = c.stateSize
                for gate in 0..<G {
                    let q = try randomOrthogonalMatrix(size: H, generator: &generator)   // (H, H)
                    for row in 0..<H {
                        for column in 0..<R {
                            parameters[entry.offset + (gate * H + row) * R + column] = Scalar(q[row * H + column])
                        }
                    }
                }
            case .inputWeight where initialization.glorotInputWeights:
                let inputWidth = entry.shape[1]
                let bound = (6 / Double(inputWidth + H)).squareRoot()
                for i in 0..<entry.count { parameters[entry.offset + i] = Scalar(generator.nextUniform(-bound, bound)) }
            case .inputBias, .hiddenBias:
                guard let bias = initialization.forgetGateBias else { continue }
                let value = entry.role == .inputBias ? Scalar(bias) : 0
                for j in H..<2 * H { parameters[entry.offset + j] = value }   // LSTM gate order i, f, g, o
            default:
                continue
            }
        }
    }
}
