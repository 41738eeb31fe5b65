// `rnnkit inspect DIR_OR_FILE`: what a run directory or safetensors file holds, and the spectral
// radius of every recurrent weight block (Inspect/SpectralAnalysis.swift explains the figures).
// `rnnkit inspect --system`: the BLAS core, threads and CPU features this process runs with.

import ArgumentParser
import Foundation
import RNNKit

struct InspectCommand: ConsoleCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a run's configuration, its parameters, and the spectral radius of each recurrent weight block.",
        discussion: """
            DIR_OR_FILE is a run directory (its config.json and checkpoint.safetensors are read) or \
            any safetensors file, including one saved from PyTorch's state_dict. For every weight_hh \
            tensor [G·H, H], each gate's H×H block (LSTM i f g o, GRU r z n) is reported with its \
            spectral radius ρ = max|λ| (LAPACKE dgeev, double precision) and its spectral norm \
            ‖W‖₂: ρ well above 1 risks exploding gradients, well below 1 vanishing ones. \
            With --system, it shows instead what this machine runs: OpenBLAS's core (and whether \
            RNNKit had to choose it because OpenBLAS did not recognise the CPU), the thread counts, \
            the CPU features and the kernel of RNNKit's own products.
            """)

    @Argument(help: "A run directory written by `rnnkit train`, or a .safetensors file.")
    var path: String?

    @Flag(help: "Show the BLAS core, threads and CPU features of this machine instead.")
    var system = false

    func validate() throws {
        if system, path != nil { throw ValidationError("give either DIR_OR_FILE or --system, not both") }
        if !system, path == nil { throw ValidationError("Missing expected argument '<path>': a run directory, a .safetensors file, or --system") }
    }

    func run(console: Console) throws {
        guard let path else {
            printSystem(console: console)
            return
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("'\(path)' does not exist; expected a run directory or a .safetensors file")
        }
        let checkpointPath: String
        if isDirectory.boolValue {
            let (directory, configuration) = try RunDirectory.openExisting(path, option: "inspect")
            checkpointPath = directory.checkpointPath
            console.line("Run directory \(directory.path)")
            printRunConfiguration(configuration, console: console)
            console.line()
        } else {
            checkpointPath = path
        }
        let file = try SafeTensorsFile(contentsOf: checkpointPath)
        let report = try InspectionReport(file: file)
        report.print(to: console)
    }

    private func printSystem(console: Console) {
        let d = blasDiagnostics()
        let why: String
        switch d.choice {
        case .selected: why = "selected by RNNKit: OpenBLAS did not recognise this CPU and had chosen \(d.coreAtLoad)"
        case .recognised: why = "OpenBLAS's own choice"
        case .setByUser: why = "set by OPENBLAS_CORETYPE"
        case .keptByRequest: why = "OpenBLAS's own choice, kept because RNNKIT_BLAS_CORE=keep"
        case .selectionFailed: why = "OpenBLAS kept it although RNNKit asked for the core of this CPU"
        case .notDynamic: why = "fixed when OpenBLAS was built"
        case .unknown: why = "unknown"
        }
        console.line("BLAS core      \(d.core) (\(why))")
        console.line("BLAS build     \(d.configuration)")
        console.line("threads        \(d.threads) (OpenBLAS \(d.blasThreads))")
        console.line("CPU features   \(d.cpuFeatures.isEmpty ? "none of avx2+fma, avx512, avx512_bf16" : d.cpuFeatures.joined(separator: ", "))")
        console.line("packed kernel  \(d.packedKernel)")
    }

    private func printRunConfiguration(_ configuration: RunConfiguration, console: Console) {
        let data = configuration.data
        let source = data.kind == .builtin ? "the built-in corpus" : "\(data.path ?? "?")" + (data.column.map { " column '\($0)'" } ?? "")
        let model = configuration.model
        let training = configuration.training
        console.line("  run format \(configuration.formatVersion), written by rnnkit \(configuration.rnnkitVersion)")
        let unit = switch configuration.task {
        case .charLM: "characters"
        case .forecast: "values"
        case .classify: configuration.data.kind == .tsv ? "lines" : "sequences"
        case .tag: "sentences"
        case .translate: "pairs"
        }
        console.line("  task        \(configuration.task.rawValue) on \(source) (\(data.length) \(unit))")
        if configuration.task == .classify, data.kind == .csv {
            console.line("  columns     sequence '\(data.sequenceColumn ?? "?")', label '\(data.labelColumn ?? "?")', features \((data.featureColumns ?? []).joined(separator: ","))")
            console.line("  labels      \((data.classes ?? []).joined(separator: ", "))")
        }
        if let vocabulary = data.vocabulary {
            let markers = configuration.task == .translate ? 3 : 1
            console.line("  tokens      \(data.tokens?.rawValue ?? "words"), \(vocabulary.count - markers) and \(markers == 3 ? "<unk>, <s>, </s>" : "<unk>")\(data.minCount.map { " (min count \($0))" } ?? "")")
            if let targets = data.targetVocabulary {
                console.line("  targets     \(targets.count - 1) and <unk>; attention \(configuration.model.attention?.rawValue ?? "additive")\(configuration.model.inputFeeding == true ? ", input feeding" : "")")
            } else {
                console.line("  \(configuration.task == .tag ? "tags  " : "labels")      \((data.classes ?? []).joined(separator: ", "))")
            }
        }
        console.line("  model       \(model.cellDescription), hidden \(model.hidden), \(model.layers) layer\(model.layers == 1 ? "" : "s")\(model.bidirectional ? ", bidirectional" : ""), dropout \(model.dropout)")
        let shape = readsWholeSequences(configuration.task) ? "\(training.batch) sequences" : "batch \(training.batch) × seq-len \(training.seqLen)"
        console.line("  training    \(training.steps) steps of \(shape), \(training.optimizer.rawValue) lr \(training.learningRate), clip \(training.clip == 0 ? "off" : String(training.clip)), seed \(training.seed), \(training.threads) thread\(training.threads == 1 ? "" : "s")")
        console.line("              \(training.summary(of: configuration.task))")
    }
}

/// What `inspect` prints about one safetensors file.
struct InspectionReport {
    /// A tensor of the file, classified.
    struct Tensor {
        var name: String
        var dtype: String
        var shape: [Int]
        var count: Int
    }
    var source: String
    var metadata: [String: String]
    /// The model's tensors (weights and biases).
    var parameters: [Tensor]
    /// Training state saved beside the weights: optimizer moments, the carried stream state.
    var state: [Tensor]
    /// One entry per gate block of every `weight_hh` tensor.
    var spectra: [GateBlockSpectrum]

    /// Total number of model parameters.
    var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Reads the tensors of `file` and measures its recurrent weight blocks.
    init(file: SafeTensorsFile) throws {
        source = file.source
        metadata = file.metadata ?? [:]
        parameters = []
        state = []
        spectra = []
        let cellGateCount = metadata["cell"].flatMap { CellKind(name: $0) }?.gateCount
        for info in file.tensors {
            let tensor = Tensor(name: info.name, dtype: info.dtype.rawValue, shape: info.shape, count: info.elementCount)
            if Self.isTrainingState(info.name) {
                state.append(tensor)
                continue
            }
            parameters.append(tensor)
            let leaf = info.name.split(separator: ".").last.map(String.init) ?? info.name
            guard leaf.hasPrefix("weight_hh"), info.shape.count == 2, info.dtype.isConvertibleToScalar else { continue }
            let (rows, hidden) = (info.shape[0], info.shape[1])
            guard hidden > 0, rows % hidden == 0 else { continue }
            let gateCount = rows / hidden
            let gates = gateLetters(gateCount: cellGateCount == gateCount ? cellGateCount! : gateCount)
            spectra += try gateBlockSpectra(
                tensorName: info.name, values: try file.values(of: info.name, as: Double.self),
                hidden: hidden, gates: gates)
        }
    }

    /// Whether `name` is training state (optimizer moments, a carried stream state) rather than a model weight.
    static func isTrainingState(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return lowered.hasPrefix("optimizer") || lowered.hasPrefix("optim.") || lowered.hasPrefix("state.")
            || lowered.contains("exp_avg") || lowered.contains("momentum_buffer") || lowered.contains("square_avg")
            || lowered.contains("max_exp_avg_sq") || lowered.hasPrefix("training.") || lowered.hasPrefix("trainer.")
    }

    func print(to console: Console) {
        console.line("Checkpoint \(source)")
        if !metadata.isEmpty {
            // The model's description in full; of the trainer's state (training.*), the counters a
            // person asks about. `vocabulary` is shown as characters rather than code points.
            let trainerKeys = metadata.keys.filter { $0.hasPrefix("training.") }
            let shown = metadata.keys.filter { !$0.hasPrefix("training.") }.sorted()
            console.line("  metadata")
            let width = shown.map(\.count).max() ?? 0
            for key in shown {
                var value = metadata[key]!
                if key == "vocabulary", let vocabulary = try? CharacterVocabulary(metadataValue: value) {
                    let characters = vocabulary.characters.map { scalar in
                        scalar == "\n" ? "⏎" : scalar == " " ? "␣" : scalar.properties.isWhitespace ? "·" : String(Character(scalar))
                    }.joined()
                    value = "\(vocabulary.count) characters: \(characters)"
                }
                if value.count > 100 { value = String(value.prefix(97)) + "… (\(value.count) characters)" }
                console.line("    \(key.padding(toLength: width, withPad: " ", startingAt: 0))  \(value)")
            }
            if !trainerKeys.isEmpty {
                let step = metadata["training.step"].map { "step \($0)" } ?? "a training checkpoint"
                let epoch = metadata["training.epoch"].map { ", epoch \($0)" } ?? ""
                console.line("    training: \(step)\(epoch) (\(trainerKeys.count) training.* keys hold the trainer's settings and state)")
            }
        }
        console.line()
        console.line("Parameters")
        let nameWidth = max(4, (parameters + state).map(\.name.count).max() ?? 0)
        let shapeText = { (shape: [Int]) in "[" + shape.map(String.init).joined(separator: ", ") + "]" }
        let shapeWidth = max(5, parameters.map { shapeText($0.shape).count }.max() ?? 0)
        for tensor in parameters {
            console.line("  \(tensor.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0))  \(tensor.dtype.padding(toLength: 4, withPad: " ", startingAt: 0))  \(shapeText(tensor.shape).padding(toLength: shapeWidth, withPad: " ", startingAt: 0))  \(grouped(tensor.count))")
        }
        console.line("  total: \(grouped(parameterCount)) parameters in \(parameters.count) tensors")
        if !state.isEmpty {
            let stateCount = state.reduce(0) { $0 + $1.count }
            console.line("  (and \(state.count) training-state tensors — optimizer moments, carried stream state — with \(grouped(stateCount)) values, not counted)")
        }
        console.line()
        if spectra.isEmpty {
            console.line("No recurrent weight matrices (weight_hh tensors) in this file.")
            return
        }
        console.line("Recurrent weights: each gate's H×H block of weight_hh")
        console.line("  ρ = spectral radius max|λ| (> 1: repeated steps can amplify, risk of exploding gradients;")
        console.line("      ≪ 1: signals and gradients fade, risk of vanishing); ‖W‖₂ = largest singular value ≥ ρ")
        let tensorWidth = max(6, spectra.map(\.tensorName.count).max() ?? 0)
        console.line("  \("tensor".padding(toLength: tensorWidth, withPad: " ", startingAt: 0))  gate        ρ      ‖W‖₂")
        for spectrum in spectra {
            console.line("  \(spectrum.tensorName.padding(toLength: tensorWidth, withPad: " ", startingAt: 0))  \(spectrum.gate.padding(toLength: 4, withPad: " ", startingAt: 0))  \(String(format: "%8.4f  %8.4f", spectrum.spectralRadius, spectrum.spectralNorm))")
        }
    }
}

/// `1234567` as `1,234,567`.
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (index, digit) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { result += "," }
        result.append(digit)
    }
    return (value < 0 ? "-" : "") + result
}
