// The architecture of a SequenceModel and of a Seq2SeqModel, as plain Codable values.
// Checkpoints store them as flat `model.*` metadata strings (see ModelFile.swift), so the
// configuration a CLI builds from flags is exactly what a checkpoint records.

/// What a ``SequenceModel`` reads at each time step.
public enum SequenceInputKind: String, Codable, Sendable, Equatable {
    /// Integer token ids in `0..<V`, looked up in an ``Embedding`` of size `E`.
    case tokens
    /// Feature vectors of `I` values, fed to the first recurrent layer as they are.
    case features
}

/// Where a ``SequenceModel`` applies its ``Linear`` head.
public enum SequenceHeadKind: String, Codable, Sendable, Equatable {
    /// At every time step: outputs `[T, B, O]` (language models, per-step regression).
    case everyStep = "every_step"
    /// On the hidden state after each sequence's last valid step: outputs `[B, O]` (classification, forecasting).
    case lastStep = "last_step"
    /// On the mean of the top layer's outputs over each sequence's valid steps: outputs `[B, O]`.
    case meanPool = "mean_pool"
    /// On the largest value of each of the top layer's outputs over each sequence's valid steps: outputs `[B, O]`.
    case maxPool = "max_pool"
    /// No head: the outputs are the top layer's hidden states `[T, B, H]` (an encoder).
    case none

    /// Whether the head reads one vector per sequence (outputs `[B, O]`) rather than one per step.
    public var isPerSequence: Bool { self == .lastStep || self == .meanPool || self == .maxPool }
}

/// What sets a ``SequenceModel``'s initial state (see ``InitialStateConditioning``).
public enum SequenceConditioning: Codable, Sendable, Equatable {
    /// Nothing: the initial state is zero or passed by the caller.
    case none
    /// A class id in `0..<count` per sequence, through a learned table.
    case classes(count: Int)
    /// A vector of `size` features per sequence, through a learned linear map.
    case features(size: Int)
}

/// How the recurrent weights are initialised. The default reproduces PyTorch's `nn.LSTM` initialisation
/// (every parameter from U(−1/√H, 1/√H)); the options replace parts of it.
public struct RecurrentInitialization: Codable, Sendable, Equatable {
    /// Replace each `H×H` gate block of every `weight_hh` by a random orthogonal matrix
    /// (QR of a Gaussian matrix with LAPACKE, columns sign-corrected by `diag(R)`), default `false`.
    public var orthogonalRecurrentWeights: Bool
    /// Replace each `H×I_k` gate block of every `weight_ih` by Glorot-uniform values
    /// U(−√(6/(I_k + H)), √(6/(I_k + H))), default `false`.
    public var glorotInputWeights: Bool
    /// LSTM only: set the forget-gate block (rows `H..<2H`) of `bias_ih` to this value and that of
    /// `bias_hh` to 0, so the sum the cell sees is exactly this value; `nil` (default) keeps PyTorch's draw.
    /// The usual choice is 1 (Gers, Schmidhuber & Cummins 2000; Jozefowicz et al. 2015).
    public var forgetGateBias: Double?

    /// Creates the options; the defaults keep PyTorch's initialisation.
    public init(orthogonalRecurrentWeights: Bool = false, glorotInputWeights: Bool = false, forgetGateBias: Double? = nil) {
        self.orthogonalRecurrentWeights = orthogonalRecurrentWeights
        self.glorotInputWeights = glorotInputWeights
        self.forgetGateBias = forgetGateBias
    }

    /// PyTorch's default initialisation, unchanged.
    public static let pytorchDefault = RecurrentInitialization()
    /// Orthogonal recurrent weights, Glorot-uniform input weights, forget-gate bias 1 (LSTM only).
    public static let recommended = RecurrentInitialization(
        orthogonalRecurrentWeights: true, glorotInputWeights: true, forgetGateBias: 1)

    /// ``recommended`` for `cell`: the forget-gate bias only where there is a forget gate (LSTM).
    public static func recommended(for cell: CellKind) -> RecurrentInitialization {
        RecurrentInitialization(orthogonalRecurrentWeights: true, glorotInputWeights: true,
                                forgetGateBias: cell == .lstm ? 1 : nil)
    }
}

/// The architecture of a ``SequenceModel``:
/// (token ids → ``Embedding`` `E`, or feature vectors `I`) → `L` recurrent layers of `H`, each with
/// `D` directions and ``Dropout`` after it → ``Linear`` head `O` (per step, on the last state, or none).
public struct SequenceModelConfiguration: Codable, Sendable, Equatable {
    /// What the model reads.
    public var input: SequenceInputKind
    /// Vocabulary size `V` (token input; 0 for feature input).
    public var vocabularySize: Int
    /// Embedding size `E` (token input; 0 for feature input).
    public var embeddingSize: Int
    /// Features per step `I` (feature input; 0 for token input).
    public var featureSize: Int
    /// The recurrent cell of every layer.
    public var cell: CellKind
    /// Hidden size `H`.
    public var hiddenSize: Int
    /// Number of recurrent layers `L` (≥ 1).
    public var numLayers: Int
    /// Whether every layer also runs a reverse-time direction (`D = 2`); default `false`. A
    /// bidirectional model cannot stream one step at a time, and a language model must not be one
    /// (its reverse direction would read the tokens it is to predict).
    public var bidirectional: Bool = false
    /// Dropout probability after every recurrent layer (between layers, as PyTorch's `dropout=`,
    /// and on the top layer's output before the head), in `[0, 1)`; default 0.
    public var dropout: Double
    /// Where the head is applied.
    public var head: SequenceHeadKind
    /// Head outputs `O` (classes or regression targets); 0 when `head` is ``SequenceHeadKind/none``.
    public var outputSize: Int
    /// Initialisation options for the recurrent weights.
    public var initialization: RecurrentInitialization
    /// Seed of every initial weight and of the dropout streams.
    public var seed: UInt64
    /// What sets the initial state of every layer (default ``SequenceConditioning/none``).
    public var conditioning: SequenceConditioning = .none
    /// LSTM only: peephole connections in every layer (``RecurrentConfiguration/peepholes``); default `false`.
    public var peepholes: Bool = false
    /// Recurrent dropout in every layer (``RecurrentConfiguration/recurrentDropout``), in `[0, 1)`;
    /// default 0. Each training forward draws new masks: with stream sampling, a window is a sequence.
    public var recurrentDropout: Double = 0
    /// Zoneout of the hidden state in every layer (``RecurrentConfiguration/zoneoutHidden``); default 0.
    public var zoneoutHidden: Double = 0
    /// LSTM only: zoneout of the cell state in every layer (``RecurrentConfiguration/zoneoutCell``); default 0.
    public var zoneoutCell: Double = 0
    /// LSTM only: the projection size `P` of every layer (``RecurrentConfiguration/projectionSize``,
    /// PyTorch's `proj_size`), `0 < P < H`, or 0 (default) for none. With it the hidden states, the
    /// outputs and what the head reads are `P` wide per direction; the cell state stays `H`.
    public var projectionSize: Int = 0
    /// LSTM only: layer normalisation of every layer's gate pre-activations and cell state
    /// (``RecurrentConfiguration/layerNorm``); default `false`.
    public var layerNorm: Bool = false

    /// A model reading token ids (a character language model: `outputSize = vocabularySize`, `head: .everyStep`).
    /// Defaults: LSTM, one layer, unidirectional, no dropout, a per-step head over the vocabulary,
    /// PyTorch's initialisation, seed 0, unconditioned, no peepholes, no recurrent dropout, no zoneout.
    public static func tokens(
        vocabularySize: Int, embeddingSize: Int, cell: CellKind = .lstm, hiddenSize: Int, numLayers: Int = 1,
        bidirectional: Bool = false, dropout: Double = 0, head: SequenceHeadKind = .everyStep, outputSize: Int? = nil,
        initialization: RecurrentInitialization = .pytorchDefault, seed: UInt64 = 0, conditioning: SequenceConditioning = .none,
        peepholes: Bool = false, recurrentDropout: Double = 0, zoneoutHidden: Double = 0, zoneoutCell: Double = 0
    ) -> SequenceModelConfiguration {
        SequenceModelConfiguration(
            input: .tokens, vocabularySize: vocabularySize, embeddingSize: embeddingSize, featureSize: 0,
            cell: cell, hiddenSize: hiddenSize, numLayers: numLayers, bidirectional: bidirectional, dropout: dropout, head: head,
            outputSize: head == .none ? 0 : (outputSize ?? vocabularySize), initialization: initialization, seed: seed,
            conditioning: conditioning, peepholes: peepholes, recurrentDropout: recurrentDropout,
            zoneoutHidden: zoneoutHidden, zoneoutCell: zoneoutCell)
    }

    /// A model reading feature vectors of `featureSize` values per step. Defaults: LSTM, one layer,
    /// unidirectional, no dropout, a head on the last state, PyTorch's initialisation, seed 0,
    /// unconditioned, no peepholes, no recurrent dropout, no zoneout.
    public static func features(
        featureSize: Int, cell: CellKind = .lstm, hiddenSize: Int, numLayers: Int = 1, bidirectional: Bool = false,
        dropout: Double = 0, head: SequenceHeadKind = .lastStep, outputSize: Int,
        initialization: RecurrentInitialization = .pytorchDefault, seed: UInt64 = 0, conditioning: SequenceConditioning = .none,
        peepholes: Bool = false, recurrentDropout: Double = 0, zoneoutHidden: Double = 0, zoneoutCell: Double = 0
    ) -> SequenceModelConfiguration {
        SequenceModelConfiguration(
            input: .features, vocabularySize: 0, embeddingSize: 0, featureSize: featureSize,
            cell: cell, hiddenSize: hiddenSize, numLayers: numLayers, bidirectional: bidirectional, dropout: dropout, head: head,
            outputSize: head == .none ? 0 : outputSize, initialization: initialization, seed: seed, conditioning: conditioning,
            peepholes: peepholes, recurrentDropout: recurrentDropout, zoneoutHidden: zoneoutHidden, zoneoutCell: zoneoutCell)
    }

    /// Features entering the first recurrent layer: `E` or `I`.
    public var recurrentInputSize: Int { input == .tokens ? embeddingSize : featureSize }

    /// Features per step (or per sequence) of the model's output: `O`, or `D·R` without a head
    /// (`R` = ``RecurrentConfiguration/stateSize``: `P` when projected, else `H`).
    public var modelOutputSize: Int { head == .none ? stackConfiguration.outputSize : outputSize }

    /// The recurrent stack as one PyTorch module sees it
    /// (`nn.LSTM(E or I, H, num_layers=L, bidirectional=…, dropout=p)`).
    public var stackConfiguration: RecurrentConfiguration {
        RecurrentConfiguration(cell: cell, inputSize: recurrentInputSize, hiddenSize: hiddenSize, numLayers: numLayers,
                               bidirectional: bidirectional, dropout: dropout, peepholes: peepholes,
                               recurrentDropout: recurrentDropout, zoneoutHidden: zoneoutHidden, zoneoutCell: zoneoutCell,
                               projectionSize: projectionSize, layerNorm: layerNorm)
    }

    /// Throws unless every size is consistent with the input and head kinds.
    public func validate() throws {
        switch input {
        case .tokens:
            guard vocabularySize >= 1, embeddingSize >= 1 else {
                throw RNNKitError(.invalidArgument,
                    "a token model needs vocabulary size ≥ 1 and embedding size ≥ 1, got \(vocabularySize) and \(embeddingSize)")
            }
        case .features:
            guard featureSize >= 1 else {
                throw RNNKitError(.invalidArgument, "a feature model needs feature size ≥ 1, got \(featureSize)")
            }
        }
        guard dropout >= 0, dropout < 1 else {
            throw RNNKitError(.invalidArgument, "dropout \(dropout) is out of range; expected 0 ≤ p < 1")
        }
        if head != .none, outputSize < 1 {
            throw RNNKitError(.invalidArgument, "a model with a head needs output size ≥ 1, got \(outputSize)")
        }
        if let bias = initialization.forgetGateBias, !bias.isFinite {
            throw RNNKitError(.invalidArgument, "forget-gate bias must be finite, got \(bias)")
        }
        switch conditioning {
        case .none: break
        case .classes(let count) where count < 1:
            throw RNNKitError(.invalidArgument, "a model conditioned on a class needs at least 1 class, got \(count)")
        case .features(let size) where size < 1:
            throw RNNKitError(.invalidArgument, "a model conditioned on features needs at least 1 feature, got \(size)")
        default: break
        }
        try stackConfiguration.validate()
    }
}

/// The architecture of a ``Seq2SeqModel``: a token encoder without head whose final states
/// initialise a token decoder with a per-step head over the target vocabulary; optionally a
/// bidirectional encoder (its final states mapped to the decoder's by a learned ``StateBridge``)
/// and ``Attention`` over the encoder's outputs, whose context the head reads beside `h_t`.
public struct Seq2SeqConfiguration: Codable, Sendable, Equatable {
    /// Source vocabulary size.
    public var sourceVocabularySize: Int
    /// Target vocabulary size (the decoder's input and output classes), including the begin and end tokens.
    public var targetVocabularySize: Int
    /// Embedding size of both embeddings.
    public var embeddingSize: Int
    /// Cell of both stacks.
    public var cell: CellKind
    /// Hidden size of both stacks.
    public var hiddenSize: Int
    /// Layers of both stacks.
    public var numLayers: Int
    /// Dropout after every recurrent layer of both stacks (default 0).
    public var dropout: Double
    /// The target token the decoder reads first.
    public var beginToken: Int
    /// The target token that ends a decoded sequence.
    public var endToken: Int
    /// Initialisation of both stacks.
    public var initialization: RecurrentInitialization
    /// Seed of all weights and dropout streams.
    public var seed: UInt64
    /// Whether every encoder layer also reads the source in reverse (`D = 2`); default `false`.
    /// The decoder's initial state is then a learned linear map of each layer's two final states.
    public var bidirectionalEncoder: Bool = false
    /// How the decoder scores the encoder's outputs; default ``AttentionScore/none`` (no attention:
    /// the head reads `h_t` alone).
    public var attention: AttentionScore = .none
    /// `A`, the width of additive attention's hidden layer (used by ``AttentionScore/additive``
    /// only); default the hidden size.
    public var attentionSize: Int
    /// Whether each decoder step also reads the previous step's attention context ("input
    /// feeding"): the decoder's input is then `[e(y_{t−1}) ; c_{t−1}]`, `E + D·R` wide, `c_{−1} = 0`.
    /// Needs attention; default `false`.
    public var inputFeeding: Bool = false
    /// LSTM only: peephole connections in every layer of both stacks; default `false`.
    public var peepholes: Bool = false
    /// Recurrent dropout in every layer of both stacks, in `[0, 1)`; default 0. Not with input
    /// feeding, whose decoder runs one step per forward (each would draw a new mask).
    public var recurrentDropout: Double = 0
    /// Zoneout of the hidden state in every layer of both stacks; default 0.
    public var zoneoutHidden: Double = 0
    /// LSTM only: zoneout of the cell state in every layer of both stacks; default 0.
    public var zoneoutCell: Double = 0
    /// LSTM only: the projection size `P` of every layer of both stacks (`0 < P < H`), or 0 (default)
    /// for none. With it the encoder's outputs are `D·P` wide, the decoder's `h_t` (the attention's
    /// query) is `P` wide, and a bidirectional encoder's bridge maps `2P → P` for `h` and `2H → H` for `c`.
    public var projectionSize: Int = 0
    /// LSTM only: layer normalisation in every layer of both stacks; default `false`.
    public var layerNorm: Bool = false

    /// Creates the configuration; the defaults of the last four parameters give the encoder–decoder
    /// without attention.
    /// - Parameters:
    ///   - attentionSize: `A`, or `nil` (default) for the hidden size.
    ///   - inputFeeding: feed each step's context to the next step's input (default `false`; needs attention).
    public init(
        sourceVocabularySize: Int, targetVocabularySize: Int, embeddingSize: Int, cell: CellKind = .lstm,
        hiddenSize: Int, numLayers: Int = 1, dropout: Double = 0, beginToken: Int, endToken: Int,
        initialization: RecurrentInitialization = .pytorchDefault, seed: UInt64 = 0,
        bidirectionalEncoder: Bool = false, attention: AttentionScore = .none, attentionSize: Int? = nil,
        inputFeeding: Bool = false
    ) {
        self.sourceVocabularySize = sourceVocabularySize
        self.targetVocabularySize = targetVocabularySize
        self.embeddingSize = embeddingSize
        self.cell = cell
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.dropout = dropout
        self.beginToken = beginToken
        self.endToken = endToken
        self.initialization = initialization
        self.seed = seed
        self.bidirectionalEncoder = bidirectionalEncoder
        self.attention = attention
        self.attentionSize = attentionSize ?? hiddenSize
        self.inputFeeding = inputFeeding
    }

    /// The encoder's configuration (no head; bidirectional with ``bidirectionalEncoder``).
    public var encoder: SequenceModelConfiguration {
        var encoder = SequenceModelConfiguration.tokens(
            vocabularySize: sourceVocabularySize, embeddingSize: embeddingSize, cell: cell, hiddenSize: hiddenSize,
            numLayers: numLayers, bidirectional: bidirectionalEncoder, dropout: dropout, head: .none,
            initialization: initialization, seed: seed)
        encoder.peepholes = peepholes
        encoder.recurrentDropout = recurrentDropout
        (encoder.zoneoutHidden, encoder.zoneoutCell) = (zoneoutHidden, zoneoutCell)
        (encoder.projectionSize, encoder.layerNorm) = (projectionSize, layerNorm)
        return encoder
    }

    /// The decoder's configuration: a per-step head over the target vocabulary, or no head with
    /// attention (``Seq2SeqModel/attentionHead`` then reads `[h_t ; c_t]`). With input feeding it
    /// reads features `[e(y_{t−1}) ; c_{t−1}]` (`E + D·R`), its ids embedded by ``Seq2SeqModel/feedingEmbedding``.
    public var decoder: SequenceModelConfiguration {
        var decoder: SequenceModelConfiguration = inputFeeding
            ? .features(featureSize: embeddingSize + encoderOutputSize, cell: cell, hiddenSize: hiddenSize, numLayers: numLayers,
                        dropout: dropout, head: .none, outputSize: 0, initialization: initialization, seed: decoderSeed)
            : .tokens(vocabularySize: targetVocabularySize, embeddingSize: embeddingSize, cell: cell, hiddenSize: hiddenSize,
                      numLayers: numLayers, dropout: dropout, head: attention == .none ? .everyStep : .none,
                      outputSize: targetVocabularySize, initialization: initialization, seed: decoderSeed)
        decoder.peepholes = peepholes
        decoder.recurrentDropout = recurrentDropout
        (decoder.zoneoutHidden, decoder.zoneoutCell) = (zoneoutHidden, zoneoutCell)
        (decoder.projectionSize, decoder.layerNorm) = (projectionSize, layerNorm)
        return decoder
    }

    /// The decoder's seed (its embedding's, too, with input feeding).
    var decoderSeed: UInt64 { seed &+ 0x5EED }

    /// `R`, the width of each direction's hidden state: `P` when projected, else `H`.
    public var stateSize: Int { projectionSize > 0 ? projectionSize : hiddenSize }

    /// `D·R`, the width of the encoder's outputs (the attention's keys and values).
    public var encoderOutputSize: Int { (bidirectionalEncoder ? 2 : 1) * stateSize }

    /// Throws unless both stacks are valid, the special tokens are target ids and the attention fits the encoder.
    public func validate() throws {
        try encoder.validate()
        try decoder.validate()
        for (name, token) in [("begin", beginToken), ("end", endToken)] where token < 0 || token >= targetVocabularySize {
            throw RNNKitError(.invalidArgument,
                "the \(name) token \(token) is out of range; expected a target id in 0..<\(targetVocabularySize)")
        }
        guard attentionSize >= 1 else {
            throw RNNKitError(.invalidArgument, "the attention size must be at least 1, got \(attentionSize)")
        }
        if inputFeeding, recurrentDropout != 0 {
            throw RNNKitError(.invalidArgument,
                "recurrent dropout draws one mask per sequence, but an input-fed decoder runs one step per forward; expected recurrent dropout 0 with input feeding, got \(recurrentDropout)")
        }
        if inputFeeding, attention == .none {
            throw RNNKitError(.invalidArgument,
                "input feeding passes each step's attention context to the next step; expected an attention score (dot, general or additive) with it, got none")
        }
        if attention == .dot, encoderOutputSize != stateSize {
            throw RNNKitError(.invalidArgument,
                "dot attention needs the encoder's output size D·R = \(encoderOutputSize) to equal the decoder's state size R = \(stateSize), which a bidirectional encoder's does not; expected general or additive attention with a bidirectional encoder")
        }
    }
}
