// Streaming: one time step at a time, state in, state out. Dimension legend as in
// RecurrentNetwork.swift; streaming is unidirectional, so D = 1.

/// The recurrent state of every layer and direction of a network or model, in PyTorch's `(h, c)`
/// layout: what streaming carries from one step to the next, what a forward starts from and ends
/// with (`h0`/`c0`, `h_n`/`c_n`), and what a seq2seq encoder hands its decoder.
public struct RecurrentState<Scalar: RNNScalar>: Sendable, Equatable {
    /// Rows `B` of the batch.
    public let batch: Int
    /// `[L·D, B, R]` hidden state of every layer and direction (`D = 1` when streaming; `R` is
    /// the projection size `P` of a projected LSTM, else `H`).
    public var hidden: [Scalar]
    /// `[L·D, B, H]` LSTM cell state; `nil` for RNN and GRU.
    public var cell: [Scalar]?

    /// Creates a state from its parts (counts are checked where the state is used).
    public init(batch: Int, hidden: [Scalar], cell: [Scalar]?) {
        self.batch = batch
        self.hidden = hidden
        self.cell = cell
    }
}

extension RecurrentNetwork {
    /// A zero state for streaming `batch` rows (default 1).
    /// - Throws: if the network is bidirectional (a reverse direction needs the whole sequence) or `batch < 1`.
    public func makeState(batch: Int = 1) throws -> RecurrentState<Scalar> {
        try requireStreamable()
        guard batch >= 1 else { throw RNNKitError(.invalidArgument, "batch size B must be at least 1, got \(batch)") }
        let c = configuration
        let hiddenCount = try checkedProduct(c.numLayers, batch, c.stateSize, what: "state")
        let cellCount = try checkedProduct(c.numLayers, batch, c.hiddenSize, what: "state")
        try ensureAllocatable(try checkedSum(hiddenCount, cellCount, what: "state"), of: Scalar.self, what: "state")
        return RecurrentState(
            batch: batch, hidden: Array(repeating: 0, count: hiddenCount),
            cell: c.cell.hasCellState ? Array(repeating: 0, count: cellCount) : nil)
    }

    /// Advances `state` by one time step and returns the top layer's output `[B, R]`.
    ///
    /// Equivalent to ``forward(_:steps:batch:lengths:initialHidden:initialCell:)`` with `T = 1`
    /// and `h0 = state`, so stepping through a sequence gives the same numbers as one call over it.
    /// It never keeps activations and does not disturb a pending ``backward(outputGradient:finalHiddenGradient:finalCellGradient:)``.
    /// - Parameter input: `[B, I]`.
    public func step(_ input: [Scalar], state: inout RecurrentState<Scalar>) throws -> [Scalar] {
        try requireStreamable()
        let c = configuration, B = state.batch
        guard input.count == B * c.inputSize else {
            throw RNNKitError(.shapeMismatch, "expected step input with \(B * c.inputSize) elements [B, I] = [\(B), \(c.inputSize)], got \(input.count)")
        }
        guard state.hidden.count == c.numLayers * B * c.stateSize,
              (state.cell?.count ?? 0) == (c.cell.hasCellState ? c.numLayers * B * c.hiddenSize : 0) else {
            throw RNNKitError(.shapeMismatch, "the state does not belong to this network; make it with makeState(batch:)")
        }
        var output = [Scalar](repeating: 0, count: B * c.stateSize)
        let previous = state
        try input.withUnsafeBufferPointer { x in
            try previous.hidden.withUnsafeBufferPointer { h0 in
                try withOptionalBuffer(previous.cell) { c0 in
                    try output.withUnsafeMutableBufferPointer { y in
                        try state.hidden.withUnsafeMutableBufferPointer { hN in
                            try withOptionalMutableBuffer(&state.cell) { cN in
                                try run(input: x.baseAddress!, tokens: nil, steps: 1, batch: B, lengths: nil,
                                        initialHidden: h0.baseAddress, initialCell: c0?.baseAddress,
                                        output: y.baseAddress!, finalHidden: hN.baseAddress,
                                        finalCell: cN?.baseAddress, training: false)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    private func requireStreamable() throws {
        guard !configuration.bidirectional else {
            throw RNNKitError(.invalidArgument, "streaming needs a unidirectional network; a reverse direction reads the whole sequence")
        }
    }
}
