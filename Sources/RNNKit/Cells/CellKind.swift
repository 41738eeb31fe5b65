/// The recurrent cell of a layer, with PyTorch's equations and gate order.
///
/// | kind | gates `G` | gate order in the fused matrices |
/// |---|---|---|
/// | ``rnnTanh`` | 1 | `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)` |
/// | ``rnnRelu`` | 1 | `h' = relu(W_ih x + b_ih + W_hh h + b_hh)` |
/// | ``lstm`` | 4 | `i, f, g, o` |
/// | ``gru`` | 3 | `r, z, n`; `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))` |
/// | ``gruResetBefore`` | 3 | `r, z, n`; `n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)` |
public enum CellKind: String, Sendable, CaseIterable, Codable, Equatable {
    /// Elman RNN with `tanh` (PyTorch `nn.RNN(nonlinearity="tanh")`).
    case rnnTanh = "rnn_tanh"
    /// Elman RNN with ReLU (PyTorch `nn.RNN(nonlinearity="relu")`).
    case rnnRelu = "rnn_relu"
    /// Long short-term memory (PyTorch `nn.LSTM`).
    case lstm
    /// Gated recurrent unit (PyTorch `nn.GRU`).
    case gru
    /// GRU with the reset gate applied before the recurrent product (Cho et al. 2014; ONNX
    /// `linear_before_reset = 0`, Keras `reset_after=False`): parameters named and shaped as
    /// ``gru``'s, only the candidate `n` differs.
    case gruResetBefore = "gru_reset_before"

    /// Number of gates `G`: the fused weight matrices have `G·H` rows.
    public var gateCount: Int {
        switch self {
        case .rnnTanh, .rnnRelu: 1
        case .lstm: 4
        case .gru, .gruResetBefore: 3
        }
    }

    /// Whether the cell is one of the two GRUs (gates `r, z, n`, biases kept apart).
    public var isGRU: Bool { self == .gru || self == .gruResetBefore }

    /// Whether the cell carries a cell state `c` besides `h` (LSTM only).
    public var hasCellState: Bool { self == .lstm }

    /// Parses the names used on the command line and in files: `lstm`, `gru`,
    /// `gru_reset_before`/`gru-reset-before`, `rnn_tanh`/`rnn-tanh`/`rnn`, `rnn_relu`/`rnn-relu`.
    public init?(name: String) {
        switch name.lowercased() {
        case "lstm": self = .lstm
        case "gru": self = .gru
        case "gru_reset_before", "gru-reset-before": self = .gruResetBefore
        case "rnn", "rnn_tanh", "rnn-tanh", "tanh": self = .rnnTanh
        case "rnn_relu", "rnn-relu", "relu": self = .rnnRelu
        default: return nil
        }
    }
}
