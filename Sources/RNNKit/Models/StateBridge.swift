// The bridge from a bidirectional encoder's final states to a unidirectional decoder's initial state.
// Dimension legend:  L layers   B batch   H width of h (P for a projected LSTM)   C width of c (an LSTM's H)
//
// Forward, for each layer k (the encoder's state rows 2k and 2k + 1 are its forward and reverse directions):
//   x_k  (B, 2H) = [h_{k,forward} ; h_{k,reverse}]        the two directions' final states side by side
//   h0_k (B, H)  = x_k · W_kᵀ + b_k                       W_k (H, 2H), b_k (H): nn.Linear(2H, H)
//   and, for an LSTM, c0_k (B, C) from [c_{k,forward} ; c_{k,reverse}] (B, 2C) by a second map of its own.
// Backward, for each map:
//   ∂x_k = ∂h0_k · W_k, split back into the two directions' rows;  ∂W_k += ∂h0_kᵀ · x_k;  ∂b_k += Σ_b ∂h0_k

/// Learned linear maps from each layer's two final encoder states (`2H`, `2C`) to the decoder's initial
/// state (`H`, `C`), one for `h` and, for LSTM, one for `c` per layer; generic so Double can check its gradients.
///
/// Keeps no activations: ``backward(outputGradient:input:)`` takes the forward's input again.
/// Backward adds into the maps' gradients.
public final class StateBridge<Scalar: RNNScalar> {
    /// Layers `L`.
    public let layers: Int
    /// Width `H` of each row of the hidden state (`P` for a projected LSTM).
    public let hiddenSize: Int
    /// Width `C` of each row of the cell state, or 0 for cells without one.
    public let cellSize: Int
    /// `[L]` maps of the hidden state, `[H, 2H]` weight and `[H]` bias each.
    public let hiddenMaps: [Linear<Scalar>]
    /// `[L]` maps of the LSTM cell state, `[C, 2C]` weight and `[C]` bias each; empty for cells without one.
    public let cellMaps: [Linear<Scalar>]

    /// Creates the maps with `nn.Linear`'s initialisation (U(−1/√(2H), 1/√(2H)), weight then bias),
    /// each from its own ``SeededGenerator`` stream derived from `seed` (default 0).
    /// - Parameters:
    ///   - layers: `L ≥ 1`.  - hiddenSize: `H ≥ 1`, the width of `h`.
    ///   - cellSize: `C`, the width of the cell state to map too (an LSTM's hidden size), or 0 (default) for none.
    /// - Throws: ``RNNKitError`` if a size is below 1 (or `C` below 0).
    public init(layers: Int, hiddenSize: Int, cellSize: Int = 0, seed: UInt64 = 0) throws {
        guard layers >= 1, hiddenSize >= 1, cellSize >= 0 else {
            throw RNNKitError(.invalidArgument,
                "a state bridge needs L ≥ 1, H ≥ 1 and C ≥ 0, got L = \(layers), H = \(hiddenSize), C = \(cellSize)")
        }
        self.layers = layers
        self.hiddenSize = hiddenSize
        self.cellSize = cellSize
        hiddenMaps = try (0..<layers).map {
            try Linear<Scalar>(inputSize: 2 * hiddenSize, outputSize: hiddenSize, seed: derivedSeed(seed, 2 * UInt64($0)))
        }
        cellMaps = cellSize > 0 ? try (0..<layers).map {
            try Linear<Scalar>(inputSize: 2 * cellSize, outputSize: cellSize, seed: derivedSeed(seed, 2 * UInt64($0) + 1))
        } : []
    }

    /// Maps whose cell rows, if any, are as wide as the hidden rows (`C = H`).
    @available(*, deprecated, message: "use init(layers:hiddenSize:cellSize:seed:) with cellSize H or 0")
    public convenience init(layers: Int, hiddenSize: Int, mapsCell: Bool, seed: UInt64 = 0) throws {
        try self.init(layers: layers, hiddenSize: hiddenSize, cellSize: mapsCell ? hiddenSize : 0, seed: seed)
    }

    /// The maps with their file names, layer by layer: `hidden_l{k}` then `cell_l{k}`.
    public var namedMaps: [(name: String, map: Linear<Scalar>)] {
        (0..<layers).flatMap { k in
            [("hidden_l\(k)", hiddenMaps[k])] + (cellMaps.isEmpty ? [] : [("cell_l\(k)", cellMaps[k])])
        }
    }

    /// The maps as parameter groups, in the order of ``namedMaps``.
    public var parameterGroups: [any ParameterContainer<Scalar>] { namedMaps.map { $0.map as any ParameterContainer<Scalar> } }

    // MARK: Forward

    /// Maps an encoder's final state `[2L, B, H]` (and `[2L, B, C]`) to a decoder's initial state `[L, B, H]` (and `[L, B, C]`).
    /// - Throws: ``RNNKitError`` `.shapeMismatch` for a state of another shape.
    public func forward(_ encoderState: RecurrentState<Scalar>) throws -> RecurrentState<Scalar> {
        try validate(encoderState, rows: 2 * layers, "the encoder's final state")
        let B = encoderState.batch
        func map(_ state: [Scalar], _ maps: [Linear<Scalar>], width: Int) throws -> [Scalar] {
            var result: [Scalar] = []                                                 // (L, B, width)
            result.reserveCapacity(layers * B * width)
            for k in 0..<layers {
                result += try maps[k].forward(sideBySide(state, layer: k, batch: B, width: width), rows: B)   // (B, width)
            }
            return result
        }
        return RecurrentState(batch: B, hidden: try map(encoderState.hidden, hiddenMaps, width: hiddenSize),
                              cell: try encoderState.cell.map { try map($0, cellMaps, width: cellSize) })
    }

    // MARK: Backward

    /// Backpropagates one forward: adds into the maps' gradients and returns `∂L/∂(encoder state)` `[2L, B, H]`
    /// (and `[2L, B, C]`).
    /// - Parameters:
    ///   - outputGradient: `∂L/∂(decoder initial state)`, `[L, B, H]` (and `[L, B, C]`).
    ///   - input: the forward's encoder state, `[2L, B, H]` (and `[2L, B, C]`).
    public func backward(outputGradient: RecurrentState<Scalar>, input: RecurrentState<Scalar>) throws -> RecurrentState<Scalar> {
        try validate(input, rows: 2 * layers, "the encoder's final state")
        try validate(outputGradient, rows: layers, "the initial state gradient")
        let B = input.batch
        func unmap(_ gradient: [Scalar], _ state: [Scalar], _ maps: [Linear<Scalar>], width H: Int) throws -> [Scalar] {
            var result = [Scalar](repeating: 0, count: 2 * layers * B * H)           // (2L, B, H)
            for k in 0..<layers {
                let dx = try maps[k].backward(outputGradient: Array(gradient[k * B * H..<(k + 1) * B * H]),
                                              input: sideBySide(state, layer: k, batch: B, width: H), rows: B)   // (B, 2H)
                for b in 0..<B {
                    for d in 0..<2 {
                        let to = ((2 * k + d) * B + b) * H, from = b * 2 * H + d * H
                        result.replaceSubrange(to..<to + H, with: dx[from..<from + H])
                    }
                }
            }
            return result
        }
        let cell: [Scalar]?
        if let inputCell = input.cell, let dCell = outputGradient.cell {
            cell = try unmap(dCell, inputCell, cellMaps, width: cellSize)
        } else {
            cell = input.cell.map { [Scalar](repeating: 0, count: $0.count) }
        }
        return RecurrentState(batch: B, hidden: try unmap(outputGradient.hidden, input.hidden, hiddenMaps, width: hiddenSize), cell: cell)
    }

    /// `x_k (B, 2H)`: layer `k`'s forward and reverse rows of a `[2L, B, H]` state (`H` = `width`), side by side.
    private func sideBySide(_ state: [Scalar], layer k: Int, batch B: Int, width H: Int) -> [Scalar] {
        var x = [Scalar](repeating: 0, count: B * 2 * H)
        for b in 0..<B {
            for d in 0..<2 {
                let from = ((2 * k + d) * B + b) * H, to = b * 2 * H + d * H
                x.replaceSubrange(to..<to + H, with: state[from..<from + H])
            }
        }
        return x
    }

    private func validate(_ state: RecurrentState<Scalar>, rows: Int, _ what: String) throws {
        let count = rows * state.batch * hiddenSize, cellCount = rows * state.batch * cellSize
        guard state.batch >= 1, state.hidden.count == count, (state.cell?.count ?? 0) == cellCount else {
            throw RNNKitError(.shapeMismatch,
                "\(what) does not fit this bridge: expected [\(rows), B, H] = [\(rows), \(state.batch), \(hiddenSize)] hidden values\(cellMaps.isEmpty ? ", no cell" : " and [\(rows), B, C] = [\(rows), \(state.batch), \(cellSize)] cell values"), got \(state.hidden.count) hidden and \(state.cell?.count ?? 0) cell")
        }
    }
}
