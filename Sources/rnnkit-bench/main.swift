// rnnkit-bench: times one shape of the performance suite and prints one JSON line.
//
// Dimension letters: T steps, B batch rows, I input features (layer k > 0 reads D·H),
// H hidden features, G gates (RNN 1, GRU 3, LSTM 4), D directions, L layers.
//
//   rnnkit-bench --cell lstm|gru|rnn_tanh|rnn_relu --input I --hidden H --layers L
//                --bidirectional 0|1 --batch B --steps T --mode train|infer
//                --threads N --warmup W --iterations K [--roofline]
//   rnnkit-bench --probe --threads N [--seconds S]
//
// Without --roofline it times RecurrentNetwork<Float>: infer = one forward with
// isTraining = false; train = forward + backward (fixed random ∂L/∂y) + zeroGradients().
// With --roofline it times only the GEMMs that the same pass performs (shapes and
// transposes as in docs/architecture.md), by calling cblas_sgemm directly on scratch
// buffers: the time the matrix products alone take, which the pass cannot beat.
//
// With --probe it runs the host check instead (Sources/CBenchProbe): N threads of register-only
// FMAs for S seconds (default 0.1), printing {"framework":"fma-probe","threads":N,
// "gflops_per_thread":[…]}; scripts/perf runs it around every measurement to catch a host that
// is not giving this VM its cores' full FMA throughput.
//
// Output (stdout, one line):
//   {"framework":"rnnkit"|"sgemm-roofline","shape":{...},"threads":N,"median_ms":…,
//    "times_ms":[…],"peak_rss_delta_kb":…}
// Bad arguments: one line on stderr, exit status 2. A failure while running: exit 1.

import CBenchProbe
import COpenBLAS
import Foundation
import RNNKit

#if canImport(Glibc)
import Glibc
#endif

// MARK: Arguments

/// The parsed command line.
struct BenchOptions {
    var cell: CellKind = .lstm
    /// `--cell lstm_peephole`: an LSTM with peepholes.
    var peepholes = false
    /// `--cell lstm_layernorm`: a layer-normalised LSTM.
    var layerNorm = false
    var inputSize = 0
    var hiddenSize = 0
    /// `--proj P`: an LSTM with a projection of size `P` (0: none).
    var projectionSize = 0
    var layers = 1
    var bidirectional = false
    var batch = 0
    var steps = 0
    var training = true
    var threads = 1
    var warmup = 3
    var iterations = 10
    var roofline = false
    var probe = false
    var probeSeconds = 0.1
}

/// Prints `message` as one line on stderr and exits with status 2 (bad usage).
func usageError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("rnnkit-bench: \(message)\n".utf8))
    exit(2)
}

func parseOptions(_ arguments: [String]) -> BenchOptions {
    var options = BenchOptions()
    var seen = Set<String>()
    var index = 0
    func value(_ flag: String) -> String {
        index += 1
        guard index < arguments.count else { usageError("\(flag) needs a value") }
        return arguments[index]
    }
    func integer(_ flag: String, atLeast minimum: Int) -> Int {
        let text = value(flag)
        guard let number = Int(text), number >= minimum else {
            usageError("\(flag) expects an integer ≥ \(minimum), got '\(text)'")
        }
        return number
    }
    while index < arguments.count {
        let flag = arguments[index]
        seen.insert(flag)
        switch flag {
        case "--cell":
            let text = value(flag)
            options.peepholes = text == "lstm_peephole"
            options.layerNorm = text == "lstm_layernorm"
            guard let cell = options.peepholes || options.layerNorm ? .lstm : CellKind(name: text) else {
                usageError("--cell expects lstm, lstm_peephole, lstm_layernorm, gru, gru_reset_before, rnn_tanh or rnn_relu, got '\(text)'")
            }
            options.cell = cell
        case "--input": options.inputSize = integer(flag, atLeast: 1)
        case "--hidden": options.hiddenSize = integer(flag, atLeast: 1)
        case "--proj": options.projectionSize = integer(flag, atLeast: 0)
        case "--layers": options.layers = integer(flag, atLeast: 1)
        case "--bidirectional":
            let text = value(flag)
            guard text == "0" || text == "1" else { usageError("--bidirectional expects 0 or 1, got '\(text)'") }
            options.bidirectional = text == "1"
        case "--batch": options.batch = integer(flag, atLeast: 1)
        case "--steps": options.steps = integer(flag, atLeast: 1)
        case "--mode":
            let text = value(flag)
            guard text == "train" || text == "infer" else { usageError("--mode expects train or infer, got '\(text)'") }
            options.training = text == "train"
        case "--threads": options.threads = integer(flag, atLeast: 1)
        case "--warmup": options.warmup = integer(flag, atLeast: 0)
        case "--iterations": options.iterations = integer(flag, atLeast: 1)
        case "--roofline": options.roofline = true
        case "--probe": options.probe = true
        case "--seconds":
            let text = value(flag)
            guard let seconds = Double(text), seconds > 0, seconds <= 60 else {
                usageError("--seconds expects a number of seconds in (0, 60], got '\(text)'")
            }
            options.probeSeconds = seconds
        case "-h", "--help":
            print("usage: rnnkit-bench --cell lstm|lstm_peephole|lstm_layernorm|gru|gru_reset_before|rnn_tanh|rnn_relu --input I --hidden H --layers L "
                + "--bidirectional 0|1 --batch B --steps T --mode train|infer --threads N --warmup W "
                + "--iterations K [--proj P] [--roofline]\n       rnnkit-bench --probe --threads N [--seconds S]")
            exit(0)
        default: usageError("unknown argument '\(flag)'; see --help")
        }
        index += 1
    }
    if options.probe { return options }
    for required in ["--cell", "--input", "--hidden", "--batch", "--steps", "--mode"] where !seen.contains(required) {
        usageError("missing \(required); see --help")
    }
    return options
}

// MARK: Clock and memory

/// Milliseconds on the monotonic clock.
func monotonicMilliseconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) * 1e3 + Double(now.tv_nsec) * 1e-6
}

/// A `kB` field of /proc/self/status (`VmHWM`, `VmRSS`), or nil off Linux.
func procStatusKilobytes(_ field: String) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        let digits = line.dropFirst(field.count + 1).filter(\.isNumber)
        return Int(String(digits))
    }
    return nil
}

/// Resets the peak-RSS mark (VmHWM) to the current RSS by writing "5" to /proc/self/clear_refs
/// (Linux ≥ 4.0), so that a later VmHWM is the peak of what follows only. Returns false if the
/// kernel refused; the delta is then taken against the earlier peak and may read low.
@discardableResult
func resetPeakResidentSize() -> Bool {
    let descriptor = open("/proc/self/clear_refs", O_WRONLY)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    return write(descriptor, "5", 1) == 1
}

// MARK: Timing loop

/// Runs `body` `warmup` times untimed, then `iterations` times timed; returns each timed run in ms.
func timeRuns(warmup: Int, iterations: Int, _ body: () throws -> Void) rethrows -> [Double] {
    for _ in 0..<warmup { try body() }
    var times: [Double] = []
    times.reserveCapacity(iterations)
    for _ in 0..<iterations {
        let start = monotonicMilliseconds()
        try body()
        times.append(monotonicMilliseconds() - start)
    }
    return times
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Uniform random Floats in [−1, 1) from the seeded generator.
func randomFloats(_ count: Int, generator: inout SeededGenerator) -> [Float] {
    (0..<count).map { _ in Float(generator.nextUniform(-1, 1)) }
}

// MARK: RNNKit pass

/// Runs one training step of a tiny network (T = 1, B = 1, H = 8) so lazy library set-up happens now.
func primeLibraries(cell: CellKind, inputSize: Int) throws {
    let primer = try RecurrentNetwork<Float>(RecurrentConfiguration(cell: cell, inputSize: inputSize, hiddenSize: 8))
    let output = try primer.forward([Float](repeating: 0.5, count: inputSize), steps: 1, batch: 1)
    _ = try primer.backward(outputGradient: output.output)
}

/// Times RecurrentNetwork<Float> and returns the timed runs and the peak-RSS growth in kB.
func benchmarkNetwork(_ options: BenchOptions) throws -> (times: [Double], peakDeltaKB: Int) {
    let configuration = RecurrentConfiguration(
        cell: options.cell, inputSize: options.inputSize, hiddenSize: options.hiddenSize,
        numLayers: options.layers, bidirectional: options.bidirectional, peepholes: options.peepholes,
        projectionSize: options.projectionSize, layerNorm: options.layerNorm)
    let network = try RecurrentNetwork<Float>(configuration, seed: 1)
    network.isTraining = options.training
    let T = options.steps, B = options.batch
    var generator = SeededGenerator(seed: 2)
    let input = randomFloats(T * B * configuration.inputSize, generator: &generator)                      // (T, B, I)
    let outputGradient = randomFloats(T * B * configuration.outputSize, generator: &generator)            // (T, B, D·H)
    var output = [Float](repeating: 0, count: T * B * configuration.outputSize)                           // (T, B, D·H)
    var inputGradient = [Float](repeating: 0, count: T * B * configuration.inputSize)                     // (T, B, I)

    // One-time set-up of the libraries (OpenBLAS's buffers) is not this shape's memory: a 1-step,
    // batch-1 training step of a small network of the same cell comes first, unmeasured.
    try primeLibraries(cell: options.cell, inputSize: options.inputSize)

    // The workspace is allocated inside the first forward, so the mark is set before it.
    resetPeakResidentSize()
    let peakBefore = procStatusKilobytes("VmHWM") ?? 0
    let times = try input.withUnsafeBufferPointer { x in
        try outputGradient.withUnsafeBufferPointer { dY in
            try output.withUnsafeMutableBufferPointer { y in
                try inputGradient.withUnsafeMutableBufferPointer { dX in
                    try timeRuns(warmup: options.warmup, iterations: options.iterations) {
                        try network.forward(
                            input: x, steps: T, batch: B, lengths: nil, initialHidden: nil, initialCell: nil,
                            output: y, finalHidden: nil, finalCell: nil)
                        if options.training {
                            try network.backward(
                                outputGradient: dY, finalHiddenGradient: nil, finalCellGradient: nil,
                                inputGradient: dX, initialHiddenGradient: nil, initialCellGradient: nil)
                            network.zeroGradients()
                        }
                    }
                }
            }
        }
    }
    let peakAfter = procStatusKilobytes("VmHWM") ?? 0
    return (times, max(0, peakAfter - peakBefore))
}

// MARK: sgemm roofline

/// Row-major `C = alpha·op(A)·op(B) + beta·C` straight into OpenBLAS; `op(A)` is m×k, `op(B)` k×n.
@inline(__always)
func gemm(_ transposeA: Bool, _ transposeB: Bool, m: Int, n: Int, k: Int,
          a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
          beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), 1, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}

/// Scratch matrices of one layer and direction for the roofline (weights and their gradients).
struct RooflineWeights {
    let inputWidth: Int                          // I_k
    let inputWeight: UnsafeMutablePointer<Float>  // (G·H, I_k)
    let hiddenWeight: UnsafeMutablePointer<Float> // (G·H, H)
    let inputWeightGradient: UnsafeMutablePointer<Float>  // (G·H, I_k)
    let hiddenWeightGradient: UnsafeMutablePointer<Float> // (G·H, H)
}

func allocateFilled(_ count: Int, generator: inout SeededGenerator) -> UnsafeMutablePointer<Float> {
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count)
    for i in 0..<count { buffer[i] = Float(generator.nextUniform(-0.05, 0.05)) }
    return buffer
}

/// Times only the GEMMs of the pass: per layer and direction, forward: X·W_ih^T over all T·B rows
/// and T steps of h·W_hh^T; training adds T steps of ∂a·W_hh and, after the loop, ∂W_ih += ∂a^T·X,
/// ∂W_hh += ∂a^T·H_prev and ∂X += ∂a·W_ih. Elementwise work, copies and reductions are left out.
func benchmarkRoofline(_ options: BenchOptions) -> (times: [Double], peakDeltaKB: Int) {
    let T = options.steps, B = options.batch, H = options.hiddenSize
    let D = options.bidirectional ? 2 : 1
    let GH = options.cell.gateCount * H
    let widest = max(options.inputSize, D * H)
    var generator = SeededGenerator(seed: 3)
    let layerInput = allocateFilled(T * B * widest, generator: &generator)   // (T·B, I_k)
    let gates = allocateFilled(T * B * GH, generator: &generator)            // (T·B, G·H), also ∂a
    let states = allocateFilled(T * B * H, generator: &generator)            // (T·B, H) state slots
    let inputGradient = allocateFilled(T * B * widest, generator: &generator) // (T·B, I_k)
    let hiddenGradient = allocateFilled(B * H, generator: &generator)         // (B, H) carried ∂h
    var weights: [RooflineWeights] = []
    for layer in 0..<options.layers {
        let width = layer == 0 ? options.inputSize : D * H
        for _ in 0..<D {
            weights.append(RooflineWeights(
                inputWidth: width,
                inputWeight: allocateFilled(GH * width, generator: &generator),
                hiddenWeight: allocateFilled(GH * H, generator: &generator),
                inputWeightGradient: allocateFilled(GH * width, generator: &generator),
                hiddenWeightGradient: allocateFilled(GH * H, generator: &generator)))
        }
    }

    func pass() {
        for w in weights {
            let I = w.inputWidth
            gemm(false, true, m: T * B, n: GH, k: I, a: layerInput, lda: I, b: w.inputWeight, ldb: I,
                 beta: 0, c: gates, ldc: GH)
            for t in 0..<T {
                gemm(false, true, m: B, n: GH, k: H, a: states + t * B * H, lda: H, b: w.hiddenWeight, ldb: H,
                     beta: 1, c: gates + t * B * GH, ldc: GH)
            }
        }
        guard options.training else { return }
        for w in weights.reversed() {
            let I = w.inputWidth
            for t in stride(from: T - 1, through: 0, by: -1) {
                gemm(false, false, m: B, n: H, k: GH, a: gates + t * B * GH, lda: GH, b: w.hiddenWeight, ldb: H,
                     beta: 1, c: hiddenGradient, ldc: H)
            }
            gemm(true, false, m: GH, n: I, k: T * B, a: gates, lda: GH, b: layerInput, ldb: I,
                 beta: 1, c: w.inputWeightGradient, ldc: I)
            gemm(true, false, m: GH, n: H, k: T * B, a: gates, lda: GH, b: states, ldb: H,
                 beta: 1, c: w.hiddenWeightGradient, ldc: H)
            gemm(false, false, m: T * B, n: I, k: GH, a: gates, lda: GH, b: w.inputWeight, ldb: I,
                 beta: 1, c: inputGradient, ldc: I)
        }
    }

    resetPeakResidentSize()
    let peakBefore = procStatusKilobytes("VmHWM") ?? 0
    let times = timeRuns(warmup: options.warmup, iterations: options.iterations, pass)
    let peakAfter = procStatusKilobytes("VmHWM") ?? 0
    // Scratch lives until the process exits; nothing to free for a one-shot tool.
    return (times, max(0, peakAfter - peakBefore))
}

// MARK: Main

func jsonNumber(_ value: Double) -> String { String(format: "%.6f", value) }

let options = parseOptions(Array(CommandLine.arguments.dropFirst()))
if options.probe {
    var gflops = [Double](repeating: 0, count: options.threads)
    guard rk_probe_fma(Int32(clamping: options.threads), options.probeSeconds, &gflops) == 0 else {
        FileHandle.standardError.write(Data("rnnkit-bench: could not start \(options.threads) probe threads\n".utf8))
        exit(1)
    }
    // The OpenBLAS core this process runs (RNNKit may have chosen it at load; BLAS/BLASCore.swift).
    let blas = blasDiagnostics()
    print("{\"framework\":\"fma-probe\",\"threads\":\(options.threads),"
        + "\"gflops_per_thread\":[\(gflops.map { String(format: "%.1f", $0) }.joined(separator: ","))],"
        + "\"blas_core\":\"\(blas.core)\",\"blas_core_at_load\":\"\(blas.coreAtLoad)\",\"blas_core_choice\":\"\(blas.choice.rawValue)\"}")
    exit(0)
}
// The whole process, RNNKit's workers and OpenBLAS, runs on `threads` threads.
setThreadCount(options.threads)

let result: (times: [Double], peakDeltaKB: Int)
do {
    result = options.roofline ? benchmarkRoofline(options) : try benchmarkNetwork(options)
} catch {
    FileHandle.standardError.write(Data("rnnkit-bench: \(error)\n".utf8))
    exit(1)
}

let cellName = options.peepholes ? "lstm_peephole" : options.layerNorm ? "lstm_layernorm" : options.cell.rawValue
let shape = "{\"cell\":\"\(cellName)\",\"input\":\(options.inputSize),\"hidden\":\(options.hiddenSize),"
    + "\"layers\":\(options.layers),\"bidirectional\":\(options.bidirectional ? 1 : 0),"
    + "\"batch\":\(options.batch),\"steps\":\(options.steps),\"mode\":\"\(options.training ? "train" : "infer")\"}"
let line = "{\"framework\":\"\(options.roofline ? "sgemm-roofline" : "rnnkit")\",\"shape\":\(shape),"
    + "\"threads\":\(options.threads),\"median_ms\":\(jsonNumber(median(result.times))),"
    + "\"times_ms\":[\(result.times.map(jsonNumber).joined(separator: ","))],"
    + "\"peak_rss_delta_kb\":\(result.peakDeltaKB)}"
print(line)
