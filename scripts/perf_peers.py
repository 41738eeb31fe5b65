#!/usr/bin/env python3
"""Times one shape of the performance suite in PyTorch or ONNX Runtime; prints one JSON line.

The peer half of `scripts/perf` (see docs/benchmarking.md). One process measures one
framework on one shape at one thread count, exactly like `rnnkit-bench`, and prints

    {"framework": "pytorch"|"onnxruntime", "shape": {...}, "threads": N,
     "median_ms": ..., "times_ms": [...], "peak_rss_delta_kb": ...}

Usage:
    perf_peers.py --framework pytorch|onnxruntime --cell lstm|lstm_peephole|gru|gru_reset_before|rnn_tanh|rnn_relu
                  --input I --hidden H --layers L --bidirectional 0|1 --batch B --steps T
                  --mode train|infer --threads N --warmup W --iterations K
    perf_peers.py --versions      # {"python": ..., "torch": ..., "onnxruntime": ..., ...}

What is timed (dimension letters: T steps, B batch, I input, H hidden, G gates, D directions):
  pytorch, infer: `module(x)` under torch.inference_mode(), module in eval mode.
  pytorch, train: forward, `(y * dy).sum().backward()` with a fixed random dy, then
      `zero_grad(set_to_none=False)`. x requires grad, so ∂L/∂x is computed, as RNNKit does.
      Parameter gradients are allocated before the measurement and kept, as RNNKit keeps its
      flat gradient buffer; the memory delta is then the training step's own working memory.
  onnxruntime, infer: one InferenceSession over a graph with one LSTM/GRU/RNN operator per
      layer, run through IOBinding into a preallocated output, CPU execution provider,
      intra_op_num_threads = N, inter_op_num_threads = 1, all graph optimizations.
Bad arguments exit with status 2 and one line on stderr.
"""

import argparse
import json
import os
import sys
import time


def fail_usage(message):
    print(f"perf_peers.py: {message}", file=sys.stderr)
    sys.exit(2)


GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1, "gru_reset_before": 3, "lstm_peephole": 4}
# The cell variants PyTorch has no module for; ONNX Runtime runs them (GRU linear_before_reset = 0,
# LSTM with the peephole input P).
ONNX_ONLY_CELLS = {"gru_reset_before", "lstm_peephole"}


# --- memory ---------------------------------------------------------------------------------

def status_kb(field):
    """A kB field (VmHWM, VmRSS) of /proc/self/status, or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss():
    """Resets VmHWM to the current RSS (writes 5 to /proc/self/clear_refs, Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def release_free_heap():
    """Returns freed malloc memory to the OS (glibc malloc_trim), so RSS drops to what is in use."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: RSS then also counts freed heap, and the delta reads low


class PeakMeter:
    """Peak-RSS growth of the process between start() and stop(), in kB (same method as rnnkit-bench)."""

    def start(self):
        reset_peak_rss()
        self.before = status_kb("VmHWM")

    def stop(self):
        after = status_kb("VmHWM")
        if self.before is None or after is None:
            return None
        return max(0, after - self.before)


# --- timing ---------------------------------------------------------------------------------

def time_runs(body, warmup, iterations):
    """Runs body `warmup` times, then `iterations` timed times; returns the timed runs in ms."""
    for _ in range(warmup):
        body()
    times = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        body()
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


# --- PyTorch --------------------------------------------------------------------------------

def run_pytorch(args):
    import torch

    if args.cell in ONNX_ONLY_CELLS:
        fail_usage(f"PyTorch has no module for {args.cell}")
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set by an earlier parallel call; harmless
    torch.manual_seed(0)
    layer_type = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(args.cell, torch.nn.RNN)
    extra = {}
    if args.cell.startswith("rnn_"):
        extra["nonlinearity"] = "relu" if args.cell == "rnn_relu" else "tanh"
    if args.proj:
        if args.cell != "lstm":
            fail_usage("--proj is an LSTM option")
        extra["proj_size"] = args.proj
    module = layer_type(args.input, args.hidden, num_layers=args.layers,
                        bidirectional=bool(args.bidirectional), **extra)
    directions = 2 if args.bidirectional else 1
    x = torch.rand(args.steps, args.batch, args.input) * 2 - 1                # (T, B, I)

    if args.mode == "infer":
        module.eval()

        def step():
            with torch.inference_mode():
                module(x)

        return time_runs(step, args.warmup, args.iterations), None

    module.train()
    x.requires_grad_(True)
    dy = torch.rand(args.steps, args.batch, directions * (args.proj or args.hidden)) * 2 - 1  # (T, B, D·R)
    for parameter in module.parameters():
        parameter.grad = torch.zeros_like(parameter)

    def step():
        y, _ = module(x)
        (y * dy).sum().backward()
        module.zero_grad(set_to_none=False)
        x.grad = None

    # Memory: the first step also pays one-time set-up (autograd engine, oneDNN kernels, thread
    # pool), so it runs unmeasured; then freed heap goes back to the OS (malloc_trim) and the
    # second step is measured: the peak-RSS growth is what one training step itself needs.
    step()
    release_free_heap()
    meter = PeakMeter()
    meter.start()
    step()
    peak = meter.stop()
    times = time_runs(step, args.warmup, args.iterations)
    return times, peak


# --- ONNX Runtime ---------------------------------------------------------------------------

def build_onnx_model(args):
    """Serialized ONNX model: X (T, B, I) -> Y (T, B, D·H), one recurrent operator per layer."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    T, B, H = args.steps, args.batch, args.hidden
    D = 2 if args.bidirectional else 1
    G = GATES[args.cell]
    op_type = {"lstm": "LSTM", "lstm_peephole": "LSTM", "gru": "GRU", "gru_reset_before": "GRU"}.get(args.cell, "RNN")
    generator = np.random.default_rng(0)
    bound = 1.0 / np.sqrt(H)

    def uniform(*shape):
        return generator.uniform(-bound, bound, size=shape).astype(np.float32)

    nodes, initializers = [], []
    initializers.append(numpy_helper.from_array(np.array([T, B, D * H], dtype=np.int64), "layer_output_shape"))
    current = "X"
    for layer in range(args.layers):
        width = args.input if layer == 0 else D * H
        names = [f"W{layer}", f"R{layer}", f"B{layer}"]
        initializers.append(numpy_helper.from_array(uniform(D, G * H, width), names[0]))   # (D, G·H, I_k)
        initializers.append(numpy_helper.from_array(uniform(D, G * H, H), names[1]))       # (D, G·H, H)
        initializers.append(numpy_helper.from_array(uniform(D, 2 * G * H), names[2]))      # (D, 2·G·H)
        if args.cell == "lstm_peephole":
            # Inputs 4–7: sequence_lens, initial_h, initial_c left out, then P (D, 3H).
            names += ["", "", "", f"P{layer}"]
            initializers.append(numpy_helper.from_array(uniform(D, 3 * H), names[-1]))
        attributes = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward"}
        if op_type == "GRU":
            # PyTorch's GRU: r multiplies (W_hn h + b_hn); the reset-before GRU: W_hn (r ⊙ h).
            attributes["linear_before_reset"] = 0 if args.cell == "gru_reset_before" else 1
        if op_type == "RNN":
            attributes["activations"] = ["Relu" if args.cell == "rnn_relu" else "Tanh"] * D
        raw = f"Y{layer}_raw"                                                              # (T, D, B, H)
        nodes.append(helper.make_node(op_type, [current] + names, [raw], name=f"{op_type}{layer}", **attributes))
        last = layer == args.layers - 1
        merged = "Y" if last else f"Y{layer}"                                              # (T, B, D·H)
        if D == 2:
            transposed = f"Y{layer}_tbdh"                                                  # (T, B, D, H)
            nodes.append(helper.make_node("Transpose", [raw], [transposed], perm=[0, 2, 1, 3]))
            nodes.append(helper.make_node("Reshape", [transposed, "layer_output_shape"], [merged]))
        else:
            nodes.append(helper.make_node("Reshape", [raw, "layer_output_shape"], [merged]))
        current = merged

    graph = helper.make_graph(
        nodes, "recurrent_benchmark",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, B, args.input])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [T, B, D * H])],
        initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # opset 17's IR version; accepted by every onnxruntime since 1.13
    onnx.checker.check_model(model)
    return model.SerializeToString()


def run_onnxruntime(args):
    import numpy as np
    import onnxruntime as ort

    if args.mode != "infer":
        fail_usage("onnxruntime is measured for inference only (--mode infer)")
    model = build_onnx_model(args)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
    D = 2 if args.bidirectional else 1
    generator = np.random.default_rng(1)
    x = generator.uniform(-1, 1, size=(args.steps, args.batch, args.input)).astype(np.float32)    # (T, B, I)
    y = np.zeros((args.steps, args.batch, D * args.hidden), dtype=np.float32)                     # (T, B, D·H)
    binding = session.io_binding()
    binding.bind_cpu_input("X", x)
    binding.bind_output("Y", "cpu", 0, np.float32, list(y.shape), y.ctypes.data)

    def step():
        session.run_with_iobinding(binding)

    return time_runs(step, args.warmup, args.iterations), None


# --- main -----------------------------------------------------------------------------------

def versions():
    found = {"python": sys.version.split()[0]}
    for module in ("torch", "onnxruntime", "onnx", "numpy", "matplotlib"):
        try:
            found[module] = __import__(module).__version__
        except Exception:  # not installed, or broken: report as absent
            found[module] = None
    return found


class Parser(argparse.ArgumentParser):
    def error(self, message):
        fail_usage(message)


def parse(argv):
    parser = Parser(description="Time one shape in PyTorch or ONNX Runtime (one JSON line).")
    parser.add_argument("--versions", action="store_true", help="print framework versions as JSON and exit")
    parser.add_argument("--framework", choices=["pytorch", "onnxruntime"])
    parser.add_argument("--cell", choices=sorted(GATES))
    positive = dict(type=int)
    for flag in ("--input", "--hidden", "--batch", "--steps"):
        parser.add_argument(flag, **positive)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--proj", type=int, default=0, help="LSTM projection size P (PyTorch's proj_size; 0: none)")
    parser.add_argument("--bidirectional", type=int, choices=[0, 1], default=0)
    parser.add_argument("--mode", choices=["train", "infer"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args(argv)
    if args.versions:
        return args
    for name in ("framework", "cell", "input", "hidden", "batch", "steps", "mode"):
        if getattr(args, name) is None:
            fail_usage(f"missing --{name}")
    for name, minimum in (("input", 1), ("hidden", 1), ("batch", 1), ("steps", 1), ("layers", 1),
                          ("threads", 1), ("warmup", 0), ("iterations", 1)):
        if getattr(args, name) < minimum:
            fail_usage(f"--{name} expects an integer >= {minimum}, got {getattr(args, name)}")
    return args


def main(argv):
    args = parse(argv)
    if args.versions:
        print(json.dumps(versions()))
        return
    runner = run_pytorch if args.framework == "pytorch" else run_onnxruntime
    times, peak = runner(args)
    shape = {"cell": args.cell, "input": args.input, "hidden": args.hidden, "layers": args.layers,
             "bidirectional": args.bidirectional, "batch": args.batch, "steps": args.steps, "mode": args.mode}
    print(json.dumps({"framework": args.framework, "shape": shape, "threads": args.threads,
                      "median_ms": median(times), "times_ms": times, "peak_rss_delta_kb": peak}))


if __name__ == "__main__":
    main(sys.argv[1:])
