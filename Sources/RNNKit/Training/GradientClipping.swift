// Gradient clipping over several parameter groups at once, as torch.nn.utils does:
//   total_norm = ‖(‖g_1‖₂, ‖g_2‖₂, …)‖₂ = √(Σ_groups Σ_i g_i²)
//   clip_coef  = min(max_norm / (total_norm + 1e-6), 1);   g = g · clip_coef

/// Scales all gradients of `groups` together so that their global L2 norm is at most `maxNorm`,
/// like `torch.nn.utils.clip_grad_norm_(parameters, max_norm)`.
///
/// The norm is taken over the concatenation of every group's ``ParameterContainer/gradients``
/// (sums of squares accumulated in Double). Gradients are multiplied by
/// `min(maxNorm / (totalNorm + 1e-6), 1)`, so a norm already below `maxNorm` leaves them unchanged.
/// - Parameters:
///   - groups: the containers whose gradients are clipped, in any order.
///   - maxNorm: the largest allowed global norm (> 0).
///   - errorIfNonfinite: throw instead of clipping when the norm is NaN or infinite (default `false`;
///     with `false` the gradients are scaled by the resulting coefficient anyway, as in PyTorch:
///     NaN for a NaN norm, 0 for an infinite one).
/// - Returns: the global norm *before* clipping.
/// - Throws: ``RNNKitError`` if `maxNorm` is not positive and finite, or (when asked) the norm is not finite.
@discardableResult
public func clipGradientNorm<Scalar: RNNScalar>(
    _ groups: [any ParameterContainer<Scalar>], maxNorm: Double, errorIfNonfinite: Bool = false
) throws -> Double {
    try requireHyperparameter("maximum gradient norm", maxNorm, "> 0") { $0 > 0 }
    let totalNorm = globalGradientNorm(groups)
    if errorIfNonfinite, !totalNorm.isFinite {
        throw RNNKitError(.numerical,
            "the total gradient norm is \(totalNorm); expected a finite value (a gradient holds NaN or infinity)")
    }
    scaleGradients(groups, maxNorm: maxNorm, totalNorm: totalNorm)
    return totalNorm
}

/// `√(Σ_groups Σ_i g_i²)`, the squares summed in Double in a fixed order (four interleaved sums
/// per group, so that the additions do not wait on one another).
func globalGradientNorm<Scalar: RNNScalar>(_ groups: [any ParameterContainer<Scalar>]) -> Double {
    var sumOfSquares = 0.0
    for group in groups {
        group.gradients.withUnsafeBufferPointer { g in
            var sums = (0.0, 0.0, 0.0, 0.0), i = 0
            while i + 4 <= g.count {
                let (a, b, c, d) = (Double(g[i]), Double(g[i + 1]), Double(g[i + 2]), Double(g[i + 3]))
                sums = (sums.0 + a * a, sums.1 + b * b, sums.2 + c * c, sums.3 + d * d)
                i += 4
            }
            while i < g.count {
                sums.0 += Double(g[i]) * Double(g[i])
                i += 1
            }
            sumOfSquares += (sums.0 + sums.1) + (sums.2 + sums.3)
        }
    }
    return sumOfSquares.squareRoot()
}

/// Multiplies every gradient by `min(maxNorm / (totalNorm + 1e-6), 1)`, `totalNorm` being
/// their global norm (``clipGradientNorm(_:maxNorm:errorIfNonfinite:)`` without the norm).
func scaleGradients<Scalar: RNNScalar>(_ groups: [any ParameterContainer<Scalar>], maxNorm: Double, totalNorm: Double) {
    let clipCoefficient = min(maxNorm / (totalNorm + 1e-6), 1)
    // PyTorch multiplies even when the coefficient is 1; skipping that changes nothing but time.
    // A NaN coefficient (non-finite norm) fails `< 1` in `min`'s comparison, so test it explicitly.
    if clipCoefficient < 1 || clipCoefficient.isNaN {
        let scale = Scalar(clipCoefficient)
        for group in groups {
            group.gradients.withUnsafeMutableBufferPointer { g in
                for i in g.indices { g[i] *= scale }
            }
        }
    }
}

/// Clamps every gradient of `groups` into `[-clipValue, clipValue]`,
/// like `torch.nn.utils.clip_grad_value_(parameters, clip_value)`.
/// - Throws: ``RNNKitError`` if `clipValue` is negative or not finite.
public func clipGradientValues<Scalar: RNNScalar>(_ groups: [any ParameterContainer<Scalar>], clipValue: Double) throws {
    try requireHyperparameter("gradient clip value", clipValue, "≥ 0") { $0 >= 0 }
    let bound = Scalar(clipValue)
    for group in groups {
        group.gradients.withUnsafeMutableBufferPointer { g in
            for i in g.indices { g[i] = min(max(g[i], -bound), bound) }
        }
    }
}
