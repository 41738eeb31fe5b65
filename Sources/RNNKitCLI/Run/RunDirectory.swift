// The run directory that `rnnkit train --out DIR` writes and the other commands read.
//
//   DIR/
//     config.json              what was trained on and how (RunConfiguration, below)
//     checkpoint.safetensors   weights, model configuration, optimizer state and step counter
//     metrics.csv              step, train_loss, val_loss, throughput, elapsed_seconds[, val_<metric>]
//     loss.svg                 the training and validation loss curves (and the task's metric), for a browser
//     samples.txt              (character models) text sampled at each validation
//
// Every file is replaced atomically (Run/AtomicFile.swift).

import Foundation
import RNNKit

/// What a run trained, on which data, with which options: the content of `config.json`.
///
/// `format` and `formatVersion` identify the layout; a reader refuses other formats and newer
/// versions with a message rather than misreading them. The enumerated values (task, data kind,
/// cell, optimizer, schedule, sampling) are written as the strings of ``RunConfigurationChoice``;
/// an unknown string is refused when the file is read, with the key and the accepted values.
struct RunConfiguration: Codable, Equatable {
    /// Always ``RunConfiguration/formatName``.
    var format: String = RunConfiguration.formatName
    /// The version of this layout; ``RunConfiguration/currentFormatVersion`` when written.
    var formatVersion: Int = RunConfiguration.currentFormatVersion
    /// The `rnnkit --version` that wrote the run.
    var rnnkitVersion: String = cliVersion
    /// A character-level language model, a one-column forecaster or a sequence classifier.
    var task: Task
    /// Where the training data came from.
    var data: DataSource
    /// The model: cell, sizes, dropout.
    var model: ModelOptions
    /// The run: optimisation and schedule.
    var training: TrainingOptions

    static let formatName = "rnnkit-run"
    static let currentFormatVersion = 1

    /// What a run trains.
    enum Task: String, RunConfigurationChoice {
        /// A character-level language model (`--text`, or the built-in corpus).
        case charLM = "char-lm"
        /// A next-value forecaster on one CSV column (`--csv --column`).
        case forecast
        /// A classifier of whole sequences: of numeric features (`--csv --sequence-column
        /// --label-column`) or of texts (`--tsv`).
        case classify
        /// A tagger of every token of a sentence (`--conll`).
        case tag
        /// An encoder–decoder from source to target texts (`--pairs`).
        case translate
    }

    /// The training data of a run.
    struct DataSource: Codable, Equatable {
        /// Which kind of source.
        var kind: Kind
        /// Absolute path of the text or CSV file; `nil` for the built-in corpus.
        var path: String?
        /// The CSV column (forecasters only).
        var column: String?
        /// Forecasters: the columns the model reads at each step, standardised with
        /// `featureMeans`/`featureDeviations`; `nil` for the target column alone (as before the option).
        var inputColumns: [String]?
        /// Forecasters: the values predicted at once from each window; `nil` for 1.
        var horizon: Int?
        /// Classifiers: the column naming each row's sequence.
        var sequenceColumn: String?
        /// Classifiers: the column of labels.
        var labelColumn: String?
        /// Classifiers: the feature columns, in the order the model reads them.
        var featureColumns: [String]?
        /// Classifiers: the class names; the model's output `k` is `classes[k]` (taggers: the tags).
        var classes: [String]?
        /// Classifiers: each feature column's mean over the training sequences' rows, subtracted first.
        var featureMeans: [Double]?
        /// Classifiers: each feature column's standard deviation over those rows (1 where it is 0), dividing after the mean.
        var featureDeviations: [Double]?
        /// Text classifiers: how the texts are cut into tokens.
        var tokens: TokenUnit?
        /// Text classifiers and taggers: the fewest times a word must occur in the training texts to get an id of its own.
        var minCount: Int?
        /// Text classifiers and taggers: the token of each id, `<unk>` first; translators: the
        /// source side's (`<unk>`, `<s>`, `</s>` first).
        var vocabulary: [String]?
        /// Translators: the target side's tokens, `<unk>` first; the begin and end ids follow them.
        var targetVocabulary: [String]?
        /// Translators: the most tokens a decode writes (twice the longest training target, at least 10).
        var maximumTargetLength: Int?
        /// Absolute path of the `--val` file, whose examples (in the training file's format) are the
        /// validation data; `nil` when the last `--val-fraction` of the training file is.
        var validationPath: String?
        /// Characters, values or sequences the run was given (training and validation), for information.
        var length: Int
        /// FNV-1a hash of the text (or of the column's values), so that a resume on changed data is refused.
        var fingerprint: String?
        /// Forecasters: the mean of the training part, subtracted before the model sees a value.
        var mean: Double?
        /// Forecasters: the standard deviation of the training part, dividing after the mean.
        var standardDeviation: Double?

        enum CodingKeys: String, CodingKey {
            case kind, path, column, length, fingerprint, mean, standardDeviation = "standard_deviation"
            case inputColumns = "input_columns", horizon
            case sequenceColumn = "sequence_column", labelColumn = "label_column", featureColumns = "feature_columns", classes
            case featureMeans = "feature_means", featureDeviations = "feature_deviations"
            case tokens, minCount = "min_count", vocabulary
            case targetVocabulary = "target_vocabulary", maximumTargetLength = "maximum_target_length"
            case validationPath = "validation_path"
        }

        /// Where the training data of a run came from.
        enum Kind: String, RunConfigurationChoice {
            /// The corpus shipped with rnnkit.
            case builtin
            /// A `--text` file.
            case text
            /// A `--csv` file.
            case csv
            /// A `--tsv` file of `label<TAB>text` lines.
            case tsv
            /// A `--conll` file of tagged sentences.
            case conll
            /// A `--pairs` file of `source<TAB>target` lines.
            case pairs
        }
    }

    /// The architecture options.
    struct ModelOptions: Codable, Equatable {
        /// The recurrent cell, written with its `--cell` name (`rnn-tanh`, not the model file's `rnn_tanh`).
        @CommandLineCellName var cell: CellKind
        var hidden: Int
        var layers: Int
        var bidirectional: Bool
        var dropout: Double
        /// Embedding size of a character model (0 for a forecaster).
        var embedding: Int
        /// Translators: how the decoder scores the encoder's outputs (`--attention`).
        var attention: AttentionScore?
        /// Translators: whether each decoder step reads the previous step's context (`--input-feeding`).
        var inputFeeding: Bool?
        /// LSTM peephole connections (`--peepholes`); `nil` (absent from config.json) means none.
        var peepholes: Bool?
        /// Recurrent dropout (`--recurrent-dropout`); `nil` (absent from config.json) means none.
        var recurrentDropout: Double?
        /// Zoneout of the hidden state (`--zoneout`) and of an LSTM's cell state (`--zoneout-cell`,
        /// else `--zoneout`); `nil` (absent from config.json) means none.
        var zoneoutHidden: Double?
        var zoneoutCell: Double?
        /// LSTM projection size (`--proj-size`); `nil` (absent from config.json) means none.
        var projectionSize: Int?
        /// LSTM layer normalisation (`--layer-norm`); `nil` (absent from config.json) means none.
        var layerNorm: Bool?

        enum CodingKeys: String, CodingKey {
            case cell, hidden, layers, bidirectional, dropout, embedding, attention, inputFeeding = "input_feeding", peepholes
            case recurrentDropout = "recurrent_dropout", zoneoutHidden = "zoneout_hidden", zoneoutCell = "zoneout_cell"
            case projectionSize = "proj_size", layerNorm = "layer_norm"
        }

        /// `configuration` (a sequence model's, or a translator's for both its stacks) with the
        /// cell-variant options of these options.
        func withCellVariants<Configuration: CellVariantOptions>(_ configuration: Configuration) -> Configuration {
            var configuration = configuration
            configuration.peepholes = peepholes ?? false
            configuration.recurrentDropout = recurrentDropout ?? 0
            (configuration.zoneoutHidden, configuration.zoneoutCell) = (zoneoutHidden ?? 0, zoneoutCell ?? 0)
            (configuration.projectionSize, configuration.layerNorm) = (projectionSize ?? 0, layerNorm ?? false)
            return configuration
        }

        /// The cell and its variants as a progress line names them, e.g. `LSTM with peepholes` or
        /// `LSTM projected to 64`.
        var cellDescription: String {
            cell.commandLineName + (peepholes == true ? " with peepholes" : "")
                + (projectionSize.map { " projected to \($0)" } ?? "") + (layerNorm == true ? " with layer norm" : "")
        }
    }

    /// The optimisation options. The optional ones were added after the first runs were written: a
    /// config.json without one means what rnnkit did before it (see the `effective` values below).
    struct TrainingOptions: Codable, Equatable {
        var seqLen: Int
        var batch: Int
        /// The total number of optimizer steps of the run (resuming may raise it).
        var steps: Int
        var learningRate: Double
        var optimizer: OptimizerChoice
        /// Global gradient-norm limit; 0 means no clipping.
        var clip: Double
        var seed: UInt64
        var threads: Int
        var valFraction: Double
        var evalEvery: Int
        /// The learning-rate schedule after warm-up (`--schedule`).
        var schedule: ScheduleChoice?
        /// Steps of linear warm-up (`--warmup`).
        var warmup: Int?
        /// Weight decay (`--weight-decay`).
        var weightDecay: Double?
        /// SGD and RMSprop momentum (`--momentum`); `nil` for Adam and AdamW, which have none.
        var momentum: Double?
        /// How a character model reads its training text (`--sampling`); `nil` for a forecaster.
        var sampling: SamplingChoice?
        /// Windows of each strip (character models) or minibatches (forecasters) per validation
        /// (`--eval-batches`); `nil` for all of the validation data.
        var evalBatches: Int?
    }

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", rnnkitVersion = "rnnkit_version"
        case task, data, model, training
    }
}

/// An enumerated value of config.json, written as its raw string: decoding a string that is not
/// one of the raw values fails with the accepted values, which the reader reports with the file
/// and the key (for example `model.cell`).
protocol RunConfigurationChoice: RawRepresentable<String>, CaseIterable, Codable {}

extension RunConfigurationChoice {
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let value = Self(rawValue: name) else {
            let accepted = Self.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(name)' is not one of \(accepted)")
        }
        self = value
    }
}

/// A ``CellKind`` in config.json, spelled as `--cell` spells it (``CellChoice``).
@propertyWrapper
struct CommandLineCellName: Codable, Equatable {
    var wrappedValue: CellKind

    init(wrappedValue: CellKind) { self.wrappedValue = wrappedValue }
    init(from decoder: any Decoder) throws { wrappedValue = try CellChoice(from: decoder).kind }
    func encode(to encoder: any Encoder) throws { try CellChoice(wrappedValue).encode(to: encoder) }
}

extension RunConfiguration.TrainingOptions {
    enum CodingKeys: String, CodingKey {
        case seqLen = "seq_len", batch, steps, learningRate = "lr", optimizer, clip, seed, threads
        case valFraction = "val_fraction", evalEvery = "eval_every"
        case schedule, warmup, weightDecay = "weight_decay", momentum, sampling, evalBatches = "eval_batches"
    }

    // What the run trains with. A key that config.json lacks (written by an rnnkit before the option
    // existed) means what that rnnkit always did, whatever the defaults of new runs are now.

    /// The schedule; cosine when not recorded.
    var effectiveSchedule: ScheduleChoice { schedule ?? .cosine }
    /// The warm-up steps; min(50, steps/10) of the current total when not recorded.
    var effectiveWarmup: Int { warmup ?? min(50, steps / 10) }
    /// The weight decay; 0 when not recorded.
    var effectiveWeightDecay: Double { weightDecay ?? 0 }
    /// The momentum; 0.9 for SGD and 0 for the others when not recorded.
    var effectiveMomentum: Double { momentum ?? (optimizer == .sgd ? 0.9 : 0) }
    /// The sampling of a character model's text; stream when not recorded.
    var effectiveSampling: SamplingChoice { sampling ?? .stream }

    /// The sampling (of a character model's text), the schedule, and the weight decay, momentum and
    /// validation bound when there are any, in words: `random sampling, step schedule after 10
    /// warm-up steps, momentum 0.9, validation on the first 20 batches`.
    func summary(of task: RunConfiguration.Task) -> String {
        var parts = task == .charLM ? ["\(effectiveSampling.rawValue) sampling"] : []
        parts.append("\(effectiveSchedule.rawValue) schedule after \(effectiveWarmup) warm-up steps")
        if effectiveWeightDecay > 0 { parts.append("weight decay \(effectiveWeightDecay)") }
        if optimizer.hasMomentum { parts.append("momentum \(effectiveMomentum)") }
        if let evalBatches { parts.append("validation on the first \(evalBatches) batch\(evalBatches == 1 ? "" : "es")") }
        return parts.joined(separator: ", ")
    }
}

/// A run directory on disk: where its files are, creating it, and reading it back.
struct RunDirectory {
    /// The directory's path as given.
    let path: String

    static let configName = "config.json"
    static let checkpointName = "checkpoint.safetensors"
    static let metricsName = "metrics.csv"
    static let plotName = "loss.svg"
    static let samplesName = "samples.txt"

    var configPath: String { path + "/" + Self.configName }
    var checkpointPath: String { path + "/" + Self.checkpointName }
    var metricsPath: String { path + "/" + Self.metricsName }
    var plotPath: String { path + "/" + Self.plotName }
    var samplesPath: String { path + "/" + Self.samplesName }

    /// Prepares `path` for a new run: creates it (and its parents) when missing, accepts it when it
    /// is an empty directory, and refuses a file or a directory that already holds anything, so
    /// that no earlier run is ever overwritten.
    static func createNew(at path: String) throws -> RunDirectory {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CLIError("--out '\(path)' is a file; expected a new or empty directory for the run")
            }
            let contents = (try? manager.contentsOfDirectory(atPath: path)) ?? []
            if contents.contains(configName) || contents.contains(checkpointName) {
                throw CLIError("'\(path)' already holds a run; continue it with --resume \(path), or pass a new --out directory")
            }
            guard contents.isEmpty else {
                throw CLIError("--out '\(path)' is a directory that is not empty; expected a new or empty directory for the run")
            }
        } else {
            do {
                try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw CLIError("cannot create the run directory '\(path)': \(error.localizedDescription)")
            }
        }
        return RunDirectory(path: path)
    }

    /// Opens an existing run directory, or the directory holding the checkpoint `path` names.
    /// - Throws: ``CLIError`` when it is missing, has no `config.json`, or was written in another
    ///   format or by a newer rnnkit.
    static func openExisting(_ path: String, option: String) throws -> (RunDirectory, RunConfiguration) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("\(option) '\(path)' does not exist; expected a run directory written by rnnkit train")
        }
        let directory = RunDirectory(
            path: isDirectory.boolValue ? path : URL(fileURLWithPath: path).deletingLastPathComponent().path)
        let configuration = try directory.readConfiguration(option: option)
        guard FileManager.default.fileExists(atPath: directory.checkpointPath) else {
            throw CLIError("\(option) '\(directory.path)' has no \(checkpointName); the run was stopped before its first checkpoint")
        }
        return (directory, configuration)
    }

    /// Reads and checks `config.json`.
    func readConfiguration(option: String) throws -> RunConfiguration {
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw CLIError("\(option) '\(path)' is not an rnnkit run directory: it has no readable \(Self.configName)")
        }
        // Check the format before decoding the rest, so a newer layout gets the version message.
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CLIError("\(configPath) is not a JSON object; the run directory is damaged")
        }
        guard object["format"] as? String == RunConfiguration.formatName else {
            throw CLIError("\(configPath) is not an rnnkit run configuration (expected \"format\": \"\(RunConfiguration.formatName)\")")
        }
        guard let version = object["format_version"] as? Int else {
            throw CLIError("\(configPath) has no integer format_version")
        }
        guard version == RunConfiguration.currentFormatVersion else {
            let writer = (object["rnnkit_version"] as? String).map { " (rnnkit \($0))" } ?? ""
            throw CLIError("'\(path)' was written in run format \(version)\(writer); this rnnkit \(cliVersion) reads run format \(RunConfiguration.currentFormatVersion) only")
        }
        do {
            return try JSONDecoder().decode(RunConfiguration.self, from: data)
        } catch {
            throw CLIError("\(configPath) is incomplete or malformed: \(describe(decodingError: error))")
        }
    }

    /// Writes `config.json` atomically, keys sorted so that runs diff cleanly.
    func writeConfiguration(_ configuration: RunConfiguration) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(configuration)
        try writeAtomically([UInt8](data) + [0x0A], to: configPath)
    }
}

/// One line for a JSON decoding error: which key, and what was wrong with it.
private func describe(decodingError error: Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func pathText(_ path: [CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
    switch error {
    case .keyNotFound(let key, let context):
        return "missing key \(pathText(context.codingPath + [key]))"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
        return "bad value at \(pathText(context.codingPath)): \(context.debugDescription)"
    @unknown default:
        return "\(error)"
    }
}
