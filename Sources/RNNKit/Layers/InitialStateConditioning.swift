// A learned map from one condition per sequence to the initial state of every layer of a
// recurrent stack: the one-to-many pattern (a class id or a feature vector → a generated sequence).
// Dimension legend:  B batch   K classes   F condition features   L layers   D directions
//   H width of h (the projection size P for a projected LSTM)   C width of c (0 without a cell state)
//   N = L·D·(H + C) values per condition
//
// Forward:
//   class ids:  v (B, N) = table[id_b, :]              table [K, N] (nn.Embedding, N(0, 1) initialisation)
//   features:   v (B, N) = x (B, F) · Wᵀ + b           W [N, F], b [N]  (nn.Linear initialisation)
//   h0[ld, b, j] = v[b, ld·H + j],   c0[ld, b, j] = v[b, L·D·H + ld·C + j]      (ld = layer·D + direction)
// Backward: ∂v[b, ·] gathers ∂h0[·, b, ·] (and ∂c0) into the same positions; then the table's or the
// linear map's backward (a row of the table gets the gradients of every sequence of its class).

/// What a sequence is conditioned on, one per sequence of a batch.
public enum SequenceCondition: Sendable, Equatable {
    /// `[B]` class ids in `0..<K`.
    case classes([Int])
    /// `[B, F]` feature vectors.
    case features([Float])

    /// The rows of the batch.
    func rows(featureSize: Int) -> Int {
        switch self {
        case .classes(let ids): ids.count
        case .features(let values): featureSize > 0 ? values.count / featureSize : 0
        }
    }
}

/// Maps a class id (through a learned table) or a feature vector (through a learned linear map) to
/// the initial hidden (and cell) state of every layer and direction of a stack.
///
/// ``parameters`` is `weight` `[K, N]` for classes, or `weight` `[N, F]` then `bias` `[N]` for features,
/// `N = L·D·(H + C)`. Forward keeps its input for the next backward.
public final class InitialStateConditioning<Scalar: RNNScalar>: ParameterContainer {
    /// Layers times directions `L·D` of the stack.
    public let stateRows: Int
    /// Width `H` of each row of the hidden state (`P` for a projected LSTM).
    public let hiddenSize: Int
    /// Width `C` of each row of the cell state (an LSTM's `H`), or 0 when there is no cell state.
    public let cellSize: Int
    /// Whether the map also sets the cell state (LSTM).
    public var setsCellState: Bool { cellSize > 0 }
    /// The table (class conditions) or the linear map (feature conditions).
    private let classTable: Embedding<Scalar>?
    private let featureMap: Linear<Scalar>?
    private var savedInput: (ids: [Int], features: [Scalar], rows: Int)?

    /// A table of `classCount` initial states, drawn from N(0, 1) with `seed`.
    /// - Parameters:
    ///   - hiddenSize: `H`, the width of each row of `h`.  - cellSize: `C`, that of `c`, or 0 without a cell state.
    public init(classCount: Int, stateRows: Int, hiddenSize: Int, cellSize: Int, seed: UInt64) throws {
        self.stateRows = stateRows
        self.hiddenSize = hiddenSize
        self.cellSize = cellSize
        classTable = try Embedding<Scalar>(count: classCount, dimension: stateRows * (hiddenSize + cellSize), seed: seed)
        featureMap = nil
    }

    /// A linear map from `featureSize` values to the initial states, initialised as `nn.Linear` with `seed`.
    /// - Parameters:
    ///   - hiddenSize: `H`, the width of each row of `h`.  - cellSize: `C`, that of `c`, or 0 without a cell state.
    public init(featureSize: Int, stateRows: Int, hiddenSize: Int, cellSize: Int, seed: UInt64) throws {
        self.stateRows = stateRows
        self.hiddenSize = hiddenSize
        self.cellSize = cellSize
        classTable = nil
        featureMap = try Linear<Scalar>(inputSize: featureSize, outputSize: stateRows * (hiddenSize + cellSize), seed: seed)
    }

    /// A table whose cell rows, if any, are as wide as its hidden rows (`C = H`).
    @available(*, deprecated, message: "use init(classCount:stateRows:hiddenSize:cellSize:seed:) with cellSize H or 0")
    public convenience init(classCount: Int, stateRows: Int, hiddenSize: Int, setsCellState: Bool, seed: UInt64) throws {
        try self.init(classCount: classCount, stateRows: stateRows, hiddenSize: hiddenSize,
                      cellSize: setsCellState ? hiddenSize : 0, seed: seed)
    }

    /// A linear map whose cell rows, if any, are as wide as its hidden rows (`C = H`).
    @available(*, deprecated, message: "use init(featureSize:stateRows:hiddenSize:cellSize:seed:) with cellSize H or 0")
    public convenience init(featureSize: Int, stateRows: Int, hiddenSize: Int, setsCellState: Bool, seed: UInt64) throws {
        try self.init(featureSize: featureSize, stateRows: stateRows, hiddenSize: hiddenSize,
                      cellSize: setsCellState ? hiddenSize : 0, seed: seed)
    }

    /// Values `N = L·D·(H + C)` one condition sets.
    public var valuesPerCondition: Int { stateRows * (hiddenSize + cellSize) }

    /// Classes `K` (class conditions) or 0.
    public var classCount: Int { classTable?.count ?? 0 }
    /// Features `F` (feature conditions) or 0.
    public var featureSize: Int { featureMap?.inputSize ?? 0 }

    /// `weight` (and `bias` for feature conditions), the names of PyTorch's `nn.Embedding` / `nn.Linear`.
    public var parameterNames: [String] { classTable?.parameterNames ?? featureMap!.parameterNames }

    /// The shapes of ``parameterNames``: `[K, N]`, or `[N, F]` and `[N]`.
    public var parameterShapes: [[Int]] {
        if let classTable { return [[classTable.count, classTable.dimension]] }
        return [[featureMap!.outputSize, featureMap!.inputSize], [featureMap!.outputSize]]
    }

    /// The flat parameters of the table or the map.
    public var parameters: [Scalar] {
        get { classTable?.parameters ?? featureMap!.parameters }
        set { if let classTable { classTable.parameters = newValue } else { featureMap!.parameters = newValue } }
    }

    /// Gradients, laid out like ``parameters``.
    public var gradients: [Scalar] {
        get { classTable?.gradients ?? featureMap!.gradients }
        set { if let classTable { classTable.gradients = newValue } else { featureMap!.gradients = newValue } }
    }

    /// The initial state `[L·D, B, H]` (hidden, and cell when ``setsCellState``) for `B` conditions.
    /// - Parameter condition: `[B]` class ids, or `[B, F]` features (Float; converted to `Scalar`).
    /// - Throws: ``RNNKitError`` for the other kind of condition, a count that is not `B` or `B·F`, or an id out of range.
    public func forward(_ condition: SequenceCondition, batch B: Int) throws -> RecurrentState<Scalar> {
        switch condition {
        case .classes(let ids): try forward(classIds: ids, batch: B)
        case .features(let values): try forward(features: values.map { Scalar($0) }, batch: B)
        }
    }

    /// ``forward(_:batch:)`` for `[B]` class ids.
    public func forward(classIds ids: [Int], batch B: Int) throws -> RecurrentState<Scalar> {
        guard let classTable else {
            throw RNNKitError(.invalidArgument, "this model is conditioned on \(featureSize) features, not on a class id")
        }
        guard ids.count == B else {
            throw RNNKitError(.shapeMismatch, "expected \(B) class ids (one per sequence), got \(ids.count)")
        }
        if let bad = ids.firstIndex(where: { $0 < 0 || $0 >= classTable.count }) {
            throw RNNKitError(.invalidArgument,
                "condition class \(ids[bad]) of sequence \(bad) is out of range; expected a class id in 0..<\(classTable.count)")
        }
        savedInput = (ids, [], B)
        return scatter(try classTable.forward(ids), batch: B)
    }

    /// ``forward(_:batch:)`` for `[B, F]` feature vectors.
    public func forward(features: [Scalar], batch B: Int) throws -> RecurrentState<Scalar> {
        guard let featureMap else {
            throw RNNKitError(.invalidArgument, "this model is conditioned on a class id in 0..<\(classCount), not on features")
        }
        guard features.count == B * featureMap.inputSize else {
            throw RNNKitError(.shapeMismatch,
                "expected condition features [B, F] = [\(B), \(featureMap.inputSize)] (\(B * featureMap.inputSize) values), got \(features.count)")
        }
        savedInput = ([], features, B)
        return scatter(try featureMap.forward(features, rows: B), batch: B)
    }

    /// Adds the gradients of the last forward's parameters from `∂L/∂(initial state)` `[L·D, B, H]`
    /// (and `[L·D, B, C]` for the cell).
    /// - Throws: ``RNNKitError`` `.invalidState` without a forward, `.shapeMismatch` for a state of another size.
    public func backward(stateGradient: RecurrentState<Scalar>) throws {
        guard let (ids, features, B) = savedInput else {
            throw RNNKitError(.invalidState, "the initial-state conditioning has no forward to backpropagate")
        }
        savedInput = nil
        let hiddenCount = stateRows * B * hiddenSize, cellCount = stateRows * B * cellSize
        guard stateGradient.hidden.count == hiddenCount, (stateGradient.cell?.count ?? cellCount) == cellCount else {
            throw RNNKitError(.shapeMismatch,
                "expected a state gradient [L·D, B, H] = [\(stateRows), \(B), \(hiddenSize)]\(setsCellState ? " with a cell [L·D, B, C] = [\(stateRows), \(B), \(cellSize)]" : ""), got \(stateGradient.hidden.count) hidden and \(stateGradient.cell?.count ?? 0) cell values")
        }
        let dV = gather(stateGradient, batch: B)                         // (B, N)
        if let classTable {
            try classTable.backward(outputGradient: dV, ids: ids)
        } else {
            _ = try featureMap!.backward(outputGradient: dV, input: features, rows: B)
        }
    }

    /// Forgets the last forward's input (a state made for inference has no backward).
    func discardSavedInput() { savedInput = nil }

    /// `v (B, N)` → the state `[L·D, B, H]` (and `[L·D, B, C]`), hidden then cell.
    private func scatter(_ v: [Scalar], batch B: Int) -> RecurrentState<Scalar> {
        let H = hiddenSize, C = cellSize, LD = stateRows, N = valuesPerCondition
        var hidden = [Scalar](repeating: 0, count: LD * B * H)            // (L·D, B, H)
        var cell = [Scalar](repeating: 0, count: LD * B * C)              // (L·D, B, C)
        for b in 0..<B {
            for ld in 0..<LD {
                let to = (ld * B + b) * H, from = b * N + ld * H
                hidden.replaceSubrange(to..<to + H, with: v[from..<from + H])
                let cellTo = (ld * B + b) * C, cellFrom = b * N + LD * H + ld * C
                cell.replaceSubrange(cellTo..<cellTo + C, with: v[cellFrom..<cellFrom + C])
            }
        }
        return RecurrentState(batch: B, hidden: hidden, cell: setsCellState ? cell : nil)
    }

    /// The state `[L·D, B, H]` → `v (B, N)`: the inverse of ``scatter(_:batch:)``; a missing cell
    /// gradient counts as zero.
    private func gather(_ state: RecurrentState<Scalar>, batch B: Int) -> [Scalar] {
        let H = hiddenSize, C = cellSize, LD = stateRows, N = valuesPerCondition
        var v = [Scalar](repeating: 0, count: B * N)                      // (B, N)
        for b in 0..<B {
            for ld in 0..<LD {
                let from = (ld * B + b) * H, to = b * N + ld * H
                v.replaceSubrange(to..<to + H, with: state.hidden[from..<from + H])
                if let cell = state.cell {
                    let cellFrom = (ld * B + b) * C, cellTo = b * N + LD * H + ld * C
                    v.replaceSubrange(cellTo..<cellTo + C, with: cell[cellFrom..<cellFrom + C])
                }
            }
        }
        return v
    }
}
