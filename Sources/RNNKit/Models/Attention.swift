// Attention of a decoder over an encoder's outputs: Luong, Pham & Manning (2015) dot and general
// scores, Bahdanau, Cho & Bengio (2015) additive score; a length mask; softmax; the weighted sum.
// Dimension legend:
//   T query steps (target)   S source steps   B batch   H query width (the decoder's hidden size)
//   K key width D·H (the encoder's outputs, D directions)   A additive hidden width
//
// Forward, all T query steps at once, each batch row b over its source positions j < length_b:
//   keys, once per source (AttentionKeys):
//     dot:       u_j = s_j                        (S, B, K)   needs K = H
//     general:   u_j = W_a s_j                    (S, B, H)   W_a (H, K)
//     additive:  k_j = W_k s_j                    (S, B, A)   W_k (A, K)
//   scores:
//     dot, general:  e_tj = h_tᵀ u_j                                      one GEMM per b
//     additive:      z_tj = tanh(W_q h_t + k_j)   (S, A) per row (t, b),  e_tj = vᵀ z_tj   W_q (A, H), v (A)
//                    (z is not kept: backward recomputes it from W_q h_t (T, B, A) rather than hold T·B·S·A values)
//   α_tj = exp(e_tj) / Σ_{j' < length_b} exp(e_tj'),  exactly 0 for j ≥ length_b     (T, B, S)
//   c_t  = Σ_j α_tj s_j                                                  (T, B, K)   one GEMM per b
// Backward, from ∂c (T, B, K), adding into the parameters' gradients:
//   ∂α_tj = ∂c_tᵀ s_j                        ∂s_j += Σ_t α_tj ∂c_t
//   ∂e_tj = α_tj (∂α_tj − Σ_j' α_tj' ∂α_tj')  (softmax; 0 at masked j, where α = 0)
//   dot, general:  ∂h_t = Σ_j ∂e_tj u_j,  ∂u_j = Σ_t ∂e_tj h_t
//     dot:      ∂s_j += ∂u_j
//     general:  ∂W_a += Σ_j ∂u_j s_jᵀ,  ∂s_j += W_aᵀ ∂u_j
//   additive:  ∂v += Σ_tj ∂e_tj z_tj,  ∂a_tj = ∂e_tj v ⊙ (1 − z_tj²)   (a: the argument of tanh)
//     ∂(W_q h_t) = Σ_j ∂a_tj:  ∂W_q += · h_tᵀ,  ∂h_t = W_qᵀ ·
//     ∂k_j       = Σ_t ∂a_tj:  ∂W_k += · s_jᵀ,  ∂s_j += W_kᵀ ·
// Time-major throughout: row (t, b) of a (T, B, F) buffer starts at (t·B + b)·F, so the rows of
// one batch row b form a matrix with leading dimension B·F, which is what the per-b GEMMs read.

/// How a decoder's query `h_t` scores an encoder output `s_j`.
public enum AttentionScore: String, Codable, Sendable, Equatable, CaseIterable {
    /// No attention: the decoder's head reads `h_t` alone.
    case none
    /// `h_tᵀ s_j` (needs `D·H = H`: a unidirectional encoder).
    case dot
    /// `h_tᵀ W_a s_j`, `W_a` `[H, D·H]`, no bias.
    case general
    /// `vᵀ tanh(W_q h_t + W_k s_j)`, `W_q` `[A, H]`, `W_k` `[A, D·H]`, `v` `[A]`, no biases.
    case additive
}

/// An encoder's outputs prepared for ``Attention``: the values `s_j` and their projection by the
/// score's key weights, computed once per source and read by every decoder step.
public struct AttentionKeys<Scalar: RNNScalar>: Sendable {
    /// The values `s_j`, the encoder's top-layer outputs, `[S, B, K]`.
    public var values: [Scalar]
    /// `W_a s_j` `[S, B, H]` (general), `W_k s_j` `[S, B, A]` (additive); empty for dot (the values serve).
    public var projected: [Scalar]
    /// Source steps `S`.
    public var steps: Int
    /// Batch rows `B`.
    public var batch: Int
    /// `[B]` source lengths in `1…S`: positions `j ≥ length` get weight 0.
    public var lengths: [Int]

    /// The keys of `times` copies of every batch row, each row's copies side by side:
    /// row `b·times + k` of the result is row `b` (a beam of `times` hypotheses per source).
    func repeatingRows(_ times: Int) -> AttentionKeys {
        func repeated(_ buffer: [Scalar]) -> [Scalar] {
            guard !buffer.isEmpty else { return [] }
            let width = buffer.count / (steps * batch)
            var result = [Scalar](repeating: 0, count: buffer.count * times)   // (S, B·times, width)
            for j in 0..<steps {
                for b in 0..<batch {
                    let from = (j * batch + b) * width
                    for k in 0..<times {
                        let to = (j * batch * times + b * times + k) * width
                        result.replaceSubrange(to..<to + width, with: buffer[from..<from + width])
                    }
                }
            }
            return result
        }
        return AttentionKeys(values: repeated(values), projected: repeated(projected), steps: steps,
                             batch: batch * times, lengths: lengths.flatMap { [Int](repeating: $0, count: times) })
    }
}

/// What ``Attention/forward(queries:steps:keys:)`` computed: the context and weights, and what its
/// backward reads again.
public struct AttentionOutput<Scalar: RNNScalar>: Sendable {
    /// `c_t`, `[T, B, K]`.
    public var context: [Scalar]
    /// `α_tj`, `[T, B, S]`; 0 at `j ≥ length_b`.
    public var weights: [Scalar]
    /// Additive score: `W_q h_t`, `[T, B, A]`, from which backward recomputes `z_tj`; empty otherwise.
    var projectedQueries: [Scalar]
}

/// Attention of decoder queries over encoder outputs (see the top of this file for the equations),
/// with PyTorch-style parameter names, generic over the scalar type so that Double can check its gradients.
///
/// ``parameters`` holds, in this order: `query.weight` `[A, H]` (additive), `key.weight` `[H, K]`
/// (general: `W_a`) or `[A, K]` (additive: `W_k`), `v.weight` `[1, A]` (additive), each as
/// `nn.Linear(…, bias=False).weight` lays it out; dot has no parameters. ``gradients`` shares the
/// layout. Like ``Linear`` the layer keeps no activations: backward takes the forward's inputs and
/// output again. Backward adds into ``gradients``.
public final class Attention<Scalar: RNNScalar>: ParameterContainer {
    /// The score (not ``AttentionScore/none``).
    public let score: AttentionScore
    /// Query width `H`.
    public let querySize: Int
    /// Key and value width `K` (`D·H`).
    public let keySize: Int
    /// Additive hidden width `A` (0 for dot and general).
    public let attentionSize: Int
    /// The parameters, flat, in the order of ``parameterEntries``.
    public var parameters: [Scalar]
    /// Gradients, same layout as ``parameters``.
    public var gradients: [Scalar]

    /// One parameter tensor: its name, PyTorch shape and place in ``parameters``.
    public struct Entry: Sendable, Equatable {
        /// `query.weight`, `key.weight` or `v.weight`.
        public var name: String
        /// The PyTorch shape.
        public var shape: [Int]
        /// The first index in ``Attention/parameters``.
        public var offset: Int
        /// The element count.
        public var count: Int { shape.reduce(1, *) }
    }
    /// Every parameter tensor, in the order of ``parameters``.
    public let parameterEntries: [Entry]

    /// Creates the layer with `nn.Linear`'s initialisation for each weight: U(−1/√fan_in, 1/√fan_in)
    /// (`query.weight` 1/√H, `key.weight` 1/√K, `v.weight` 1/√A), drawn in parameter order by a
    /// ``SeededGenerator`` seeded with `seed` (default 0).
    /// - Parameters:
    ///   - score: dot, general or additive.
    ///   - querySize: `H ≥ 1`.  - keySize: `K ≥ 1` (must equal `H` for dot).
    ///   - attentionSize: `A ≥ 1` for additive (default `H`); ignored otherwise.
    /// - Throws: ``RNNKitError`` `.invalidArgument` for ``AttentionScore/none``, a size below 1 or a dot score with `K ≠ H`.
    public init(score: AttentionScore, querySize: Int, keySize: Int, attentionSize: Int? = nil, seed: UInt64 = 0) throws {
        let A = attentionSize ?? querySize
        guard score != .none else {
            throw RNNKitError(.invalidArgument, "an attention layer needs a score; expected dot, general or additive, got none")
        }
        guard querySize >= 1, keySize >= 1, score != .additive || A >= 1 else {
            throw RNNKitError(.invalidArgument,
                "attention needs query size H ≥ 1, key size K ≥ 1 and (additive) attention size A ≥ 1, got H = \(querySize), K = \(keySize), A = \(A)")
        }
        if score == .dot, keySize != querySize {
            throw RNNKitError(.invalidArgument,
                "dot attention needs the key size K = \(keySize) to equal the query size H = \(querySize); expected general or additive attention for keys of another width")
        }
        self.score = score
        self.querySize = querySize
        self.keySize = keySize
        self.attentionSize = score == .additive ? A : 0
        let shapes: [(String, [Int], Int)] = switch score {   // name, shape, fan-in
        case .none, .dot: []
        case .general: [("key.weight", [querySize, keySize], keySize)]
        case .additive: [("query.weight", [A, querySize], querySize), ("key.weight", [A, keySize], keySize), ("v.weight", [1, A], A)]
        }
        var entries: [Entry] = [], offset = 0
        for (name, shape, _) in shapes {
            entries.append(Entry(name: name, shape: shape, offset: offset))
            offset = try checkedSum(offset, try checkedProduct(shape[0], shape[1], what: "attention \(name)"), what: "attention parameters")
        }
        try ensureAllocatable(try checkedProduct(2, offset, what: "attention parameters and gradients"), of: Scalar.self,
                              what: "attention parameters and gradients")
        parameterEntries = entries
        var generator = SeededGenerator(seed: seed)
        var values: [Scalar] = []
        values.reserveCapacity(offset)
        for (_, shape, fanIn) in shapes {
            let bound = 1 / Double(fanIn).squareRoot()
            for _ in 0..<shape[0] * shape[1] { values.append(Scalar(generator.nextUniform(-bound, bound))) }
        }
        parameters = values
        gradients = [Scalar](repeating: 0, count: offset)
    }

    /// The index of the first element of parameter `name` in ``parameters``.
    private func offset(of name: String) -> Int { parameterEntries.first { $0.name == name }!.offset }
    /// Width of ``AttentionKeys/projected``: `H` (general), `A` (additive), 0 (dot).
    private var projectedWidth: Int { score == .general ? querySize : attentionSize }

    // MARK: Keys

    /// Prepares an encoder's outputs for ``forward(queries:steps:keys:)``: the values and, for general
    /// and additive scores, their projection by `key.weight` (one GEMM).
    /// - Parameters:
    ///   - encoderOutputs: `[S, B, K]`.
    ///   - steps: `S ≥ 1`.  - batch: `B ≥ 1`.
    ///   - lengths: `[B]` source lengths in `1…S`.
    /// - Throws: ``RNNKitError`` for counts or lengths that do not fit.
    public func keys(_ encoderOutputs: [Scalar], steps S: Int, batch B: Int, lengths: [Int]) throws -> AttentionKeys<Scalar> {
        guard S >= 1, B >= 1 else { throw RNNKitError(.invalidArgument, "attention needs S ≥ 1 and B ≥ 1, got S = \(S), B = \(B)") }
        guard encoderOutputs.count == S * B * keySize else {
            throw RNNKitError(.shapeMismatch,
                "expected encoder outputs [S, B, K] = [\(S), \(B), \(keySize)] with \(S * B * keySize) elements, got \(encoderOutputs.count)")
        }
        guard lengths.count == B, lengths.allSatisfy({ (1...S).contains($0) }) else {
            throw RNNKitError(.invalidArgument, "expected \(B) source lengths in 1…\(S), got \(lengths)")
        }
        var projected: [Scalar] = []                                                  // (S·B, H | A)
        if score != .dot {
            let P = projectedWidth, w = offset(of: "key.weight")
            projected = [Scalar](repeating: 0, count: S * B * P)
            parameters.withUnsafeBufferPointer { p in
                encoderOutputs.withUnsafeBufferPointer { s in
                    projected.withUnsafeMutableBufferPointer { u in
                        // u (S·B, P) = s (S·B, K) · Wᵀ,  W (P, K)
                        Scalar.gemm(transposeA: false, transposeB: true, m: S * B, n: P, k: keySize, alpha: 1,
                                    a: s.baseAddress!, lda: keySize, b: p.baseAddress! + w, ldb: keySize,
                                    beta: 0, c: u.baseAddress!, ldc: P)
                    }
                }
            }
        }
        return AttentionKeys(values: encoderOutputs, projected: projected, steps: S, batch: B, lengths: lengths)
    }

    // MARK: Forward

    /// Attends with every query to the keys of its batch row.
    /// - Parameters:
    ///   - queries: `h_t`, `[T, B, H]`.
    ///   - steps: `T ≥ 1`.
    ///   - keys: from ``keys(_:steps:batch:lengths:)``, with the same `B`.
    /// - Returns: the context `[T, B, K]` and the weights `[T, B, S]`.
    /// - Throws: ``RNNKitError`` for counts that do not fit.
    public func forward(queries: [Scalar], steps T: Int, keys: AttentionKeys<Scalar>) throws -> AttentionOutput<Scalar> {
        let B = keys.batch, S = keys.steps, H = querySize, K = keySize, A = attentionSize
        try validate(queries: queries, steps: T, keys: keys)
        var weights = [Scalar](repeating: 0, count: T * B * S)                        // (T, B, S): scores, then α
        var queryProjection = [Scalar](repeating: 0, count: score == .additive ? T * B * A : 0)   // (T·B, A) = q · W_qᵀ
        var context = [Scalar](repeating: 0, count: T * B * K)                        // (T, B, K)
        let (u, ldu) = score == .dot ? (keys.values, B * K) : (keys.projected, B * projectedWidth)
        parameters.withUnsafeBufferPointer { p in
            queries.withUnsafeBufferPointer { q in
                weights.withUnsafeMutableBufferPointer { e in
                    switch score {
                    case .none, .dot, .general:
                        u.withUnsafeBufferPointer { u in
                            for b in 0..<B {
                                // e_b (T, n) = q_b (T, H) · u_b[0..<n]ᵀ,  n = length_b
                                Scalar.gemm(transposeA: false, transposeB: true, m: T, n: keys.lengths[b], k: H, alpha: 1,
                                            a: q.baseAddress! + b * H, lda: B * H, b: u.baseAddress! + b * H, ldb: ldu,
                                            beta: 0, c: e.baseAddress! + b * S, ldc: B * S)
                            }
                        }
                    case .additive:
                        let v = p.baseAddress! + offset(of: "v.weight")                     // (A)
                        var hidden = [Scalar](repeating: 0, count: S * A)                    // (S, A): z_t of one row
                        queryProjection.withUnsafeMutableBufferPointer { wq in
                            Scalar.gemm(transposeA: false, transposeB: true, m: T * B, n: A, k: H, alpha: 1,
                                        a: q.baseAddress!, lda: H, b: p.baseAddress! + offset(of: "query.weight"), ldb: H,
                                        beta: 0, c: wq.baseAddress!, ldc: A)
                            hidden.withUnsafeMutableBufferPointer { z in
                                for row in 0..<T * B {                                         // row = t·B + b
                                    let n = keys.lengths[row % B]
                                    additiveHidden(row: row, keys: keys, projectedQueries: wq.baseAddress!, into: z.baseAddress!)
                                    // e_t (n) = z_t (n, A) · v
                                    Scalar.gemv(transpose: false, m: n, n: A, alpha: 1, a: z.baseAddress!, lda: A, x: v,
                                                beta: 0, y: e.baseAddress! + row * S)
                                }
                            }
                        }
                    }
                    // α = softmax over j < length_b; the masked positions stay exactly 0.
                    for t in 0..<T {
                        for b in 0..<B {
                            let row = e.baseAddress! + (t * B + b) * S, n = keys.lengths[b]
                            var largest = row[0]
                            for j in 1..<n where row[j] > largest { largest = row[j] }
                            var total: Scalar = 0
                            for j in 0..<n {
                                row[j] = Scalar.exponential(row[j] - largest)
                                total += row[j]
                            }
                            for j in 0..<n { row[j] /= total }
                        }
                    }
                }
            }
        }
        weights.withUnsafeBufferPointer { w in
            keys.values.withUnsafeBufferPointer { s in
                context.withUnsafeMutableBufferPointer { c in
                    for b in 0..<B {
                        // c_b (T, K) = α_b[:, 0..<n] · s_b[0..<n]
                        Scalar.gemm(transposeA: false, transposeB: false, m: T, n: K, k: keys.lengths[b], alpha: 1,
                                    a: w.baseAddress! + b * S, lda: B * S, b: s.baseAddress! + b * K, ldb: B * K,
                                    beta: 0, c: c.baseAddress! + b * K, ldc: B * K)
                    }
                }
            }
        }
        return AttentionOutput(context: context, weights: weights, projectedQueries: queryProjection)
    }

    // MARK: Backward

    /// Backpropagates one forward from `∂L/∂context`, adding into ``gradients``.
    /// - Parameters:
    ///   - contextGradient: `∂L/∂c`, `[T, B, K]`.
    ///   - queries: the forward's queries `[T, B, H]`.
    ///   - keys: the forward's keys.
    ///   - output: the forward's result.
    /// - Returns: `∂L/∂queries` `[T, B, H]` and `∂L/∂(encoder outputs)` `[S, B, K]` (through the values
    ///   and through the keys; 0 at masked positions).
    /// - Throws: ``RNNKitError`` for counts that do not fit.
    public func backward(contextGradient: [Scalar], queries: [Scalar], keys: AttentionKeys<Scalar>,
                         output: AttentionOutput<Scalar>) throws -> (queries: [Scalar], encoderOutputs: [Scalar]) {
        var result = try backwardDeferringKeyProjection(contextGradient: contextGradient, queries: queries, keys: keys,
                                                        output: output)
        if let keyProjection = result.keyProjection {
            try addKeyProjectionGradient(keyProjection, keys: keys, into: &result.encoderOutputs)
        }
        return (result.queries, result.encoderOutputs)
    }

    /// ``backward(contextGradient:queries:keys:output:)`` without the last step of general and
    /// additive scores: their gradient of the projected keys `∂u` `(S·B, P)` is returned rather
    /// than taken through the key projection (`∂W_k += ∂uᵀ · s`, `∂s += ∂u · W_k`), so that a caller
    /// running one query step at a time sums `∂u` over the steps and applies it once with
    /// ``addKeyProjectionGradient(_:keys:into:)``. `keyProjection` is `nil` for `none` and `dot`.
    func backwardDeferringKeyProjection(contextGradient: [Scalar], queries: [Scalar], keys: AttentionKeys<Scalar>,
                                        output: AttentionOutput<Scalar>)
        throws -> (queries: [Scalar], encoderOutputs: [Scalar], keyProjection: [Scalar]?) {
        let B = keys.batch, S = keys.steps, H = querySize, K = keySize, A = attentionSize
        let T = queries.count / max(B * H, 1)
        try validate(queries: queries, steps: T, keys: keys)
        guard contextGradient.count == T * B * K, output.weights.count == T * B * S,
              output.projectedQueries.count == (score == .additive ? T * B * A : 0) else {
            throw RNNKitError(.shapeMismatch,
                "expected a context gradient [T, B, K] = [\(T), \(B), \(K)] and the output of a forward over T = \(T) steps, got \(contextGradient.count) gradient and \(output.weights.count) weight elements")
        }
        var scoreGradient = [Scalar](repeating: 0, count: T * B * S)                  // (T, B, S): ∂α, then ∂e
        var dQueries = [Scalar](repeating: 0, count: T * B * H)                       // (T, B, H)
        var dValues = [Scalar](repeating: 0, count: S * B * K)                        // (S, B, K)
        contextGradient.withUnsafeBufferPointer { dc in
            output.weights.withUnsafeBufferPointer { w in
                keys.values.withUnsafeBufferPointer { s in
                    scoreGradient.withUnsafeMutableBufferPointer { de in
                        dValues.withUnsafeMutableBufferPointer { ds in
                            for b in 0..<B {
                                let n = keys.lengths[b]
                                // ∂α_b (T, n) = ∂c_b (T, K) · s_b[0..<n]ᵀ
                                Scalar.gemm(transposeA: false, transposeB: true, m: T, n: n, k: K, alpha: 1,
                                            a: dc.baseAddress! + b * K, lda: B * K, b: s.baseAddress! + b * K, ldb: B * K,
                                            beta: 0, c: de.baseAddress! + b * S, ldc: B * S)
                                // ∂s_b[0..<n] (n, K) += α_b[:, 0..<n]ᵀ · ∂c_b
                                Scalar.gemm(transposeA: true, transposeB: false, m: n, n: K, k: T, alpha: 1,
                                            a: w.baseAddress! + b * S, lda: B * S, b: dc.baseAddress! + b * K, ldb: B * K,
                                            beta: 1, c: ds.baseAddress! + b * K, ldc: B * K)
                            }
                            // ∂e_tj = α_tj (∂α_tj − Σ_j' α_tj' ∂α_tj')
                            for row in 0..<T * B {
                                let n = keys.lengths[row % B], base = row * S
                                var weighted: Scalar = 0
                                for j in 0..<n { weighted += w[base + j] * de[base + j] }
                                for j in 0..<n { de[base + j] = w[base + j] * (de[base + j] - weighted) }
                            }
                        }
                    }
                }
            }
        }
        switch score {
        case .none, .dot, .general:
            let P = score == .dot ? K : H
            let u = score == .dot ? keys.values : keys.projected                      // (S, B, H)
            var dProjected = [Scalar](repeating: 0, count: score == .general ? S * B * H : 0)   // (S, B, H) = ∂u
            scoreGradient.withUnsafeBufferPointer { de in
                queries.withUnsafeBufferPointer { q in
                    u.withUnsafeBufferPointer { u in
                        dQueries.withUnsafeMutableBufferPointer { dq in
                            dValues.withUnsafeMutableBufferPointer { ds in
                                dProjected.withUnsafeMutableBufferPointer { du in
                                    // dot: ∂u is ∂s itself, added; general: ∂u, into its own buffer.
                                    let (target, beta): (UnsafeMutablePointer<Scalar>, Scalar) =
                                        score == .dot ? (ds.baseAddress!, 1) : (du.baseAddress!, 0)
                                    for b in 0..<B {
                                        let n = keys.lengths[b]
                                        // ∂q_b (T, H) = ∂e_b (T, n) · u_b[0..<n]
                                        Scalar.gemm(transposeA: false, transposeB: false, m: T, n: H, k: n, alpha: 1,
                                                    a: de.baseAddress! + b * S, lda: B * S, b: u.baseAddress! + b * P, ldb: B * P,
                                                    beta: 0, c: dq.baseAddress! + b * H, ldc: B * H)
                                        // ∂u_b[0..<n] (n, H) (+)= ∂e_bᵀ · q_b
                                        Scalar.gemm(transposeA: true, transposeB: false, m: n, n: H, k: T, alpha: 1,
                                                    a: de.baseAddress! + b * S, lda: B * S, b: q.baseAddress! + b * H, ldb: B * H,
                                                    beta: beta, c: target + b * P, ldc: B * P)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if score == .general { return (dQueries, dValues, dProjected) }
        case .additive:
            var dQueryProjection = [Scalar](repeating: 0, count: T * B * A)           // (T, B, A) = Σ_j ∂a_tj
            var dKeyProjection = [Scalar](repeating: 0, count: S * B * A)             // (S, B, A) = Σ_t ∂a_tj
            let vOffset = offset(of: "v.weight"), qOffset = offset(of: "query.weight")
            parameters.withUnsafeBufferPointer { p in
                gradients.withUnsafeMutableBufferPointer { g in
                    let v = p.baseAddress! + vOffset, dv = g.baseAddress! + vOffset    // (A)
                    var hidden = [Scalar](repeating: 0, count: S * A)                        // (S, A): z_t of one row
                    hidden.withUnsafeMutableBufferPointer { z in
                        scoreGradient.withUnsafeBufferPointer { de in
                            dQueryProjection.withUnsafeMutableBufferPointer { dwq in
                                dKeyProjection.withUnsafeMutableBufferPointer { dwk in
                                    for row in 0..<T * B {                                     // row = t·B + b
                                        let b = row % B, n = keys.lengths[b]
                                        output.projectedQueries.withUnsafeBufferPointer { wq in
                                            additiveHidden(row: row, keys: keys, projectedQueries: wq.baseAddress!, into: z.baseAddress!)
                                        }
                                        let zRow = z.baseAddress!, deRow = de.baseAddress! + row * S
                                        // ∂v (A) += z_tᵀ (A, n) · ∂e_t (n)
                                        Scalar.gemv(transpose: true, m: n, n: A, alpha: 1, a: zRow, lda: A, x: deRow,
                                                    beta: 1, y: dv)
                                        let dq = dwq.baseAddress! + row * A
                                        for j in 0..<n {
                                            let scale = deRow[j], zj = zRow + j * A, dk = dwk.baseAddress! + (j * B + b) * A
                                            for a in 0..<A {
                                                let da = scale * v[a] * (1 - zj[a] * zj[a])      // tanh' = 1 − z²
                                                dq[a] += da
                                                dk[a] += da
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    dQueryProjection.withUnsafeBufferPointer { dwq in
                        queries.withUnsafeBufferPointer { q in
                            // ∂W_q (A, H) += ∂(W_q h)ᵀ (A, T·B) · q (T·B, H)
                            Scalar.gemm(transposeA: true, transposeB: false, m: A, n: H, k: T * B, alpha: 1,
                                        a: dwq.baseAddress!, lda: A, b: q.baseAddress!, ldb: H,
                                        beta: 1, c: g.baseAddress! + qOffset, ldc: H)
                        }
                        dQueries.withUnsafeMutableBufferPointer { dq in
                            // ∂q (T·B, H) = ∂(W_q h) (T·B, A) · W_q (A, H)
                            Scalar.gemm(transposeA: false, transposeB: false, m: T * B, n: H, k: A, alpha: 1,
                                        a: dwq.baseAddress!, lda: A, b: p.baseAddress! + qOffset, ldb: H,
                                        beta: 0, c: dq.baseAddress!, ldc: H)
                        }
                    }
                }
            }
            return (dQueries, dValues, dKeyProjection)
        }
        return (dQueries, dValues, nil)
    }

    /// `z_tj = tanh(W_q h_t + k_j)` of one query row `row = t·B + b`, for `j < length_b`, into `z (S, A)`.
    private func additiveHidden(row: Int, keys: AttentionKeys<Scalar>, projectedQueries: UnsafePointer<Scalar>,
                                into z: UnsafeMutablePointer<Scalar>) {
        let A = attentionSize, B = keys.batch, b = row % B, n = keys.lengths[b]
        let wq = projectedQueries + row * A                                            // (A) = W_q h_t
        keys.projected.withUnsafeBufferPointer { wk in                                 // (S, B, A) = W_k s
            for j in 0..<n {
                let zj = z + j * A, kj = wk.baseAddress! + (j * B + b) * A
                for a in 0..<A { zj[a] = wq[a] + kj[a] }
            }
        }
        Scalar.tanhRow(z, z, count: n * A)
    }

    /// `∂u (S·B, P)` of the projected keys `u = s · Wᵀ` (W = `key.weight`, `(P, K)`; P = H for
    /// general scores, A for additive ones): `∂W += ∂uᵀ · s` and `∂s (S·B, K) += ∂u · W`.
    func addKeyProjectionGradient(_ dProjected: [Scalar], keys: AttentionKeys<Scalar>,
                                  into dValues: inout [Scalar]) throws {
        let rows = keys.steps * keys.batch, K = keySize, P = projectedWidth, w = offset(of: "key.weight")
        guard dProjected.count == rows * P, dValues.count == rows * K else {
            throw RNNKitError(.shapeMismatch,
                "expected ∂u [S·B, P] = [\(rows), \(P)] and ∂s [S·B, K] = [\(rows), \(K)], got \(dProjected.count) and \(dValues.count) elements")
        }
        dProjected.withUnsafeBufferPointer { du in
            keys.values.withUnsafeBufferPointer { s in
                gradients.withUnsafeMutableBufferPointer { g in
                    Scalar.gemm(transposeA: true, transposeB: false, m: P, n: K, k: rows, alpha: 1,
                                a: du.baseAddress!, lda: P, b: s.baseAddress!, ldb: K,
                                beta: 1, c: g.baseAddress! + w, ldc: K)
                }
            }
            parameters.withUnsafeBufferPointer { p in
                dValues.withUnsafeMutableBufferPointer { ds in
                    Scalar.gemm(transposeA: false, transposeB: false, m: rows, n: K, k: P, alpha: 1,
                                a: du.baseAddress!, lda: P, b: p.baseAddress! + w, ldb: K,
                                beta: 1, c: ds.baseAddress!, ldc: K)
                }
            }
        }
    }

    /// Checks the queries and keys of one forward or backward against the layer's sizes.
    private func validate(queries: [Scalar], steps T: Int, keys: AttentionKeys<Scalar>) throws {
        let B = keys.batch, S = keys.steps
        guard T >= 1 else { throw RNNKitError(.invalidArgument, "attention needs T ≥ 1 query steps, got \(T)") }
        guard queries.count == T * B * querySize else {
            throw RNNKitError(.shapeMismatch,
                "expected queries [T, B, H] = [\(T), \(B), \(querySize)] with \(T * B * querySize) elements, got \(queries.count)")
        }
        guard keys.values.count == S * B * keySize, keys.projected.count == (score == .dot ? 0 : S * B * projectedWidth),
              keys.lengths.count == B, keys.lengths.allSatisfy({ (1...S).contains($0) }) else {
            throw RNNKitError(.shapeMismatch,
                "the keys do not fit this attention layer: expected values [S, B, K] = [\(S), \(B), \(keySize)], \(score == .dot ? "no projection" : "a projection [S, B, \(projectedWidth)]") and \(B) lengths in 1…\(S); make them with keys(_:steps:batch:lengths:)")
        }
    }
}
