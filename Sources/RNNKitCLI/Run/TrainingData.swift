// Turning the files a run names into training and validation data for RNNKit's Trainer, one
// loader per task. In every task the validation part is the end of the data: the last
// val-fraction of it (at least one example), or the examples of a `--val` file appended after the
// training file's; vocabularies and standardisation come from the training part alone.
//
// Character models: the text (Unicode scalars); the first part is the training stream (truncated
// BPTT over `batch` strips), the rest the validation text.
// Forecasters (loadSeries): the target and input columns, each standardised with its training
// part's mean and standard deviation; every window of seq-len rows predicts the K values after it.
// Sequence classifiers (loadSequenceTable): the sequences of the CSV (SequenceTable.swift) in file
// order, every feature column standardised with the training sequences' rows.
// Text classifiers (loadLabelledText), taggers (loadConll), translators (loadPairs): token ids
// from vocabularies counted on the training part, `<unk>` for the rest.
// The classes (labels, tags) are the distinct ones, sorted, so class k is the k-th name.
import Foundation
import RNNKit

/// The data of a run, ready for the Trainer.
enum PreparedData {
    /// A character model's data.
    case characters(CharacterData)
    /// A forecaster's data.
    case series(SeriesData)
    /// A sequence classifier's data.
    case labelledSequences(ClassifierData)
    /// A tagger's data.
    case taggedSentences(TaggerData)
    /// A translator's data.
    case textPairs(PairData)

    struct CharacterData {
        var vocabulary: CharacterVocabulary
        /// Token ids of the training part.
        var training: [Int]
        /// Token ids of the validation part.
        var validation: [Int]
    }

    struct SeriesData {
        /// The whole target column as read.
        var values: [Double]
        /// Mean and standard deviation of the target's training part, used to standardise it.
        var mean: Double
        var standardDeviation: Double
        /// The values predicted at once from each window, `K`.
        var horizon: Int
        /// The columns read at each step, `F`.
        var inputColumns: [String]
        var training: [SequenceExample]
        var validation: [SequenceExample]
        /// The target index of each validation window's first prediction.
        var validationOrigins: [Int]
    }

    struct ClassifierData {
        /// The feature columns, in the order the model reads them (none for a text classifier).
        var featureColumns: [String]
        /// The class names: the model's output `k` is `classes[k]`.
        var classes: [String]
        /// Per feature column: the training rows' mean and standard deviation (1 where it is 0).
        var means: [Double]
        var deviations: [Double]
        /// A text classifier's tokens; `nil` for features.
        var vocabulary: TokenVocabulary?
        var training: [SequenceExample]
        var validation: [SequenceExample]
    }
}

extension PreparedData {
    struct TaggerData {
        /// The words the model knows, `<unk>` first.
        var vocabulary: TokenVocabulary
        /// The tags: the model's output `k` at a step is `tags[k]`.
        var tags: [String]
        var training: [SequenceExample]
        var validation: [SequenceExample]
    }
}

/// `[T, F]` features standardised column by column and narrowed to Float.
func standardised(_ features: [Double], means: [Double], deviations: [Double]) -> [Float] {
    let F = means.count
    return features.indices.map { Float((features[$0] - means[$0 % F]) / deviations[$0 % F]) }
}

/// Where the built-in corpus is found: `Data/corpus.txt` of the RNNKit checkout the binary was
/// built in (searched upwards from the executable and from the working directory), or
/// `<prefix>/share/rnnkit/corpus.txt` beside an installed `<prefix>/bin/rnnkit`.
enum BuiltinCorpus {
    static func locate() throws -> String {
        var candidates: [String] = []
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        candidates.append(directory.deletingLastPathComponent().appendingPathComponent("share/rnnkit/corpus.txt").path)
        for _ in 0..<6 {
            candidates.append(directory.appendingPathComponent("Data/corpus.txt").path)
            directory = directory.deletingLastPathComponent()
        }
        var working = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<6 {
            candidates.append(working.appendingPathComponent("Data/corpus.txt").path)
            working = working.deletingLastPathComponent()
        }
        if let found = candidates.first(where: { FileManager.default.isReadableFile(atPath: $0) }) {
            return found
        }
        throw CLIError("the built-in corpus (Data/corpus.txt of the RNNKit checkout, or share/rnnkit/corpus.txt beside an installed bin/rnnkit) was not found; pass --text FILE, or install it as docs/cli.md describes")
    }
}

/// FNV-1a, 64 bits, of `bytes`: recorded in config.json so that resuming on changed data is refused.
func fingerprint(_ bytes: some Sequence<UInt8>) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01B3
    }
    return String(hash, radix: 16)
}

extension PreparedData {
    /// Reads the run's data file, checks it against what the run needs, and splits it.
    /// - Parameter expectedFingerprint: when resuming, the fingerprint recorded at the start.
    /// - Returns: the data and the source description for config.json.
    static func load(_ configuration: RunConfiguration, path: String, expectedFingerprint: String?) throws
        -> (PreparedData, RunConfiguration.DataSource) {
        var source = configuration.data
        let training = configuration.training
        switch configuration.task {
        case .charLM:
            let trainingText = try InputFile.text(at: path, purpose: source.kind == .builtin ? "built-in corpus" : "text file")
            let heldText = try source.validationPath.map { try InputFile.text(at: $0, purpose: "validation file") }
            let text = trainingText + (heldText ?? "")
            let print = fingerprint(text.utf8)
            if let expectedFingerprint, expectedFingerprint != print {
                throw CLIError("'\(path)' changed since the run started (its contents no longer match the fingerprint in config.json); resume needs the same data")
            }
            let scalars = Array(text.unicodeScalars)
            guard scalars.count >= 3 else {
                throw CLIError("text file '\(path)' has \(scalars.count) characters; expected at least 3 to train and validate on")
            }
            let vocabulary = try CharacterVocabulary(text: text)
            let ids = try vocabulary.encode(text)
            let validationCount = heldText.map { $0.unicodeScalars.count } ?? max(2, Int((Double(ids.count) * training.valFraction).rounded()))
            let split = ids.count - validationCount
            let needed = training.batch * training.seqLen + 1
            guard split >= needed else {
                throw CLIError("text file '\(path)' is too short: its training part has \(split) characters, expected at least batch × seq-len + 1 = \(needed); lower --batch or --seq-len, or give a longer text")
            }
            source.length = ids.count
            source.fingerprint = print
            return (.characters(CharacterData(vocabulary: vocabulary, training: Array(ids[..<split]), validation: Array(ids[split...]))), source)
        case .forecast:
            return try loadSeries(source, path: path, training: training, expectedFingerprint: expectedFingerprint)
        case .translate:
            return try loadPairs(source, path: path, valFraction: training.valFraction, expectedFingerprint: expectedFingerprint)
        case .tag:
            return try loadConll(source, path: path, valFraction: training.valFraction, expectedFingerprint: expectedFingerprint)
        case .classify where source.kind == .tsv:
            return try loadLabelledText(source, path: path, valFraction: training.valFraction, expectedFingerprint: expectedFingerprint)
        case .classify:
            return try loadSequenceTable(source, path: path, valFraction: training.valFraction, expectedFingerprint: expectedFingerprint)
        }
    }
}

extension PreparedData {
    /// A sequence classifier's CSV (SequenceTable.swift), standardised with its training rows' statistics.
    static func loadSequenceTable(_ source: RunConfiguration.DataSource, path: String, valFraction: Double,
                                  expectedFingerprint: String?) throws -> (PreparedData, RunConfiguration.DataSource) {
        var source = source
        guard let sequenceColumn = source.sequenceColumn, let labelColumn = source.labelColumn else {
            throw CLIError("config.json names no sequence and label columns for the classifier")
        }
        let table = try SequenceTable.read(path: path, sequenceColumn: sequenceColumn, labelColumn: labelColumn,
                                           featureColumns: source.featureColumns, progress: InputProgress.current)
        let held = try source.validationPath.map {
            try SequenceTable.read(path: $0, sequenceColumn: sequenceColumn, labelColumn: labelColumn, featureColumns: table.featureColumns,
                                   progress: InputProgress.current)
        }
        let sequences = table.sequences + (held?.sequences ?? [])
        var hashed: [UInt8] = []
        for sequence in sequences {
            hashed += Array(sequence.id.utf8) + [0] + Array(sequence.label!.utf8) + [0]
            for value in sequence.features { withUnsafeBytes(of: value.bitPattern.littleEndian) { hashed += $0 } }
        }
        let print = fingerprint(hashed + Array(table.featureColumns.joined(separator: ",").utf8))
        let split = try ClassifierSplit(labels: sequences.map { $0.label! }, valFraction: valFraction, heldOut: held?.sequences.count, print: print,
                                        expectedFingerprint: expectedFingerprint, path: path,
                                        what: ("CSV file", "sequence", "in column '\(labelColumn)'"))
        let trainingPart = sequences.dropLast(split.validationCount)
        let F = table.featureColumns.count
        var sums = [Double](repeating: 0, count: F), squares = [Double](repeating: 0, count: F), rows = 0
        for sequence in trainingPart {
            for (index, value) in sequence.features.enumerated() { sums[index % F] += value }
            rows += sequence.length
        }
        let means = sums.map { $0 / Double(rows) }
        for sequence in trainingPart {
            for (index, value) in sequence.features.enumerated() { squares[index % F] += (value - means[index % F]) * (value - means[index % F]) }
        }
        let deviations = squares.map { $0 > 0 ? ($0 / Double(rows)).squareRoot() : 1 }
        let examples = zip(sequences, split.targets).map { sequence, target in
            SequenceExample.features(standardised(sequence.features, means: means, deviations: deviations), steps: sequence.length,
                                     targetClasses: [target])
        }
        source.length = sequences.count
        source.fingerprint = print
        source.featureColumns = table.featureColumns
        source.classes = split.classes
        source.featureMeans = means
        source.featureDeviations = deviations
        return (.labelledSequences(ClassifierData(
            featureColumns: table.featureColumns, classes: split.classes, means: means, deviations: deviations, vocabulary: nil,
            training: Array(examples.dropLast(split.validationCount)), validation: Array(examples.suffix(split.validationCount)))), source)
    }

    /// A text classifier's `label<TAB>text` file (LabelledText.swift); the vocabulary counts the training texts only.
    static func loadLabelledText(_ source: RunConfiguration.DataSource, path: String, valFraction: Double,
                                 expectedFingerprint: String?) throws -> (PreparedData, RunConfiguration.DataSource) {
        var source = source
        let unit = source.tokens ?? .chars
        let held = try source.validationPath.map { try LabelledText.read(path: $0, unit: unit).lines }
        let lines = try LabelledText.read(path: path, unit: unit).lines + (held ?? [])
        let print = fingerprint(lines.flatMap { Array($0.label!.utf8) + [9] + Array($0.tokens.joined(separator: " ").utf8) + [10] })
        let split = try ClassifierSplit(labels: lines.map { $0.label! }, valFraction: valFraction, heldOut: held?.count, print: print,
                                        expectedFingerprint: expectedFingerprint, path: path, what: ("TSV file", "line", "before the tabs"))
        let minimumCount = unit == .words ? source.minCount ?? Defaults.minCount : 1
        let vocabulary = TokenVocabulary(counting: lines.dropLast(split.validationCount).map(\.tokens), minimumCount: minimumCount)
        let examples = zip(lines, split.targets).map { line, target in
            SequenceExample.tokens(vocabulary.ids(of: line.tokens), targetClasses: [target])
        }
        source.length = lines.count
        source.fingerprint = print
        source.tokens = unit
        source.minCount = unit == .words ? minimumCount : nil
        source.vocabulary = vocabulary.tokens
        source.classes = split.classes
        return (.labelledSequences(ClassifierData(
            featureColumns: [], classes: split.classes, means: [], deviations: [], vocabulary: vocabulary,
            training: Array(examples.dropLast(split.validationCount)), validation: Array(examples.suffix(split.validationCount)))), source)
    }
}

extension PreparedData {
    /// A tagger's CoNLL file (ConllFile.swift); the vocabulary counts the training sentences' words only.
    static func loadConll(_ source: RunConfiguration.DataSource, path: String, valFraction: Double,
                          expectedFingerprint: String?) throws -> (PreparedData, RunConfiguration.DataSource) {
        var source = source
        let held = try source.validationPath.map { try ConllFile.read(path: $0).sentences }
        let sentences = try ConllFile.read(path: path).sentences + (held ?? [])
        var hashed: [UInt8] = []
        for sentence in sentences {
            for token in sentence { hashed += Array(token.word.utf8) + [9] + Array(token.tag!.utf8) + [10] }
            hashed.append(10)
        }
        let print = fingerprint(hashed)
        let validationCount = try heldOutCount(of: sentences.count, valFraction: valFraction, heldOut: held?.count, print: print,
                                               expectedFingerprint: expectedFingerprint, path: path, what: ("CoNLL file", "sentence"))
        let tags = Set(sentences.joined().map { $0.tag! }).sorted()
        guard tags.count >= 2 else {
            throw CLIError.data("CoNLL file '\(path)': every token has the tag '\(tags[0])'; expected at least two different tags in the last column")
        }
        let minimumCount = source.minCount ?? Defaults.minCount
        let vocabulary = TokenVocabulary(counting: sentences.dropLast(validationCount).map { $0.map(\.word) }, minimumCount: minimumCount)
        let tagIndex = Dictionary(uniqueKeysWithValues: tags.enumerated().map { ($1, $0) })
        let examples = sentences.map { sentence in
            SequenceExample.tokens(vocabulary.ids(of: sentence.map(\.word)), targetClasses: sentence.map { tagIndex[$0.tag!]! })
        }
        source.length = sentences.count
        source.fingerprint = print
        source.minCount = minimumCount
        source.vocabulary = vocabulary.tokens
        source.classes = tags
        return (.taggedSentences(TaggerData(vocabulary: vocabulary, tags: tags, training: Array(examples.dropLast(validationCount)),
                                            validation: Array(examples.suffix(validationCount)))), source)
    }
}

extension PreparedData {
    struct PairData {
        /// The source tokens (`<unk>`, `<s>`, `</s>` first) and the target tokens (`<unk>` first).
        var sourceVocabulary: TokenVocabulary
        var targetVocabulary: TokenVocabulary
        /// The most tokens a decode writes.
        var maximumTargetLength: Int
        var training: [Seq2SeqExample]
        var validation: [Seq2SeqExample]
        /// The validation pairs as read, for exact match and error rates.
        var validationPairs: [TextPairs.Pair]
    }

    /// A translator's `source<TAB>target` file; the vocabularies count the training pairs only.
    static func loadPairs(_ source: RunConfiguration.DataSource, path: String, valFraction: Double,
                          expectedFingerprint: String?) throws -> (PreparedData, RunConfiguration.DataSource) {
        var source = source
        let unit = source.tokens ?? .chars
        let held = try source.validationPath.map { try TextPairs.read(path: $0, unit: unit).pairs }
        let pairs = try TextPairs.read(path: path, unit: unit).pairs + (held ?? [])
        var hashed: [UInt8] = []
        for pair in pairs { hashed += Array(pair.source.joined(separator: " ").utf8) + [9] + Array(pair.target!.joined(separator: " ").utf8) + [10] }
        let print = fingerprint(hashed)
        let validationCount = try heldOutCount(of: pairs.count, valFraction: valFraction, heldOut: held?.count, print: print,
                                               expectedFingerprint: expectedFingerprint, path: path, what: ("pairs file", "line"))
        let minimumCount = unit == .words ? source.minCount ?? Defaults.minCount : 1
        let trainingPairs = pairs.dropLast(validationCount)
        let sourceVocabulary = SourceMarkers.vocabulary(counting: trainingPairs.map(\.source), minimumCount: minimumCount)
        let targetVocabulary = TokenVocabulary(counting: trainingPairs.map { $0.target! }, minimumCount: minimumCount)
        let longest = trainingPairs.map { $0.target!.count }.max()!
        let examples = pairs.map {
            Seq2SeqExample(source: SourceMarkers.ids(of: $0.source, in: sourceVocabulary), target: targetVocabulary.ids(of: $0.target!))
        }
        source.length = pairs.count
        source.fingerprint = print
        source.tokens = unit
        source.minCount = unit == .words ? minimumCount : nil
        source.vocabulary = sourceVocabulary.tokens
        source.targetVocabulary = targetVocabulary.tokens
        source.maximumTargetLength = max(10, 2 * longest)
        return (.textPairs(PairData(sourceVocabulary: sourceVocabulary, targetVocabulary: targetVocabulary,
                                    maximumTargetLength: max(10, 2 * longest), training: Array(examples.dropLast(validationCount)),
                                    validation: Array(examples.suffix(validationCount)), validationPairs: Array(pairs.suffix(validationCount)))), source)
    }
}

/// A translator's source side: every source is read as `<s> tokens </s>`, so that the encoder's
/// outputs mark where the source starts and ends (attention reads the first when it writes a
/// target's end, the last when it writes its beginning, as a reversal needs).
enum SourceMarkers {
    static let start = "<s>", end = "</s>"

    /// `<unk>`, `<s>`, `</s>`, then the tokens of `sources` seen at least `minimumCount` times.
    static func vocabulary(counting sources: [[String]], minimumCount: Int) -> TokenVocabulary {
        let counted = TokenVocabulary(counting: sources, minimumCount: minimumCount)
        return TokenVocabulary(tokens: [TokenVocabulary.unknown, start, end] + counted.tokens.dropFirst().filter { $0 != start && $0 != end })
    }

    /// The ids of `<s> tokens </s>`.
    static func ids(of tokens: [String], in vocabulary: TokenVocabulary) -> [Int] {
        [1] + vocabulary.ids(of: tokens) + [2]
    }
}

/// A classifier's labels: the classes (the distinct labels, sorted), each example's class, and how
/// many of the last examples are held out.
struct ClassifierSplit {
    var classes: [String]
    var targets: [Int]
    var validationCount: Int

    /// - Parameter what: the file's kind, the name of one example and where its labels are, for messages.
    /// - Throws: ``CLIError`` when the file changed since the run started, or a data error for fewer
    ///   than 2 examples or labels.
    init(labels: [String], valFraction: Double, heldOut: Int?, print: String, expectedFingerprint: String?, path: String,
         what: (file: String, example: String, labelPlace: String)) throws {
        validationCount = try heldOutCount(of: labels.count, valFraction: valFraction, heldOut: heldOut, print: print,
                                           expectedFingerprint: expectedFingerprint, path: path, what: (what.file, what.example))
        classes = Set(labels).sorted()
        guard classes.count >= 2 else {
            throw CLIError.data("\(what.file) '\(path)': every \(what.example) has the label '\(classes[0])'; expected at least two different labels \(what.labelPlace) to classify")
        }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        targets = labels.map { index[$0]! }
    }
}

/// How many of the last of `count` examples are held out for validation: `heldOut`, the examples of
/// a `--val` file appended after the training file's, or else `valFraction` of them (at least one).
/// - Parameter what: the file's kind and the name of one example, for messages.
/// - Throws: ``CLIError`` when the data's fingerprint is not the one a resumed run recorded, and a
///   data error when no example is left to train on.
func heldOutCount(of count: Int, valFraction: Double, heldOut: Int? = nil, print: String, expectedFingerprint: String?,
                  path: String, what: (file: String, example: String)) throws -> Int {
    if let expectedFingerprint, expectedFingerprint != print {
        throw CLIError("'\(path)' changed since the run started; resume needs the same data")
    }
    let validationCount = heldOut ?? max(1, Int((Double(count) * valFraction).rounded()))
    guard count - validationCount >= 1 else {
        throw CLIError.data("\(what.file) '\(path)' has \(count) \(what.example)\(count == 1 ? "" : "s"); expected at least 2, to train on and to validate on")
    }
    return validationCount
}

extension PreparedData {
    /// A forecaster's CSV: the target column and the input columns (the target alone by default),
    /// each standardised with its training part's mean and standard deviation. Every window of
    /// `seq-len` rows predicts the `K` target values after it; the validation windows are those
    /// whose first predicted value lies in the last val-fraction of the series, and no training
    /// window predicts a value of that part.
    static func loadSeries(_ source: RunConfiguration.DataSource, path: String, training: RunConfiguration.TrainingOptions,
                           expectedFingerprint: String?) throws -> (PreparedData, RunConfiguration.DataSource) {
        var source = source
        guard let column = source.column else { throw CLIError("config.json names no CSV column for the forecaster") }
        let inputNames = source.inputColumns ?? [column]
        let read = try CSVStream.numericColumns(path: path, names: [column] + inputNames.filter { $0 != column },
                                                progress: InputProgress.current)
        let values = read[0]
        var others = read.dropFirst().makeIterator()
        let inputs = inputNames.map { $0 == column ? values : others.next()! }      // [F][n]
        var hashed = values.map(\.bitPattern).flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        if source.inputColumns != nil {
            for (name, series) in zip(inputNames, inputs) {
                hashed += Array(name.utf8) + [0] + series.map(\.bitPattern).flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
            }
        }
        let print = fingerprint(hashed)
        if let expectedFingerprint, expectedFingerprint != print {
            throw CLIError("column '\(column)' of '\(path)' changed since the run started; resume needs the same data")
        }
        let window = training.seqLen, K = source.horizon ?? 1, n = values.count
        let validationTargets = max(1, Int((Double(n) * training.valFraction).rounded()))
        let firstValidationTarget = n - validationTargets
        guard firstValidationTarget - window >= K else {
            throw CLIError("column '\(column)' of '\(path)' has \(n) values, too few for --seq-len \(window)\(K > 1 ? " and --horizon \(K)" : "") with --val-fraction \(training.valFraction): expected at least \(window + K + validationTargets); lower --seq-len or give a longer series")
        }
        guard validationTargets >= K else {
            throw CLIError("--horizon \(K) needs at least \(K) validation values, but --val-fraction \(training.valFraction) holds out \(validationTargets) of column '\(column)'; raise --val-fraction or lower --horizon")
        }
        func statistics(_ series: [Double]) -> (mean: Double, deviation: Double) {
            let part = series[..<firstValidationTarget]
            let mean = part.reduce(0, +) / Double(part.count)
            let variance = part.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(part.count)
            return (mean, variance > 0 ? variance.squareRoot() : 1)
        }
        let target = statistics(values), inputStatistics = inputs.map(statistics)
        let standardisedTarget = values.map { Float(($0 - target.mean) / target.deviation) }
        let standardisedInputs = zip(inputs, inputStatistics).map { series, s in series.map { Float(($0 - s.mean) / s.deviation) } }
        func example(origin t: Int) -> SequenceExample {
            var features: [Float] = []                                                // [W, F]
            features.reserveCapacity(window * inputs.count)
            for step in (t - window)..<t { for series in standardisedInputs { features.append(series[step]) } }
            return .features(features, steps: window, targetValues: Array(standardisedTarget[t..<t + K]))
        }
        let validationOrigins = Array(firstValidationTarget...(n - K))
        source.length = n
        source.fingerprint = print
        source.mean = target.mean
        source.standardDeviation = target.deviation
        if source.inputColumns != nil {
            source.featureMeans = inputStatistics.map(\.mean)
            source.featureDeviations = inputStatistics.map(\.deviation)
        }
        return (.series(SeriesData(values: values, mean: target.mean, standardDeviation: target.deviation, horizon: K,
                                   inputColumns: inputNames, training: (window...(firstValidationTarget - K)).map(example),
                                   validation: validationOrigins.map(example), validationOrigins: validationOrigins)), source)
    }
}
