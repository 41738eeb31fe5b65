#!/usr/bin/env bash
# The reliability steps of CI, meant to be called from .ci/run after scripts/test.sh:
#
#   1. fuzz      every libFuzzer target (Tests/Fuzz) for a bounded number of inputs (scripts/fuzz.sh)
#   2. asan      the core test suite (RNNKitTests, release, without LearningTaskTests) under ASan + LSan, then the C API
#                test program (Tests/CAPI/test_rnnkit.c) built with -fsanitize=address against an
#                ASan build of librnnkit
#   3. tsan      the concurrency and threading tests under ThreadSanitizer, then the pthreads program
#                Tests/Reliability/c_threads.c (one handle per thread) against a TSan build of librnnkit
#   4. kill      Tests/Reliability/kill-resume.sh: SIGKILL a training process at random moments,
#                resume, and compare with an uninterrupted run
# (valgrind over the C test program runs in scripts/test-c.sh, part of scripts/test.sh.)
#
#   scripts/ci-reliability.sh [STEP ...] [--fuzz-runs N] [--kills N]
#
# STEP is fuzz, asan, tsan or kill (default: all four, in that order). Defaults: 20000 inputs per
# fuzz target, 20 kills. Prints the wall time of each step and exits nonzero on the first failure.
# Scratch directories: .build-fuzz, .build-asan, .build-tsan, .build-reliability.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

fuzz_runs=20000
kills=20
steps=()
while [ $# -gt 0 ]; do
    case "$1" in
        --fuzz-runs) fuzz_runs="${2:?--fuzz-runs takes a number}"; shift 2 ;;
        --kills) kills="${2:?--kills takes a number}"; shift 2 ;;
        fuzz|asan|tsan|kill) steps+=("$1"); shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "scripts/ci-reliability.sh: unknown argument '$1' (steps: fuzz asan tsan kill)" >&2; exit 2 ;;
    esac
done
[ ${#steps[@]} -eq 0 ] && steps=(fuzz asan tsan kill)

work="$(mktemp -d "${TMPDIR:-/tmp}/rnnkit-ci-reliability.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# The toolchain's sanitizer runtimes want libdispatch and BlocksRuntime when linking C programs.
swift_lib="$(dirname "$(dirname "$(command -v swiftc)")")/lib/swift/linux"
fixtures="$root/Tests/RNNKitTests/Fixtures/recurrent"
timings=()

step_fuzz() {
    scripts/fuzz.sh --runs "$fuzz_runs"
}

step_asan() {
    # Tests/Reliability/lsan.supp names the libraries outside RNNKit whose leaks LSan would report.
    # The core suite only: the CLI tests (RNNKitCLITests) run under ASan by scripts/test.sh --sanitize
    # address, but they mostly exercise Foundation, and keep CI time down here.
    export LSAN_OPTIONS="suppressions=$root/Tests/Reliability/lsan.supp"
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
    # Release mode (-O, with -enable-testing for @testable imports), ASan's checks are the same at
    # -O. The learning tasks (LearningTaskTests, AttentionLearningTaskTests, PatternLearningTests:
    # models trained for hundreds or thousands of steps to check they learn) are left out: they take
    # minutes under ASan and run no code the trainer, model and attention tests do not.
    echo "== swift test --filter RNNKitTests under AddressSanitizer (release)"
    swift test -c release -Xswiftc -enable-testing --scratch-path .build-asan --sanitize=address \
        --filter RNNKitTests --skip "LearningTaskTests|PatternLearningTests"
    echo "== C API test program under AddressSanitizer"
    local flags=(-c release -Xswiftc -enable-testing --scratch-path .build-asan --sanitize=address)
    swift build "${flags[@]}" --product rnnkit
    local lib; lib="$(swift build "${flags[@]}" --show-bin-path)"
    clang -std=c99 -g -fsanitize=address -I Modules/CRNNKit/include Tests/CAPI/test_rnnkit.c \
        -L "$lib" -lrnnkit -Wl,-rpath,"$lib" -lm -pthread -o "$work/test_rnnkit_asan" \
        2> >(grep -v "Cannot export local symbol '__asan" >&2)
    mkdir -p "$work/capi"
    "$work/test_rnnkit_asan" "$fixtures" "$work/capi" > "$work/capi.log" 2>&1 || { cat "$work/capi.log"; return 1; }
    tail -n 1 "$work/capi.log"
}

step_tsan() {
    # OpenBLAS is not instrumented; with one BLAS thread every thread TSan sees is ours. (Runs
    # with OpenBLAS's own pool have also been clean; see docs/reliability.md.)
    export OPENBLAS_NUM_THREADS=1
    # The C kernels (Sources/CRNNKitKernels) are built without TSan: their target_clones resolvers
    # run while the dynamic loader relocates, before TSan is initialised, and would crash in
    # __tsan_func_entry. They only touch the row buffers the instrumented Swift code hands them.
    local flags=(--scratch-path .build-tsan --sanitize=thread -Xcc -fno-sanitize=thread)
    echo "== concurrency and threading tests under ThreadSanitizer"
    # ThreadingTests set their own thread counts: RNNKit's worker pool, its barrier and the split
    # time loops run with two and three threads whatever OPENBLAS_NUM_THREADS says.
    swift test "${flags[@]}" --filter "Concurrency|ThreadingTests"
    echo "== C handles on 6 pthreads under ThreadSanitizer"
    swift build "${flags[@]}" --product rnnkit
    local lib; lib="$(swift build "${flags[@]}" --show-bin-path)"
    clang -std=c99 -Wall -Wextra -Werror -pedantic -g -fsanitize=thread -I Modules/CRNNKit/include \
        Tests/Reliability/c_threads.c -L "$lib" -lrnnkit -L "$swift_lib" -ldispatch -lBlocksRuntime \
        -Wl,-rpath,"$lib" -Wl,-rpath,"$swift_lib" -pthread -o "$work/c_threads"
    mkdir -p "$work/threads"
    TSAN_OPTIONS="halt_on_error=1" "$work/c_threads" "$work/threads"
}

step_kill() {
    Tests/Reliability/kill-resume.sh --kills "$kills"
}

for step in "${steps[@]}"; do
    echo "==== reliability step: $step"
    start=$(date +%s)
    "step_$step"
    elapsed=$(( $(date +%s) - start ))
    timings+=("$step ${elapsed}s")
    echo "==== $step passed in ${elapsed} s"
done
echo "reliability steps passed: ${timings[*]}"
