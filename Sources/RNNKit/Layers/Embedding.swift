// A lookup table from token ids to vectors, PyTorch's nn.Embedding.
// Dimension legend:  N ids (for example T·B positions)   V vocabulary (num_embeddings)   E embedding size
//
// Forward:   Y[n, :] = W[id_n, :]
// Backward:  dW[id_n, :] += dY[n, :]      (an id seen twice accumulates twice; the padding row gets nothing)

/// A table of `V` learned vectors of size `E`, looked up by integer id (PyTorch's `nn.Embedding`).
///
/// ``parameters`` holds `weight` `[V, E]`; ``gradients`` shares that layout and
/// ``backward(outputGradient:ids:)`` adds into it. Like ``Linear``, it keeps no activations:
/// backward takes the ids again.
public final class Embedding<Scalar: RNNScalar>: ParameterContainer {
    /// Number of vectors `V` (`num_embeddings`).
    public let count: Int
    /// Size `E` of each vector (`embedding_dim`).
    public let dimension: Int
    /// An id whose vector is initialised to zero and never receives a gradient (`padding_idx`), or `nil` (default).
    public let paddingIndex: Int?
    /// `weight` `[V, E]`, flat.
    public var parameters: [Scalar]
    /// Gradients, `[V, E]`.
    public var gradients: [Scalar]

    /// Creates the table with PyTorch's default initialisation: every entry drawn from N(0, 1) by
    /// ``SeededGenerator/nextGaussian()`` seeded with `seed` (default 0), then the padding row zeroed.
    /// - Throws: ``RNNKitError`` if a size is not positive, `paddingIndex` is not in `0..<V`,
    ///   or the table would not fit in memory.
    public init(count: Int, dimension: Int, paddingIndex: Int? = nil, seed: UInt64 = 0) throws {
        guard count >= 1, dimension >= 1 else {
            throw RNNKitError(.invalidArgument,
                "an embedding needs at least 1 vector of size ≥ 1, got \(count) vectors of size \(dimension)")
        }
        if let paddingIndex, paddingIndex < 0 || paddingIndex >= count {
            throw RNNKitError(.invalidArgument, "padding index \(paddingIndex) is out of range; expected 0..<\(count)")
        }
        let total = try checkedProduct(count, dimension, what: "embedding weight [V, E]")
        try ensureAllocatable(try checkedProduct(2, total, what: "embedding weight and gradient"), of: Scalar.self,
                              what: "embedding weight and gradient")
        self.count = count
        self.dimension = dimension
        self.paddingIndex = paddingIndex
        var generator = SeededGenerator(seed: seed)
        var weight = (0..<total).map { _ in Scalar(generator.nextGaussian()) }   // [V, E]
        if let paddingIndex {
            for e in 0..<dimension { weight[paddingIndex * dimension + e] = 0 }
        }
        self.parameters = weight
        self.gradients = [Scalar](repeating: 0, count: total)
    }

    /// The parameter names in `state_dict` order: `["weight"]`.
    public var parameterNames: [String] { ["weight"] }

    /// A copy of the vector of `id`, `[E]`.
    /// - Throws: if `id` is not in `0..<V`.
    public func vector(of id: Int) throws -> [Scalar] {
        try validate(ids: [id])
        return Array(parameters[id * dimension..<(id + 1) * dimension])
    }

    // MARK: Forward

    /// Looks up `ids`.
    /// - Parameter ids: `[N]` ids in `0..<V`, in any shape (for example `[T, B]`), flat.
    /// - Returns: `[N, E]` (for `[T, B]` ids: `[T, B, E]`).
    /// - Throws: ``RNNKitError`` naming the first id out of range; nothing is computed then.
    public func forward(_ ids: [Int]) throws -> [Scalar] {
        var output = [Scalar](repeating: 0, count: ids.count * dimension)   // [N, E]
        try output.withUnsafeMutableBufferPointer { try forward(ids: ids, output: $0) }
        return output
    }

    /// The buffer-level forward: writes `[N, E]` into `output` (overwriting it).
    public func forward(ids: [Int], output: UnsafeMutableBufferPointer<Scalar>) throws {
        try validate(ids: ids)
        guard output.count == ids.count * dimension else {
            throw RNNKitError(.shapeMismatch,
                "expected output [N, E] = [\(ids.count), \(dimension)] with \(ids.count * dimension) elements, got \(output.count)")
        }
        let E = dimension
        parameters.withUnsafeBufferPointer { w in
            for (n, id) in ids.enumerated() {
                (output.baseAddress! + n * E).update(from: w.baseAddress! + id * E, count: E)
            }
        }
    }

    // MARK: Backward

    /// Adds `outputGradient[n, :]` into the gradient row of `ids[n]` for every `n`
    /// (skipping ``paddingIndex``). Ids are not differentiable, so nothing is returned.
    /// - Parameters:
    ///   - outputGradient: `∂L/∂y`, `[N, E]`.
    ///   - ids: the forward's ids, `[N]`.
    /// - Throws: ``RNNKitError`` if the counts disagree or an id is out of range; gradients are untouched then.
    public func backward(outputGradient: [Scalar], ids: [Int]) throws {
        try outputGradient.withUnsafeBufferPointer { try backward(outputGradient: $0, ids: ids) }
    }

    /// The buffer-level backward; same semantics.
    public func backward(outputGradient: UnsafeBufferPointer<Scalar>, ids: [Int]) throws {
        try validate(ids: ids)
        guard outputGradient.count == ids.count * dimension else {
            throw RNNKitError(.shapeMismatch,
                "expected output gradient [N, E] = [\(ids.count), \(dimension)] with \(ids.count * dimension) elements, got \(outputGradient.count)")
        }
        let E = dimension
        gradients.withUnsafeMutableBufferPointer { g in
            for (n, id) in ids.enumerated() where id != paddingIndex {
                let row = g.baseAddress! + id * E               // (E)
                let dY = outputGradient.baseAddress! + n * E    // (E)
                for e in 0..<E { row[e] += dY[e] }
            }
        }
    }

    /// Adds `tableGradient` `[V, E]` into ``gradients`` row by row, skipping ``paddingIndex``:
    /// the gradient of a lookup already summed by token (a recurrent network's token input).
    func accumulate(tableGradient: [Scalar]) {
        precondition(tableGradient.count == gradients.count, "expected a [V, E] table gradient")
        let E = dimension
        gradients.withUnsafeMutableBufferPointer { g in
            tableGradient.withUnsafeBufferPointer { d in
                for v in 0..<count where v != paddingIndex {
                    for e in 0..<E { g[v * E + e] += d[v * E + e] }
                }
            }
        }
    }

    /// Throws for the first id outside `0..<V`, or if the buffers lost their size.
    private func validate(ids: [Int]) throws {
        if let position = ids.firstIndex(where: { $0 < 0 || $0 >= count }) {
            throw RNNKitError(.invalidArgument,
                "token id \(ids[position]) at position \(position) is out of range; expected 0..<\(count) (the embedding has \(count) vectors)")
        }
        guard parameters.count == count * dimension, gradients.count == parameters.count else {
            throw RNNKitError(.invalidState,
                "parameters and gradients must hold \(count * dimension) scalars, hold \(parameters.count) and \(gradients.count)")
        }
    }
}
