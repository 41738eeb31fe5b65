#!/usr/bin/env python3
"""Calls the RNNKit C library from Python with ctypes only (no numpy).

Usage: rnnkit_ctypes.py [path/to/librnnkit.so]
The library path comes from the argument, else $RNNKIT_LIBRARY, else "librnnkit.so"
(found through the dynamic loader's search path, e.g. LD_LIBRARY_PATH).

Builds a 2-layer LSTM, runs a batch forward and backward, prints the output, and checks
that a bad call returns an error status with a message instead of crashing.
"""
import ctypes
import os
import sys

RNNKIT_OK = 0
RNNKIT_ERROR_INVALID_ARGUMENT = 1
RNNKIT_CELL_LSTM = 2

c_float_p = ctypes.POINTER(ctypes.c_float)


def load_library(path):
    """Loads librnnkit.so and declares the signatures of rnnkit.h."""
    lib = ctypes.CDLL(path)
    handle = ctypes.c_void_p  # rnnkit_rnn *
    status = ctypes.c_int32   # rnnkit_status
    signatures = {
        "rnnkit_version": (ctypes.c_char_p, []),
        "rnnkit_last_error": (ctypes.c_char_p, []),
        "rnnkit_set_num_threads": (status, [ctypes.c_int32]),
        "rnnkit_rnn_create": (status, [ctypes.c_int32] * 5 + [ctypes.c_uint64, ctypes.POINTER(handle)]),
        "rnnkit_rnn_destroy": (None, [handle]),
        "rnnkit_rnn_param_count": (status, [handle, ctypes.POINTER(ctypes.c_int32)]),
        "rnnkit_rnn_param_name": (status, [handle, ctypes.c_int32, ctypes.POINTER(ctypes.c_char_p),
                                           ctypes.POINTER(ctypes.c_int64)]),
        "rnnkit_rnn_set_param": (status, [handle, ctypes.c_char_p, c_float_p, ctypes.c_int64]),
        "rnnkit_rnn_get_param": (status, [handle, ctypes.c_char_p, c_float_p, ctypes.c_int64]),
        "rnnkit_rnn_get_grad": (status, [handle, ctypes.c_char_p, c_float_p, ctypes.c_int64]),
        "rnnkit_rnn_zero_grad": (status, [handle]),
        "rnnkit_rnn_set_training": (status, [handle, ctypes.c_int32]),
        "rnnkit_rnn_forward": (status, [handle, ctypes.c_int32, ctypes.c_int32, c_float_p,
                                        ctypes.POINTER(ctypes.c_int32), c_float_p, c_float_p,
                                        c_float_p, c_float_p, c_float_p]),
        "rnnkit_rnn_backward": (status, [handle, c_float_p, c_float_p, c_float_p,
                                         c_float_p, c_float_p, c_float_p]),
        "rnnkit_rnn_save": (status, [handle, ctypes.c_char_p]),
        "rnnkit_rnn_load": (status, [handle, ctypes.c_char_p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


class RNNKitError(RuntimeError):
    def __init__(self, function, status, message):
        super().__init__(f"{function} failed with status {status}: {message}")
        self.status = status


def checked(lib, function, *arguments):
    """Calls lib.function and raises RNNKitError with rnnkit_last_error() on a nonzero status."""
    status = getattr(lib, function)(*arguments)
    if status != RNNKIT_OK:
        raise RNNKitError(function, status, lib.rnnkit_last_error().decode())


def floats(count, values=None):
    array = (ctypes.c_float * count)()
    if values is not None:
        array[:] = values
    return array


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RNNKIT_LIBRARY", "librnnkit.so")
    lib = load_library(path)
    print("rnnkit", lib.rnnkit_version().decode())

    T, B, I, H, L = 3, 2, 4, 5, 2  # steps, batch, input, hidden, layers
    rnn = ctypes.c_void_p()
    checked(lib, "rnnkit_rnn_create", RNNKIT_CELL_LSTM, I, H, L, 0, 1, ctypes.byref(rnn))
    try:
        count = ctypes.c_int32()
        checked(lib, "rnnkit_rnn_param_count", rnn, ctypes.byref(count))
        names = []
        for index in range(count.value):
            name, numel = ctypes.c_char_p(), ctypes.c_int64()
            checked(lib, "rnnkit_rnn_param_name", rnn, index, ctypes.byref(name), ctypes.byref(numel))
            names.append((name.value.decode(), numel.value))
        print("parameters:", ", ".join(f"{n} ({k})" for n, k in names))

        x = floats(T * B * I, [((i * 5) % 9) / 9.0 - 0.5 for i in range(T * B * I)])  # [T, B, I]
        lengths = (ctypes.c_int32 * B)(T, 1)
        y = floats(T * B * H)        # [T, B, H]
        h_n = floats(L * B * H)      # [L, B, H]
        c_n = floats(L * B * H)
        checked(lib, "rnnkit_rnn_forward", rnn, T, B, x, lengths, None, None, y, h_n, c_n)
        for t in range(T):
            row = [round(y[(t * B) * H + j], 5) for j in range(H)]
            print(f"y[{t}, 0, :] =", row)
        padded = [y[(t * B + 1) * H + j] for t in range(1, T) for j in range(H)]
        assert all(value == 0.0 for value in padded), "y must be zero past a sequence's length"

        dy = floats(T * B * H, [1.0] * (T * B * H))
        dx = floats(T * B * I)
        checked(lib, "rnnkit_rnn_backward", rnn, dy, None, None, dx, None, None)
        grad = floats(names[0][1])
        checked(lib, "rnnkit_rnn_get_grad", rnn, names[0][0].encode(), grad, names[0][1])
        print(f"d sum(y) / d {names[0][0]}[0] = {grad[0]:.5f}")

        # A bad call returns an error status and a message; it never crashes.
        try:
            checked(lib, "rnnkit_rnn_forward", rnn, T, B, x, (ctypes.c_int32 * B)(T + 1, 1),
                    None, None, y, None, None)
        except RNNKitError as error:
            assert error.status == RNNKIT_ERROR_INVALID_ARGUMENT, error
            print("expected error:", error)
        else:
            raise AssertionError("a sequence length of T + 1 was accepted")
    finally:
        lib.rnnkit_rnn_destroy(rnn)
    print("ok")


if __name__ == "__main__":
    main()
