import Testing
@testable import RNNKitCLI

/// Every argument error is one line on standard error, `rnnkit: error: …`, with exit status 64,
/// and nothing is written (no run directory appears).
@Suite("Argument errors")
struct ArgumentErrorTests {
    static let cases: [([String], String)] = [
        (["train", "--hidden", "0"], "--hidden must be between 1 and 4096, got 0"),
        (["train", "--layers", "17"], "--layers must be between 1 and 16, got 17"),
        (["train", "--embedding", "0"], "--embedding must be between 1 and 4096, got 0"),
        (["train", "--csv", "series.csv", "--column", "v", "--embedding", "8"],
         "--embedding applies to models of text (--text, --tsv, --conll, --pairs or the built-in corpus) only"),
        (["train", "--dropout", "1"], "--dropout must be at least 0 and below 1, got 1.0"),
        (["train", "--seq-len", "0"], "--seq-len must be between 1 and 10000, got 0"),
        (["train", "--batch", "5000"], "--batch must be between 1 and 4096, got 5000"),
        (["train", "--steps", "0"], "--steps must be between 1 and 10000000, got 0"),
        (["train", "--epochs", "0"], "--epochs must be between 1 and 100000, got 0"),
        (["train", "--lr", "-0.1"], "--lr must be above 0 and at most 10, got -0.1"),
        (["train", "--lr", "nan"], "--lr must be above 0 and at most 10, got nan"),
        (["train", "--clip", "-1"], "--clip must be at least 0 (0 turns clipping off), got -1.0"),
        (["train", "--schedule", "linear"],
         "The value 'linear' is invalid for '--schedule <schedule>'. Please provide one of 'constant', 'cosine' or 'step'."),
        (["train", "--warmup", "-1"], "--warmup must be at least 0 and below the number of steps (1500), got -1"),
        (["train", "--steps", "100", "--warmup", "100"], "--warmup must be at least 0 and below the number of steps (100), got 100"),
        (["train", "--csv", "b.csv", "--column", "x", "--warmup", "600"],
         "--warmup must be at least 0 and below the number of steps (600), got 600"),
        (["train", "--epochs", "2", "--warmup", "-5"], "--warmup must be at least 0 and below the number of steps, got -5"),
        (["train", "--weight-decay", "-0.01"], "--weight-decay must be at least 0, got -0.01"),
        (["train", "--weight-decay", "inf"], "--weight-decay must be at least 0, got inf"),
        (["train", "--optimizer", "sgd", "--momentum", "1"], "--momentum must be at least 0 and below 1, got 1.0"),
        (["train", "--optimizer", "rmsprop", "--momentum", "-0.5"], "--momentum must be at least 0 and below 1, got -0.5"),
        (["train", "--momentum", "0.5"],
         "--momentum applies to SGD and RMSprop only (--optimizer sgd or rmsprop), not to adam, the default --optimizer"),
        (["train", "--optimizer", "adamw", "--momentum", "0.5"],
         "--momentum applies to SGD and RMSprop only (--optimizer sgd or rmsprop), not to adamw"),
        (["train", "--sampling", "shuffled"],
         "The value 'shuffled' is invalid for '--sampling <sampling>'. Please provide one of 'stream' and 'random'."),
        (["train", "--csv", "b.csv", "--column", "x", "--sampling", "random"],
         "--sampling applies to character models (--text or the built-in corpus) only: a forecaster or classifier trains on its windows or sequences, shuffled"),
        (["train", "--eval-batches", "0"], "--eval-batches must be between 1 and 10000000, got 0"),
        (["train", "--threads", "0"], "--threads must be between 1 and 256, got 0"),
        (["train", "--val-fraction", "0.9"], "--val-fraction must be between 0.01 and 0.5, got 0.9"),
        (["train", "--cell", "transformer"],
         "The value 'transformer' is invalid for '--cell <cell>'. Please provide one of 'lstm', 'gru', 'gru-reset-before', 'rnn-tanh' or 'rnn-relu'."),
        (["train", "--optimizer", "lbfgs"],
         "The value 'lbfgs' is invalid for '--optimizer <optimizer>'. Please provide one of 'sgd', 'adam', 'adamw' or 'rmsprop'."),
        (["train", "--hidden", "many"], "The value 'many' is invalid for '--hidden <n>'"),
        (["train", "--text", "a.txt", "--csv", "b.csv", "--column", "x"], "--text, --csv, --tsv, --conll and --pairs exclude each other; pass one data file"),
        (["train", "--csv", "b.csv"], "--csv needs --column NAME (the numeric column to forecast) or --sequence-column ID --label-column L (to classify sequences)"),
        (["train", "--column", "x"], "--column applies to --csv only"),
        (["train", "--steps", "10", "--epochs", "1"], "--steps and --epochs exclude each other; pass one"),
        (["train", "--bidirectional"],
         "--bidirectional applies to forecasters, classifiers and taggers (--csv, --tsv, --conll) only: a character language model predicts each character from the ones before it, so it may not read the text backwards"),
        (["train", "--cell", "gru", "--peepholes"],
         "--peepholes are an LSTM option; --cell gru has no cell state for them to see"),
        (["train", "--cell", "gru-reset-before", "--peepholes"],
         "--peepholes are an LSTM option; --cell gru-reset-before has no cell state for them to see"),
        (["train", "--cell", "gru", "--proj-size", "8"],
         "--proj-size is an LSTM option (PyTorch's proj_size); --cell gru has no projection"),
        (["train", "--cell", "rnn-tanh", "--layer-norm"], "--layer-norm is an LSTM option; --cell rnn-tanh has no layer-normalised form here"),
        (["train", "--layer-norm", "--peepholes"], "--layer-norm cannot be combined with --peepholes in this version"),
        (["train", "--layer-norm", "--proj-size", "4"], "--layer-norm cannot be combined with --proj-size in this version"),
        (["train", "--proj-size", "4", "--zoneout", "0.1"], "--proj-size cannot be combined with --recurrent-dropout or --zoneout in this version"),
        (["train", "--hidden", "32", "--proj-size", "32"], "--proj-size must be at least 1 and below --hidden (32), got 32"),
        (["train", "--proj-size", "0"], "--proj-size must be at least 1 and below --hidden, got 0"),
        (["train", "--resume", "runs/x", "--layer-norm"],
         "--layer-norm cannot be given with --resume: the run in 'runs/x' keeps the data and options in its config.json (only --steps, --epochs and --threads may change)"),
        (["train", "--recurrent-dropout", "1"], "--recurrent-dropout must be at least 0 and below 1, got 1.0"),
        (["train", "--zoneout", "-0.5"], "--zoneout must be at least 0 and below 1, got -0.5"),
        (["train", "--cell", "gru", "--zoneout-cell", "0.1"], "--zoneout-cell is an LSTM option; --cell gru has no cell state"),
        (["train", "--resume", "runs/x", "--zoneout", "0.1"],
         "--zoneout cannot be given with --resume: the run in 'runs/x' keeps the data and options in its config.json (only --steps, --epochs and --threads may change)"),
        (["train", "--pairs", "p.tsv", "--input-feeding", "--recurrent-dropout", "0.1"],
         "--recurrent-dropout cannot be used with --input-feeding: an input-fed decoder runs one step per forward, and recurrent dropout draws one mask per sequence"),
        (["train", "--resume", "runs/x", "--recurrent-dropout", "0.1"],
         "--recurrent-dropout cannot be given with --resume: the run in 'runs/x' keeps the data and options in its config.json (only --steps, --epochs and --threads may change)"),
        (["train", "--resume", "runs/x", "--peepholes"],
         "--peepholes cannot be given with --resume: the run in 'runs/x' keeps the data and options in its config.json (only --steps, --epochs and --threads may change)"),
        (["train", "--resume", "runs/x", "--hidden", "8"],
         "--hidden cannot be given with --resume: the run in 'runs/x' keeps the data and options in its config.json (only --steps, --epochs and --threads may change)"),
        (["train", "--resume", "runs/x", "--schedule", "step"],
         "--schedule cannot be given with --resume: the run in 'runs/x' keeps the data and options in its config.json (only --steps, --epochs and --threads may change)"),
        (["train", "--resume", "runs/x", "--eval-batches", "4"],
         "--eval-batches cannot be given with --resume: the run in 'runs/x' keeps the data and options in its config.json (only --steps, --epochs and --threads may change)"),
        (["train", "--frobnicate"], "Unknown option '--frobnicate'"),
        (["generate"], "Missing expected argument '--model <dir>'"),
        (["generate", "--model", "m", "--length", "0"], "--length must be between 1 and 1000000, got 0"),
        (["generate", "--model", "m", "--temperature", "-1"], "--temperature must be between 0 and 10, got -1.0"),
        (["generate", "--model", "m", "--prime", ""], "--prime must hold at least one character"),
        (["eval", "--model", "m"], "pass one data file: --text FILE for a character model, --csv FILE for a sequence classifier, --tsv FILE for a text classifier, --conll FILE for a tagger or --pairs FILE for a translator"),
        (["forecast", "--model", "m", "--csv", "c.csv", "--horizon", "0"], "--horizon must be between 1 and 100000, got 0"),
        (["inspect"], "Missing expected argument '<path>'"),
        (["fly"], "Unexpected argument 'fly'"),
    ]

    @Test("each bad argument gives one clear line and status 64", arguments: cases)
    func badArgument(arguments: [String], message: String) {
        let result = runCLI(arguments)
        #expect(result.status == 64)
        #expect(result.output == "")
        #expect(result.errors.hasPrefix("rnnkit: error: " + message), "\(result.errors)")
        #expect(result.errors.filter { $0 == "\n" }.count == 1, "more than one line: \(result.errors)")
    }

    @Test("--help and --version succeed and print to standard output")
    func help() {
        let help = runCLI(["train", "--help"])
        #expect(help.status == 0)
        #expect(help.output.contains("USAGE: rnnkit train"))
        #expect(help.output.contains("--val-fraction"))
        for option in ["--schedule", "--warmup", "--weight-decay", "--momentum", "--sampling", "--eval-batches"] {
            #expect(help.output.contains(option))
        }
        #expect(help.output.contains("(default: constant for text,") && help.output.contains("cosine for CSV)"))
        #expect(help.output.contains("(default: 0 for text, min(50,") && help.output.contains("steps/10) for CSV)"))
        #expect(help.output.contains("(default: random)") && help.output.contains("(default: all of the validation data)"))
        let version = runCLI(["--version"])
        #expect(version.status == 0)
        #expect(version.output == cliVersion + "\n")
    }
}
