#!/usr/bin/env bash
# Builds and runs RNNKit's libFuzzer targets: Tests/Fuzz/<target>/FuzzEntry.swift linked against
# Sources/RNNKit compiled once by `swiftc -sanitize=fuzzer,address` into a static library.
#
#   scripts/fuzz.sh [TARGET ...] [--runs N | --seconds S] [--jobs J] [--build-only]
#
#   TARGET        safetensors, network-file (default: all targets under Tests/Fuzz)
#   --runs N      stop each target after N inputs (default 20000, what CI runs)
#   --seconds S   stop each target after S seconds instead
#   --build-only  compile the fuzzers and stop
#   --worktree    compile Sources/ as it is on disk (default: as committed at HEAD, so that other
#                 people's unfinished edits do not break the build; in a fresh clone both agree)
#
# Seeds come from Tests/Fuzz/corpus/TARGET (committed); new inputs libFuzzer finds go to
# .build-fuzz/corpus/TARGET, never into the repository. A crash, sanitizer report, leak, timeout
# (> 10 s per input) or allocation over 512 MB at once (-malloc_limit_mb) stops the run, saves the
# input as .build-fuzz/artifacts/TARGET/crash-… (or leak-, timeout-, oom-) and exits nonzero.
# Turn it into a regression test: copy it to Tests/RNNKitTests/Fixtures/fuzz-regressions/TARGET/
# (see Tests/RNNKitTests/FuzzRegressionTests.swift).
# Prints one summary line per target: "fuzz TARGET: N inputs in S s, corpus C files, 0 crashes".
set -euo pipefail
cd "$(dirname "$0")/.."

runs=20000
seconds=""
build_only=0
worktree=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="${2:?--runs takes a number}"; seconds=""; shift 2 ;;
        --seconds) seconds="${2:?--seconds takes a number}"; shift 2 ;;
        --build-only) build_only=1; shift ;;
        --worktree) worktree=1; shift ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        -*) echo "scripts/fuzz.sh: unknown option '$1'" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
if [ ${#targets[@]} -eq 0 ]; then
    for dir in Tests/Fuzz/*/; do
        name="$(basename "$dir")"
        [ -f "$dir/FuzzEntry.swift" ] && targets+=("$name")
    done
fi

scratch=.build-fuzz
mkdir -p "$scratch"
# Snapshot and builds are serialised between concurrent runs of this script (one per target, say).
exec 9> "$scratch/build.lock"
flock 9
read -r -a blas_flags <<< "$(pkg-config --cflags-only-I openblas lapacke 2>/dev/null || true)"
read -r -a blas_libs <<< "$(pkg-config --libs openblas lapacke 2>/dev/null || echo -lopenblas -llapacke)"
# The sources: a snapshot of HEAD (or of the working tree), identified by a stamp.
snapshot="$scratch/sources"
if [ "$worktree" = 1 ]; then
    stamp="worktree $(date +%s%N)"
else
    stamp="$(git rev-parse HEAD:Sources)"
fi
if [ "$(cat "$snapshot.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$snapshot" && mkdir -p "$snapshot"
    if [ "$worktree" = 1 ]; then cp -r Sources "$snapshot/"; else git archive HEAD Sources | tar -x -C "$snapshot"; fi
    echo "$stamp" > "$snapshot.stamp"
fi

# RNNKit, once per snapshot: a static library and module, instrumented for libFuzzer and ASan,
# plus the package's C targets (Sources/C*/include + *.c, e.g. CRNNKitKernels) compiled by clang
# with the same instrumentation and given module maps, as SwiftPM does.
library="$scratch/library"
module_flags=() c_objects=()
build_library() {
    rm -rf "$library" && mkdir -p "$library"
    for dir in "$snapshot"/Sources/C*/; do
        [ -d "$dir/include" ] || continue
        local module; module="$(basename "$dir")"
        mkdir -p "$library/modules/$module"
        cp -r "$dir/." "$library/modules/$module/"
        local header; header="$(cd "$library/modules/$module/include" && ls *.h | head -1)"
        printf 'module %s {\n    header "include/%s"\n    export *\n}\n' "$module" "$header" \
            > "$library/modules/$module/module.modulemap"
        for c in "$library/modules/$module"/*.c; do
            [ -f "$c" ] || continue
            clang -O2 -g -fsanitize=address,fuzzer-no-link -I "$library/modules/$module/include" -c "$c" \
                -o "$library/$module-$(basename "$c" .c).o"
        done
    done
    local sources=()
    mapfile -t sources < <(find "$PWD/$snapshot/Sources/RNNKit" -name '*.swift' | sort)
    echo "== build RNNKit for fuzzing (${#sources[@]} files)"
    # Run swiftc inside the library directory (it drops auxiliary files in the current directory).
    (cd "$library" && swiftc -sanitize=fuzzer,address -parse-as-library -O -wmo -g -module-name RNNKit -package-name RNNKit \
        -I "$root/Modules/COpenBLAS" -I "$root/Modules/CLAPACKE" "${module_flags[@]}" "${cflags[@]}" \
        -emit-module -emit-module-path "$PWD/RNNKit.swiftmodule" -emit-library -static -o "$PWD/libRNNKit.a" \
        "${sources[@]}")
}
root="$PWD"
cflags=()
for flag in "${blas_flags[@]}"; do cflags+=(-Xcc "$flag"); done
for dir in "$snapshot"/Sources/C*/; do
    [ -d "$dir/include" ] && module_flags+=(-I "$PWD/$library/modules/$(basename "$dir")")
done
if [ ! -f "$library/libRNNKit.a" ] || [ "$(cat "$library.stamp" 2>/dev/null)" != "$stamp" ]; then
    build_library
    echo "$stamp" > "$library.stamp"
fi
mapfile -t c_objects < <(find "$PWD/$library" -maxdepth 1 -name '*.o' | sort)

build() {
    local target="$1" entry="Tests/Fuzz/$1/FuzzEntry.swift" binary="$scratch/fuzz-$1"
    if [ ! -f "$entry" ]; then
        echo "scripts/fuzz.sh: no fuzz target '$target' (expected $entry)" >&2
        exit 2
    fi
    # Rebuild only when the library or the entry file changed.
    local build_stamp; build_stamp="$stamp $(cksum < "$entry")"
    if [ -x "$binary" ] && [ "$(cat "$binary.stamp" 2>/dev/null)" = "$build_stamp" ]; then
        return
    fi
    echo "== build fuzz-$target"
    # ld.gold warns about ASan's local symbols; those warnings are harmless and filtered out.
    (cd "$library" && swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
        -I "$PWD" -I "$root/Modules/COpenBLAS" -I "$root/Modules/CLAPACKE" "${module_flags[@]}" "${cflags[@]}" \
        "$root/$entry" "$PWD/libRNNKit.a" "${c_objects[@]}" "${blas_libs[@]}" -o "$root/$binary" \
        2> >(grep -v "Cannot export local symbol '__asan" >&2))
    echo "$build_stamp" > "$binary.stamp"
}

for target in "${targets[@]}"; do build "$target"; done
flock -u 9
[ "$build_only" = 1 ] && exit 0

status=0
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target" artifacts="$scratch/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    limit=(-runs="$runs")
    [ -f "Tests/Fuzz/$target.dict" ] && limit+=(-dict="Tests/Fuzz/$target.dict")
    [ -n "$seconds" ] && limit[0]=-max_total_time="$seconds"
    log="$scratch/fuzz-$target.log"
    start=$(date +%s)
    # One BLAS thread: the inputs are tiny, and OpenBLAS's pool only adds noise to ASan.
    if OPENBLAS_NUM_THREADS=1 TMPDIR="${TMPDIR:-/tmp}" "$scratch/fuzz-$target" "${limit[@]}" \
        -max_len=65536 -timeout=10 -malloc_limit_mb=512 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 \
        "$corpus" "Tests/Fuzz/corpus/$target" > "$log" 2>&1; then
        result="0 crashes"
    else
        result="FAILED (see $log and $artifacts)"
        status=1
        tail -n 60 "$log" >&2
    fi
    elapsed=$(( $(date +%s) - start ))
    inputs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    files=$(find "$corpus" -type f | wc -l)
    echo "fuzz $target: ${inputs:-?} inputs in ${elapsed} s, corpus $files files, $result"
done
exit $status
