// `rnnkit train`: the options, their checks, and the hand-over to TrainingRun.

import ArgumentParser
import Foundation
import RNNKit

struct TrainCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a character-level language model (--text, or the built-in corpus), a forecaster or a sequence classifier (--csv).",
        discussion: """
            With no data option, trains a character-level LSTM on the corpus shipped with RNNKit: \
            about two minutes on two cores, then prints validation bits per character and sampled \
            text. --text FILE does the same on any UTF-8 text file; --csv FILE --column NAME trains \
            a next-value forecaster on one numeric column; --csv FILE --sequence-column ID \
            --label-column L trains a classifier of whole sequences (one CSV row per time step); \
            --tsv FILE a classifier of label<TAB>text lines; --conll FILE a tagger of CoNLL \
            sentences; --pairs FILE an encoder–decoder of source<TAB>target lines. \
            Every run writes a run directory \
            (--out): config.json, checkpoint.safetensors, metrics.csv, loss.svg. --resume DIR \
            continues a run from its checkpoint, with the data and options it recorded; only \
            --steps/--epochs (a new, larger total) and --threads may be given with it.
            """)

    // MARK: Data
    @Option(name: .long, help: ArgumentHelp("UTF-8 text file: train a character-level language model on it.", valueName: "file"))
    var text: String?
    @Option(name: .long, help: ArgumentHelp("CSV file with a header row: train a forecaster (with --column) or a sequence classifier (with --sequence-column and --label-column).", valueName: "file"))
    var csv: String?
    @Option(name: .long, help: ArgumentHelp("The CSV column to forecast.", valueName: "name"))
    var column: String?
    @Option(name: .customLong("input-columns"), help: ArgumentHelp("Forecasters: the comma-separated columns the model reads at each step (the target among them or not). (default: the --column alone)", valueName: "a,b,c"))
    var inputColumns: String?
    @Option(name: .long, help: ArgumentHelp("Forecasters: the values predicted at once from each window (a direct K-step forecast), 1–10000. (default: 1)", valueName: "k"))
    var horizon: Int?
    @Option(name: .customLong("sequence-column"), help: ArgumentHelp("Classifiers: the CSV column naming each row's sequence (the rows of a sequence are consecutive, in time order).", valueName: "name"))
    var sequenceColumn: String?
    @Option(name: .customLong("label-column"), help: ArgumentHelp("Classifiers: the CSV column holding each sequence's label (the same on all its rows).", valueName: "name"))
    var labelColumn: String?
    @Option(name: .customLong("feature-columns"), help: ArgumentHelp("Classifiers: the comma-separated feature columns. (default: every numeric column but the sequence and label columns)", valueName: "a,b,c"))
    var featureColumns: String?
    @Option(name: .long, help: ArgumentHelp("UTF-8 file of label<TAB>text lines: train a text classifier on it.", valueName: "file"))
    var tsv: String?
    @Option(name: .long, help: "How --tsv texts are cut into tokens: chars (every character) or words (split on whitespace). (default: chars)")
    var tokens: TokenUnit?
    @Option(name: .customLong("min-count"), help: ArgumentHelp("With --tsv --tokens words or --conll: words seen fewer times in the training texts share the <unk> id, 1–1000000. (default: 2)", valueName: "n"))
    var minCount: Int?
    @Option(name: .long, help: ArgumentHelp("CoNLL file (token first, tag last; a blank line between sentences): train a tagger on it.", valueName: "file"))
    var conll: String?
    @Flag(name: .long, help: "A tagger, or a --pairs encoder, that reads forwards only (both are bidirectional by default).")
    var unidirectional = false
    @Option(name: .long, help: ArgumentHelp("UTF-8 file of source<TAB>target lines: train an encoder–decoder on it.", valueName: "file"))
    var pairs: String?
    @Option(name: .long, help: "With --pairs: how the decoder attends to the source, none, dot, general or additive. (default: additive)")
    var attention: AttentionScore?
    @Flag(name: .customLong("input-feeding"), help: "With --pairs: each decoder step also reads the previous step's attention context.")
    var inputFeeding = false

    // MARK: Model
    @Option(name: .long, help: "Recurrent cell. (default: lstm)")
    var cell: CellChoice?
    @Flag(name: .long, help: "LSTM peephole connections: the input and forget gates see c(t−1), the output gate c(t).")
    var peepholes = false
    @Option(name: .customLong("proj-size"), help: ArgumentHelp("LSTM: project each layer's hidden state to n < --hidden features (PyTorch's proj_size). (default: none)", valueName: "n"))
    var projSize: Int?
    @Flag(name: .customLong("layer-norm"), help: "LSTM: layer-normalise each layer's gate pre-activations and cell state (Ba et al. 2016).")
    var layerNorm = false
    @Option(name: .customLong("recurrent-dropout"), parsing: .unconditional, help: ArgumentHelp("Recurrent dropout: one mask per sequence on h(t−1) in every recurrent product, in training, 0 ≤ p < 1. (default: 0)", valueName: "p"))
    var recurrentDropout: Double?
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Zoneout in training: at each step a unit keeps its previous h (and an LSTM's c) with this probability, 0 ≤ p < 1. (default: 0)", valueName: "p"))
    var zoneout: Double?
    @Option(name: .customLong("zoneout-cell"), parsing: .unconditional, help: ArgumentHelp("LSTM: zoneout of the cell state, 0 ≤ p < 1. (default: --zoneout)", valueName: "p"))
    var zoneoutCell: Double?
    @Option(name: .long, help: ArgumentHelp("Hidden units per layer, 1–4096. (default: 128 for text, 32 for forecasters, 64 for classifiers and taggers)", valueName: "n"))
    var hidden: Int?
    @Option(name: .long, help: ArgumentHelp("Stacked recurrent layers, 1–16. (default: 1)", valueName: "n"))
    var layers: Int?
    @Flag(name: .long, help: "Bidirectional recurrent layers (forecasters and classifiers; taggers have them by default; a language model may not see the future).")
    var bidirectional = false
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Dropout after each recurrent layer, 0 ≤ p < 1. (default: 0)", valueName: "p"))
    var dropout: Double?
    @Option(name: .long, help: ArgumentHelp("Embedding size of a character model, 1–4096. (default: half the vocabulary size, within 16–64)", valueName: "n"))
    var embedding: Int?

    // MARK: Run
    @Option(name: .customLong("seq-len"), help: ArgumentHelp("Time steps per training window (truncated BPTT for text, the input window of a forecaster), 1–10000. (default: 64 for text, 24 for CSV)", valueName: "n"))
    var seqLen: Int?
    @Option(name: .long, help: ArgumentHelp("Sequences (strips or windows of text, windows of a series, or whole sequences for a classifier) per minibatch, 1–4096. (default: 32)", valueName: "n"))
    var batch: Int?
    @Option(name: .long, help: "How a character model reads its training text: stream (--batch contiguous strips, each window starting from the state the one before it ended in) or random (--batch windows drawn anywhere at every step, each from a zero state). (default: \(Defaults.sampling.rawValue))")
    var sampling: SamplingChoice?
    @Option(name: .long, help: ArgumentHelp("Optimizer steps in total, 1–10000000. (default: 1500 on the built-in corpus, 1000 on --text, 600 for forecasters, 1000 for classifiers and taggers)", valueName: "n"))
    var steps: Int?
    @Option(name: .long, help: ArgumentHelp("Passes over the training data, 1–100000, instead of --steps.", valueName: "n"))
    var epochs: Int?
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Learning rate, 0 < lr ≤ 10. (default: 0.003 for Adam/AdamW/RMSprop, 0.1 for SGD)", valueName: "rate"))
    var lr: Double?
    @Option(name: .long, help: "Learning-rate schedule after the warm-up: constant (--lr throughout), cosine (down to lr/10 at the last step) or step (lr, lr/10, lr/100 over three equal parts of the steps). (default: \(Defaults.textSchedule.rawValue) for text, \(Defaults.seriesSchedule.rawValue) for CSV)")
    var schedule: ScheduleChoice?
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Steps of linear warm-up from 0 to --lr, 0 ≤ n < the number of steps. (default: \(Defaults.warmupDescription))", valueName: "n"))
    var warmup: Int?
    @Option(name: .long, help: "Optimizer. (default: \(Defaults.optimizer.rawValue))")
    var optimizer: OptimizerChoice?
    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: ArgumentHelp("Weight decay, ≥ 0: L2 for SGD, Adam and RMSprop, decoupled for AdamW. (default: \(String(format: "%g", Defaults.weightDecay)))", valueName: "w"))
    var weightDecay: Double?
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Momentum of SGD and RMSprop, 0 ≤ m < 1. (default: \(String(format: "%g", Defaults.sgdMomentum)) for SGD, \(String(format: "%g", Defaults.rmspropMomentum)) for RMSprop)", valueName: "m"))
    var momentum: Double?
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Clip the global gradient norm to this value; 0 turns clipping off. (default: 5)", valueName: "norm"))
    var clip: Double?
    @Option(name: .long, help: ArgumentHelp("Seed of the initial weights, shuffling, dropout and samples. (default: 1)", valueName: "n"))
    var seed: UInt64?
    @Option(name: .long, help: ArgumentHelp("Threads (RNNKit's workers and OpenBLAS's), 1–256. (default: the number of cores)", valueName: "n"))
    var threads: Int?
    @Option(name: .long, help: ArgumentHelp("A validation file in the training file's format, instead of --val-fraction (not for forecasters, which validate on the end of their series).", valueName: "file"))
    var val: String?
    @Option(name: .customLong("val-fraction"), parsing: .unconditional, help: ArgumentHelp("Fraction of the data held out for validation (the end of the text or series, or a classifier's last sequences), 0.01–0.5. (default: 0.1)", valueName: "f"))
    var valFraction: Double?
    @Option(name: .customLong("eval-every"), help: ArgumentHelp("Validate, checkpoint and plot every n steps. (default: about 10 times per run)", valueName: "n"))
    var evalEvery: Int?
    @Option(name: .customLong("eval-batches"), help: ArgumentHelp("Bound each validation to n batches, 1–10000000: the first n windows of each of the --batch strips of the held-out text, or its first n minibatches of windows for --csv. (default: all of the validation data)", valueName: "n"))
    var evalBatches: Int?
    @Option(name: .long, help: ArgumentHelp("The run directory to create; must be new or empty. (default: runs/<data name>-<date>-<time>)", valueName: "dir"))
    var out: String?
    @Option(name: .long, help: ArgumentHelp("Continue the run in this directory from its checkpoint.", valueName: "dir"))
    var resume: String?
    @Flag(name: .long, help: "Print where the training loop's time went, phase by phase, at the end.")
    var profile = false
    /// Stops after this step as an interruption would (after its checkpoint), for testing resumption.
    @Option(name: .customLong("stop-after"), help: ArgumentHelp("Stop after step n, as if interrupted (for tests).", visibility: .hidden))
    var stopAfter: Int?

    func validate() throws {
        if [text, csv, tsv, conll, pairs].compactMap({ $0 }).count > 1 {
            throw ValidationError("--text, --csv, --tsv, --conll and --pairs exclude each other; pass one data file")
        }
        if tsv == nil, pairs == nil, resume == nil, tokens != nil {
            throw ValidationError("--tokens applies to --tsv and --pairs only (a --conll tagger reads words)")
        }
        if tsv == nil, conll == nil, pairs == nil, resume == nil, minCount != nil {
            throw ValidationError("--min-count applies to --tsv or --pairs with --tokens words, and to --conll, only")
        }
        if pairs == nil, resume == nil, attention != nil || inputFeeding {
            throw ValidationError("--attention and --input-feeding apply to --pairs only")
        }
        if inputFeeding, attention == AttentionScore.none {
            throw ValidationError("--input-feeding feeds the attention context to the next step; it needs --attention dot, general or additive")
        }
        if (tsv != nil || pairs != nil), minCount != nil, (tokens ?? .chars) != .words {
            throw ValidationError("--min-count applies to --tokens words only: every character of the training texts gets an id of its own")
        }
        if unidirectional, conll == nil, pairs == nil, resume == nil {
            throw ValidationError("--unidirectional applies to --conll and --pairs only (other models are unidirectional unless --bidirectional is given)")
        }
        if unidirectional, bidirectional {
            throw ValidationError("--unidirectional and --bidirectional exclude each other")
        }
        if conll != nil || pairs != nil, seqLen != nil {
            throw ValidationError("--seq-len applies to character models and forecasters only: a tagger or translator reads each sentence whole")
        }
        if pairs != nil, bidirectional {
            throw ValidationError("--bidirectional does not apply to --pairs: the encoder is bidirectional by default (--unidirectional turns it off) and the decoder cannot be")
        }
        try require("--min-count", minCount, in: 1...1_000_000)
        if tsv != nil, seqLen != nil {
            throw ValidationError("--seq-len applies to character models and forecasters only: a text classifier reads each text whole")
        }
        if csv != nil, column == nil, labelColumn == nil {
            throw ValidationError("--csv needs --column NAME (the numeric column to forecast) or --sequence-column ID --label-column L (to classify sequences)")
        }
        if column != nil, labelColumn != nil {
            throw ValidationError("--column (a forecaster) and --label-column (a sequence classifier) exclude each other; pass one")
        }
        if val != nil, valFraction != nil {
            throw ValidationError("--val and --val-fraction exclude each other: the validation data is the --val file, or the end of the training data")
        }
        if val != nil, column != nil {
            throw ValidationError("--val does not apply to forecasters: a forecaster validates on the end of its series (--val-fraction)")
        }
        if let val, val.isEmpty { throw ValidationError("--val must name a file, got an empty string") }
        if column == nil, resume == nil, inputColumns != nil || horizon != nil {
            throw ValidationError("--input-columns and --horizon apply to forecasters (--csv FILE --column NAME) only")
        }
        try require("--horizon", horizon, in: 1...10_000)
        if let inputColumns { _ = try Self.parseColumnList(inputColumns, option: "--input-columns") }
        for (option, given) in [("--column", column != nil), ("--sequence-column", sequenceColumn != nil),
                                ("--label-column", labelColumn != nil), ("--feature-columns", featureColumns != nil)]
        where given && csv == nil && resume == nil {
            throw ValidationError("\(option) applies to --csv only")
        }
        if resume == nil, (sequenceColumn != nil) != (labelColumn != nil) || (featureColumns != nil && labelColumn == nil) {
            throw ValidationError("a sequence classifier needs both --sequence-column ID and --label-column L (and --feature-columns applies only with them)")
        }
        if labelColumn != nil, seqLen != nil {
            throw ValidationError("--seq-len applies to character models and forecasters only: a sequence classifier reads each sequence whole")
        }
        if let featureColumns { _ = try Self.parseColumnList(featureColumns, option: "--feature-columns") }
        if steps != nil, epochs != nil {
            throw ValidationError("--steps and --epochs exclude each other; pass one")
        }
        if embedding != nil, csv != nil {
            throw ValidationError("--embedding applies to models of text (--text, --tsv, --conll, --pairs or the built-in corpus) only: a forecaster or CSV classifier reads its values as they are")
        }
        if bidirectional, csv == nil, tsv == nil, conll == nil, resume == nil {
            throw ValidationError("--bidirectional applies to forecasters, classifiers and taggers (--csv, --tsv, --conll) only: a character language model predicts each character from the ones before it, so it may not read the text backwards")
        }
        if sampling != nil, csv != nil || tsv != nil || conll != nil || pairs != nil {
            throw ValidationError("--sampling applies to character models (--text or the built-in corpus) only: a forecaster or classifier trains on its windows or sequences, shuffled")
        }
        if peepholes, let cell, cell != .lstm {
            throw ValidationError("--peepholes are an LSTM option; --cell \(cell.rawValue) has no cell state for them to see")
        }
        if projSize != nil, let cell, cell != .lstm {
            throw ValidationError("--proj-size is an LSTM option (PyTorch's proj_size); --cell \(cell.rawValue) has no projection")
        }
        if layerNorm, let cell, cell != .lstm {
            throw ValidationError("--layer-norm is an LSTM option; --cell \(cell.rawValue) has no layer-normalised form here")
        }
        if layerNorm, peepholes || projSize != nil {
            throw ValidationError("--layer-norm cannot be combined with \(peepholes ? "--peepholes" : "--proj-size") in this version")
        }
        if projSize != nil, recurrentDropout.map({ $0 > 0 }) == true || zoneout.map({ $0 > 0 }) == true || zoneoutCell.map({ $0 > 0 }) == true {
            throw ValidationError("--proj-size cannot be combined with --recurrent-dropout or --zoneout in this version")
        }
        if let projSize, projSize < 1 || projSize >= (hidden ?? Int.max) {
            throw ValidationError("--proj-size must be at least 1 and below --hidden\(hidden.map { " (\($0))" } ?? ""), got \(projSize)")
        }
        if let resume {
            let fixed: [(String, Bool)] = [
                ("--text", text != nil), ("--csv", csv != nil), ("--column", column != nil),
                ("--input-columns", inputColumns != nil), ("--horizon", horizon != nil),
                ("--sequence-column", sequenceColumn != nil), ("--label-column", labelColumn != nil),
                ("--feature-columns", featureColumns != nil), ("--tsv", tsv != nil), ("--tokens", tokens != nil),
                ("--min-count", minCount != nil), ("--conll", conll != nil), ("--unidirectional", unidirectional),
                ("--pairs", pairs != nil), ("--attention", attention != nil), ("--input-feeding", inputFeeding),
                ("--cell", cell != nil), ("--peepholes", peepholes), ("--proj-size", projSize != nil), ("--layer-norm", layerNorm),
                ("--recurrent-dropout", recurrentDropout != nil),
                ("--zoneout", zoneout != nil), ("--zoneout-cell", zoneoutCell != nil),
                ("--hidden", hidden != nil), ("--layers", layers != nil), ("--bidirectional", bidirectional),
                ("--dropout", dropout != nil), ("--embedding", embedding != nil), ("--seq-len", seqLen != nil), ("--batch", batch != nil),
                ("--sampling", sampling != nil), ("--lr", lr != nil), ("--schedule", schedule != nil), ("--warmup", warmup != nil),
                ("--optimizer", optimizer != nil), ("--weight-decay", weightDecay != nil), ("--momentum", momentum != nil),
                ("--clip", clip != nil), ("--seed", seed != nil), ("--val-fraction", valFraction != nil), ("--val", val != nil),
                ("--eval-every", evalEvery != nil), ("--eval-batches", evalBatches != nil), ("--out", out != nil),
            ]
            if let (option, _) = fixed.first(where: { $0.1 }) {
                throw ValidationError("\(option) cannot be given with --resume: the run in '\(resume)' keeps the data and options in its config.json (only --steps, --epochs and --threads may change)")
            }
        }
        try require("--hidden", hidden, in: 1...4096)
        try require("--layers", layers, in: 1...16)
        try require("--dropout", dropout, "at least 0 and below 1") { $0 >= 0 && $0 < 1 }
        try require("--recurrent-dropout", recurrentDropout, "at least 0 and below 1") { $0 >= 0 && $0 < 1 }
        try require("--zoneout", zoneout, "at least 0 and below 1") { $0 >= 0 && $0 < 1 }
        try require("--zoneout-cell", zoneoutCell, "at least 0 and below 1") { $0 >= 0 && $0 < 1 }
        if zoneoutCell != nil, let cell, cell != .lstm {
            throw ValidationError("--zoneout-cell is an LSTM option; --cell \(cell.rawValue) has no cell state")
        }
        if let recurrentDropout, recurrentDropout > 0, inputFeeding {
            throw ValidationError("--recurrent-dropout cannot be used with --input-feeding: an input-fed decoder runs one step per forward, and recurrent dropout draws one mask per sequence")
        }
        try require("--embedding", embedding, in: 1...4096)
        try require("--seq-len", seqLen, in: 1...10_000)
        try require("--batch", batch, in: 1...4096)
        try require("--steps", steps, in: 1...10_000_000)
        try require("--epochs", epochs, in: 1...100_000)
        try require("--lr", lr, "above 0 and at most 10") { $0 > 0 && $0 <= 10 }
        try Self.requireWarmup(warmup, below: epochs == nil ? stepsUnlessEpochs : nil)
        try require("--weight-decay", weightDecay, "at least 0") { $0 >= 0 }
        try require("--momentum", momentum, "at least 0 and below 1") { $0 >= 0 && $0 < 1 }
        let chosenOptimizer = optimizer ?? Defaults.optimizer
        if momentum != nil, !chosenOptimizer.hasMomentum {
            throw ValidationError("--momentum applies to SGD and RMSprop only (--optimizer sgd or rmsprop), not to \(chosenOptimizer.rawValue)\(optimizer == nil ? ", the default --optimizer" : "")")
        }
        try require("--clip", clip, "at least 0 (0 turns clipping off)") { $0 >= 0 }
        try require("--threads", threads, in: 1...256)
        try require("--val-fraction", valFraction, "between 0.01 and 0.5") { $0 >= 0.01 && $0 <= 0.5 }
        try require("--eval-every", evalEvery, in: 1...10_000_000)
        try require("--eval-batches", evalBatches, in: 1...10_000_000)
        try require("--stop-after", stopAfter, in: 1...10_000_000)
        if let out, out.isEmpty { throw ValidationError("--out must name a directory, got an empty string") }
    }

    /// The total steps of a new run unless --epochs sets them: --steps, or the default for its data.
    var stepsUnlessEpochs: Int {
        steps ?? (labelColumn != nil || tsv != nil || conll != nil || pairs != nil ? Defaults.classifierSteps : csv != nil ? Defaults.seriesSteps
                  : text != nil ? Defaults.textSteps : Defaults.builtinSteps)
    }

    /// The names of a comma-separated column list (`a,b,c`), trimmed; `option` names it in messages.
    /// - Throws: `ValidationError` for an empty name or a name given twice.
    static func parseColumnList(_ list: String, option: String = "--feature-columns") throws -> [String] {
        let names = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if names.contains(where: \.isEmpty) {
            throw ValidationError("\(option) '\(list)' has an empty column name; expected names separated by commas, as in a,b,c")
        }
        if let repeated = names.enumerated().first(where: { names[..<$0.offset].contains($0.element) })?.element {
            throw ValidationError("\(option) names '\(repeated)' twice; expected each column once")
        }
        return names
    }

    /// Throws unless `warmup` (when given) is at least 0 and below the run's `steps` (when known:
    /// --epochs sets them only once the data is read).
    static func requireWarmup(_ warmup: Int?, below steps: Int?) throws {
        guard let warmup else { return }
        guard warmup >= 0, warmup < steps ?? .max else {
            throw ValidationError("--warmup must be at least 0 and below the number of steps\(steps.map { " (\($0))" } ?? ""), got \(warmup)")
        }
    }

    func run(console: Console) throws {
        try TrainingRun.start(command: self, console: console)
    }
}
