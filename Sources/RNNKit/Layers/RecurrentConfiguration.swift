/// The architecture of a stacked recurrent network, as PyTorch's `nn.RNN`/`nn.LSTM`/`nn.GRU` constructor sees it.
public struct RecurrentConfiguration: Codable, Sendable, Equatable, Hashable {
    /// The cell of every layer.
    public var cell: CellKind
    /// Features per time step of the input, `I` (≥ 1).
    public var inputSize: Int
    /// Features of the cell's gates and (LSTM) cell state, `H` (≥ 1); also of the hidden state
    /// unless ``projectionSize`` is set.
    public var hiddenSize: Int
    /// Number of stacked layers, `L` (≥ 1). Layer `k > 0` reads the `D·R` outputs of layer `k − 1`
    /// (``stateSize`` `R`).
    public var numLayers: Int
    /// Whether each layer runs a second, reverse-time direction; outputs are `[forward, backward]`.
    public var bidirectional: Bool
    /// Whether inputs and outputs are laid out `[B, T, ·]` instead of `[T, B, ·]` (default `false`).
    public var batchFirst: Bool
    /// Dropout probability `p` on the outputs of every layer but the last, in training mode
    /// (PyTorch's `dropout` argument), in `[0, 1)`; default 0.
    public var dropout: Double
    /// LSTM only: peephole connections (Gers & Schmidhuber 2000; ONNX's `P`), default `false`.
    /// The input and forget gates see `c_{t−1}`, the output gate sees `c_t`:
    /// `a_i += p_i ⊙ c_{t−1}`, `a_f += p_f ⊙ c_{t−1}`, `a_o += p_o ⊙ c_t`, with one extra
    /// parameter per layer and direction, `weight_peephole_l{k}` `[3H]` (blocks `i, f, o`).
    public var peepholes: Bool
    /// Recurrent dropout probability `p` in `[0, 1)` (Gal & Ghahramani 2016), training only; default 0.
    /// Each training forward draws, for every layer, direction and sequence, one mask `m` of `H`
    /// values in `{0, 1/(1 − p)}` and every recurrent product of the sequence reads `m ⊙ h_{t−1}`
    /// instead of `h_{t−1}` (the GRU's `z ⊙ h` term keeps the unmasked state). Inference is unchanged.
    public var recurrentDropout: Double
    /// Zoneout probability of the hidden state `z_h` in `[0, 1)` (Krueger et al. 2017), training
    /// only; default 0. At every step each unit of each row keeps its previous value with
    /// probability `z_h`: `h_t = d ⊙ h_{t−1} + (1 − d) ⊙ h̃_t`, `d` ~ Bernoulli(`z_h`) drawn anew
    /// each step; the output is `h_t`. Inference runs the plain cell (zoneout is the identity there).
    public var zoneoutHidden: Double
    /// LSTM only: zoneout probability of the cell state `z_c` in `[0, 1)`, the same rule on `c`
    /// with its own draws; default 0.
    public var zoneoutCell: Double
    /// LSTM only: the size `P` of a projected hidden state (Sak et al. 2014; PyTorch's
    /// `proj_size`), `0 < P < H`, or 0 (the default) for none. With a projection
    /// `h_t = W_hr (o_t ⊙ tanh(c_t))`, one more parameter per layer and direction,
    /// `weight_hr_l{k}` `[P, H]`; `weight_hh_l{k}` is `[4H, P]`, outputs are `D·P` wide, `h` states
    /// `[L·D, B, P]` and `c` states stay `[L·D, B, H]`.
    public var projectionSize: Int
    /// LSTM only: layer normalisation (Ba et al. 2016), default `false`. The input and recurrent
    /// pre-activations are normalised apart over their `4H` values, each with a gain and a
    /// shift, and `c_t` over its `H` values before the output `tanh`:
    /// `a = LN(W_ih x; α_x, β_x) + LN(W_hh h; α_h, β_h) + b_ih + b_hh`,
    /// `h_t = o ⊙ tanh(LN(c_t; α_c, β_c))`, ε = ``layerNormEpsilon``. Six tensors per layer and
    /// direction follow `bias_hh_l{k}`: `weight_ln_ih_l{k}`, `bias_ln_ih_l{k}`, `weight_ln_hh_l{k}`,
    /// `bias_ln_hh_l{k}` (`[4H]`), `weight_ln_c_l{k}`, `bias_ln_c_l{k}` (`[H]`); gains start at 1,
    /// shifts at 0.
    public var layerNorm: Bool

    /// Creates a configuration. Defaults: one layer, unidirectional, time-major, no dropout, no
    /// peepholes, no recurrent dropout, no zoneout.
    public init(
        cell: CellKind, inputSize: Int, hiddenSize: Int, numLayers: Int = 1,
        bidirectional: Bool = false, batchFirst: Bool = false, dropout: Double = 0, peepholes: Bool = false,
        recurrentDropout: Double = 0, zoneoutHidden: Double = 0, zoneoutCell: Double = 0, projectionSize: Int = 0,
        layerNorm: Bool = false
    ) {
        self.cell = cell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.bidirectional = bidirectional
        self.batchFirst = batchFirst
        self.dropout = dropout
        self.peepholes = peepholes
        self.recurrentDropout = recurrentDropout
        self.zoneoutHidden = zoneoutHidden
        self.zoneoutCell = zoneoutCell
        self.projectionSize = projectionSize
        self.layerNorm = layerNorm
    }

    private enum CodingKeys: String, CodingKey {
        case cell, inputSize, hiddenSize, numLayers, bidirectional, batchFirst, dropout, peepholes, recurrentDropout
        case zoneoutHidden, zoneoutCell, projectionSize, layerNorm
    }

    /// Decodes a configuration; `peepholes`, `recurrentDropout`, the zoneouts, `projectionSize`
    /// and `layerNorm` may be absent (encodings from before they existed): `false` and 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(cell: try container.decode(CellKind.self, forKey: .cell),
                  inputSize: try container.decode(Int.self, forKey: .inputSize),
                  hiddenSize: try container.decode(Int.self, forKey: .hiddenSize),
                  numLayers: try container.decode(Int.self, forKey: .numLayers),
                  bidirectional: try container.decode(Bool.self, forKey: .bidirectional),
                  batchFirst: try container.decode(Bool.self, forKey: .batchFirst),
                  dropout: try container.decode(Double.self, forKey: .dropout),
                  peepholes: try container.decodeIfPresent(Bool.self, forKey: .peepholes) ?? false,
                  recurrentDropout: try container.decodeIfPresent(Double.self, forKey: .recurrentDropout) ?? 0,
                  zoneoutHidden: try container.decodeIfPresent(Double.self, forKey: .zoneoutHidden) ?? 0,
                  zoneoutCell: try container.decodeIfPresent(Double.self, forKey: .zoneoutCell) ?? 0,
                  projectionSize: try container.decodeIfPresent(Int.self, forKey: .projectionSize) ?? 0,
                  layerNorm: try container.decodeIfPresent(Bool.self, forKey: .layerNorm) ?? false)
    }

    /// Number of directions `D`: 2 when bidirectional, else 1.
    public var directionCount: Int { bidirectional ? 2 : 1 }

    /// Whether the hidden state is projected (``projectionSize`` above 0).
    public var isProjected: Bool { projectionSize > 0 }

    /// Features of the hidden state `h`, `R`: ``projectionSize`` `P` when projected, else `H`.
    public var stateSize: Int { isProjected ? projectionSize : hiddenSize }

    /// Features per step of the output, `D·R`.
    public var outputSize: Int { directionCount * stateSize }

    /// Input features of layer `layer`: `I` for layer 0, `D·R` above it.
    public func layerInputSize(_ layer: Int) -> Int { layer == 0 ? inputSize : outputSize }

    /// Scalars of a hidden state `[L·D, B, R]` (`h0`, `h_n`) for `batch` rows.
    func hiddenStateCount(batch: Int) -> Int { numLayers * directionCount * batch * stateSize }

    /// Scalars of a cell state `[L·D, B, H]` (`c0`, `c_n`) for `batch` rows.
    func cellStateCount(batch: Int) -> Int { numLayers * directionCount * batch * hiddenSize }

    /// Whether training draws zoneout masks (either probability above 0).
    var hasZoneout: Bool { zoneoutHidden > 0 || zoneoutCell > 0 }

    /// Parameter tensors of one layer and direction: `weight_ih`, `weight_hh`, `bias_ih`,
    /// `bias_hh`, then `weight_hr` when projected, `weight_peephole` with ``peepholes`` and the
    /// six gains and shifts with ``layerNorm``.
    public var tensorsPerDirection: Int { 4 + (isProjected ? 1 : 0) + (peepholes ? 1 : 0) + (layerNorm ? 6 : 0) }

    /// Throws unless every size is positive, the dropout is in `[0, 1)`, the options suit the
    /// cell and the parameter count fits in memory.
    public func validate() throws {
        guard !peepholes || cell == .lstm else {
            throw RNNKitError(.invalidArgument, "peepholes are an LSTM option; a \(cell.rawValue) cell has no cell state for them to see")
        }
        guard dropout >= 0, dropout < 1 else {
            throw RNNKitError(.invalidArgument, "dropout \(dropout) is out of range; expected 0 ≤ p < 1")
        }
        guard recurrentDropout >= 0, recurrentDropout < 1 else {
            throw RNNKitError(.invalidArgument, "recurrent dropout \(recurrentDropout) is out of range; expected 0 ≤ p < 1")
        }
        for (name, value) in [("hidden", zoneoutHidden), ("cell", zoneoutCell)] where !(value >= 0 && value < 1) {
            throw RNNKitError(.invalidArgument, "zoneout of the \(name) state \(value) is out of range; expected 0 ≤ p < 1")
        }
        guard zoneoutCell == 0 || cell.hasCellState else {
            throw RNNKitError(.invalidArgument, "zoneout of the cell state is an LSTM option; a \(cell.rawValue) cell has no cell state")
        }
        guard inputSize >= 1 else {
            throw RNNKitError(.invalidArgument, "input size must be at least 1, got \(inputSize)")
        }
        guard hiddenSize >= 1 else {
            throw RNNKitError(.invalidArgument, "hidden size must be at least 1, got \(hiddenSize)")
        }
        guard numLayers >= 1 else {
            throw RNNKitError(.invalidArgument, "number of layers must be at least 1, got \(numLayers)")
        }
        if projectionSize != 0 {
            guard cell == .lstm else {
                throw RNNKitError(.invalidArgument, "a projection (proj_size) is an LSTM option; a \(cell.rawValue) cell has none")
            }
            guard projectionSize > 0, projectionSize < hiddenSize else {
                throw RNNKitError(.invalidArgument, "projection size \(projectionSize) is out of range; expected 0 < P < H = \(hiddenSize), or 0 for none")
            }
            guard recurrentDropout == 0, zoneoutHidden == 0, zoneoutCell == 0 else {
                throw RNNKitError(.invalidArgument, "recurrent dropout and zoneout are not supported with a projection (proj_size) in this version")
            }
        }
        if layerNorm {
            guard cell == .lstm else {
                throw RNNKitError(.invalidArgument, "layer normalisation is an LSTM option here; a \(cell.rawValue) cell has none")
            }
            guard !peepholes, !isProjected else {
                throw RNNKitError(.invalidArgument, "layer normalisation with peepholes or a projection is not supported in this version")
            }
        }
        // Largest matrix: G·H × max(I, D·R, R), times L·D of them; all must fit.
        let widest = max(inputSize, outputSize, hiddenSize)
        let perMatrix = try checkedProduct(cell.gateCount, hiddenSize, widest, what: "weight matrix")
        _ = try checkedProduct(perMatrix, 2 * numLayers * directionCount, what: "parameters")
    }
}

extension RecurrentConfiguration {
    /// The number of parameter tensors, `4·L·D`, plus `L·D` with a projection, `L·D` with
    /// peepholes and `6·L·D` with layer normalisation, with overflow checked.
    /// - Throws: ``RNNKitError`` `.outOfMemory` when it exceeds RNNKit's element limit.
    public func parameterTensorCount() throws -> Int {
        try checkedProduct(tensorsPerDirection, numLayers, directionCount, what: "parameter tensors")
    }

    /// The number of parameters, `Σ G·H·(I_k + R + 2)` over layers and directions:
    /// `D·G·H·(I + R + 2) + (L − 1)·D·G·H·(D·R + R + 2)`, plus `P·H·L·D` with a projection and
    /// `3H·L·D` with peepholes and `18H·L·D` with layer normalisation, in closed form with overflow
    /// checked (a hostile layer count cannot make it loop).
    /// ``ParameterLayout/totalCount`` equals it.
    /// - Throws: ``RNNKitError`` `.outOfMemory` when it exceeds RNNKit's element limit,
    ///   `.invalidArgument` for a layer count below 1.
    public func parameterCount() throws -> Int {
        let G = cell.gateCount, H = hiddenSize, R = stateSize, D = directionCount, what = "parameters"
        let firstLayer = try checkedProduct(D, G, H, try checkedSum(inputSize, R, 2, what: what), what: what)
        let upperWidth = try checkedSum(try checkedProduct(D, R, what: what), R, 2, what: what)
        let upperLayers = try checkedProduct(numLayers - 1, D, G, H, upperWidth, what: what)
        let projectionWeights = isProjected ? try checkedProduct(projectionSize, H, numLayers, D, what: what) : 0
        let peepholeWeights = peepholes ? try checkedProduct(3, H, numLayers, D, what: what) : 0
        let normalizations = layerNorm ? try checkedProduct(18, H, numLayers, D, what: what) : 0
        return try checkedSum(firstLayer, upperLayers, projectionWeights, peepholeWeights, normalizations, what: what)
    }
}

/// What a parameter tensor is within its layer and direction.
public enum ParameterRole: Sendable, Equatable {
    /// `weight_ih`, `[G·H, I_k]`.
    case inputWeight
    /// `weight_hh`, `[G·H, R]` (``RecurrentConfiguration/stateSize``).
    case hiddenWeight
    /// `bias_ih`, `[G·H]`.
    case inputBias
    /// `bias_hh`, `[G·H]`.
    case hiddenBias
    /// `weight_peephole`, `[3H]` (LSTM with peepholes): blocks `p_i, p_f, p_o`.
    case peepholeWeight
    /// `weight_hr`, `[P, H]` (LSTM with a projection): `h = W_hr (o ⊙ tanh c)`.
    case projectionWeight
    /// A layer-normalised LSTM's gain `α` (`weight_ln_*`) of one normalisation.
    case layerNormGain(LayerNormSite)
    /// A layer-normalised LSTM's shift `β` (`bias_ln_*`) of one normalisation.
    case layerNormShift(LayerNormSite)
}

/// Which of the layer-normalised LSTM's three normalisations a gain or shift belongs to.
public enum LayerNormSite: String, Sendable, Equatable, CaseIterable {
    /// The input pre-activations `W_ih x`, `[4H]` (`ln_ih`).
    case input = "ih"
    /// The recurrent pre-activations `W_hh h`, `[4H]` (`ln_hh`).
    case hidden = "hh"
    /// The cell state `c_t` before the output `tanh`, `[H]` (`ln_c`).
    case cell = "c"
}

/// One named tensor within the flat parameter buffer.
public struct ParameterEntry: Sendable, Equatable {
    /// PyTorch's `state_dict` key, for example `weight_hh_l1_reverse`.
    public let name: String
    /// The tensor's shape, as in PyTorch.
    public let shape: [Int]
    /// First element of the tensor in the flat buffer.
    public let offset: Int
    /// Number of elements (product of `shape`).
    public let count: Int
    /// Layer index `k`.
    public let layer: Int
    /// Direction: 0 forward, 1 reverse.
    public let direction: Int
    /// Which of the tensors of the layer and direction this is.
    public let role: ParameterRole
}

/// The order, names, shapes and offsets of a network's parameters in one flat buffer.
///
/// The order is PyTorch's `state_dict` order: for each layer `k`, for each
/// direction, `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`
/// (direction 1 adds the suffix `_reverse`), then `weight_hr_l{k}` with a projection (as
/// PyTorch has it), `weight_peephole_l{k}` with peepholes and, with layer normalisation,
/// `weight_ln_ih_l{k}`, `bias_ln_ih_l{k}`, `weight_ln_hh_l{k}`, `bias_ln_hh_l{k}`,
/// `weight_ln_c_l{k}`, `bias_ln_c_l{k}`. Parameters and gradients share this layout.
public struct ParameterLayout: Sendable, Equatable {
    /// The tensors in `state_dict` order.
    public let entries: [ParameterEntry]
    /// Total number of scalars.
    public let totalCount: Int
    private let indexByName: [String: Int]
    private let tensorsPerDirection: Int

    /// Builds the layout of `configuration` (which must be valid).
    public init(_ configuration: RecurrentConfiguration) {
        let gateRows = configuration.cell.gateCount * configuration.hiddenSize
        var entries: [ParameterEntry] = []
        var offset = 0
        for layer in 0..<configuration.numLayers {
            for direction in 0..<configuration.directionCount {
                let suffix = "_l\(layer)" + (direction == 1 ? "_reverse" : "")
                var tensors: [(String, [Int], ParameterRole)] = [
                    ("weight_ih", [gateRows, configuration.layerInputSize(layer)], .inputWeight),
                    ("weight_hh", [gateRows, configuration.stateSize], .hiddenWeight),
                    ("bias_ih", [gateRows], .inputBias),
                    ("bias_hh", [gateRows], .hiddenBias),
                ]
                if configuration.isProjected {
                    tensors.append(("weight_hr", [configuration.projectionSize, configuration.hiddenSize], .projectionWeight))
                }
                if configuration.peepholes {
                    tensors.append(("weight_peephole", [3 * configuration.hiddenSize], .peepholeWeight))
                }
                if configuration.layerNorm {
                    for site in LayerNormSite.allCases {
                        let width = site == .cell ? configuration.hiddenSize : gateRows
                        tensors.append(("weight_ln_" + site.rawValue, [width], .layerNormGain(site)))
                        tensors.append(("bias_ln_" + site.rawValue, [width], .layerNormShift(site)))
                    }
                }
                for (stem, shape, role) in tensors {
                    let count = shape.reduce(1, *)
                    entries.append(ParameterEntry(
                        name: stem + suffix, shape: shape, offset: offset, count: count,
                        layer: layer, direction: direction, role: role))
                    offset += count
                }
            }
        }
        self.entries = entries
        self.totalCount = offset
        self.tensorsPerDirection = configuration.tensorsPerDirection
        self.indexByName = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
    }

    /// The entry called `name`, or `nil`.
    public func entry(named name: String) -> ParameterEntry? {
        indexByName[name].map { entries[$0] }
    }

    /// The entries of one layer and direction, in `ih, hh, b_ih, b_hh[, hr][, peephole][, ln…]` order.
    func group(layer: Int, direction: Int, directionCount: Int) -> ArraySlice<ParameterEntry> {
        let first = tensorsPerDirection * (layer * directionCount + direction)
        return entries[first..<first + tensorsPerDirection]
    }
}

extension ArraySlice where Element == ParameterEntry {
    /// The tensor of `role` among one layer and direction's entries (``ParameterLayout/group(layer:direction:directionCount:)``),
    /// or `nil` when the configuration has none.
    func entry(_ role: ParameterRole) -> ParameterEntry? { first { $0.role == role } }
}
