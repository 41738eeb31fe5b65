#!/usr/bin/env bash
# Tests the C API the way a C user meets it: install the library into a temporary prefix with
# scripts/install.sh, then, against the INSTALLED header and library through pkg-config:
#   1. check that rnnkit.h compiles on its own as C99 and as C++11 (-Wall -Wextra -Werror -pedantic),
#   2. compile Tests/CAPI/test_rnnkit.c and examples/c/example.c with cc -std=c99 ... -Werror,
#      and check that docs/c-api.md shows examples/c/example.c unchanged,
#   3. run the example and the Python ctypes example (examples/python/rnnkit_ctypes.py),
#   4. run the test program on the PyTorch fixtures, then again under valgrind.
#
# Usage: scripts/test-c.sh [--scratch-path DIR]
#   --scratch-path DIR   SwiftPM build directory (default: $RNNKIT_SCRATCH_PATH, else .build)
#
# Valgrind: --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=1, so any
# memory error and any definitely or indirectly lost block fails the run. Blocks reported as
# "possibly lost" are not counted: they are the Swift runtime's process-lifetime metadata and
# conformance caches (hash maps reached through interior pointers) and, when OpenBLAS starts its
# thread pool, that pool's thread stacks; none grows with the number of calls. No suppression
# file is needed. Exits nonzero on any failure.
set -euo pipefail

scratch="${RNNKIT_SCRATCH_PATH:-.build}"
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) scratch="${2:?--scratch-path takes a directory}"; shift 2 ;;
        --scratch-path=*) scratch="${1#*=}"; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "scripts/test-c.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="$(mktemp -d "${TMPDIR:-/tmp}/rnnkit-test-c.XXXXXX")"
trap 'rm -rf "$work"' EXIT
fixtures="$root/Tests/RNNKitTests/Fixtures/recurrent"

echo "== install into $work/prefix"
scripts/install.sh --scratch-path "$scratch" "$work/prefix"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LD_LIBRARY_PATH="$work/prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
read -r -a rnnkit_cflags <<< "$(pkg-config --cflags rnnkit)"
read -r -a rnnkit_libs <<< "$(pkg-config --libs rnnkit)"
strict=(-Wall -Wextra -Werror -pedantic)

echo "== rnnkit.h on its own, as C99 and as C++11"
printf '#include <rnnkit.h>\nint main(void) { return rnnkit_version()[0] == 0; }\n' > "$work/header.c"
printf '#include <rnnkit.h>\nint main() { return rnnkit_version()[0] == 0; }\n' > "$work/header.cpp"
cc -std=c99 "${strict[@]}" -fsyntax-only "${rnnkit_cflags[@]}" "$work/header.c"
g++ -std=c++11 "${strict[@]}" -fsyntax-only "${rnnkit_cflags[@]}" "$work/header.cpp"

echo "== compile the test program and the example (cc -std=c99 ${strict[*]})"
cc -std=c99 "${strict[@]}" -o "$work/test_rnnkit" Tests/CAPI/test_rnnkit.c "${rnnkit_cflags[@]}" "${rnnkit_libs[@]}" -lm -pthread
cc -std=c99 "${strict[@]}" -o "$work/example" examples/c/example.c "${rnnkit_cflags[@]}" "${rnnkit_libs[@]}"

echo "== docs/c-api.md lists examples/c/example.c as it is"
if ! diff <(sed -n '/<!-- example.c begins -->/,/<!-- example.c ends -->/p' docs/c-api.md | sed '1,2d;$d' | sed '$d') \
          examples/c/example.c; then
    echo "scripts/test-c.sh: the example in docs/c-api.md differs from examples/c/example.c (diff above)" >&2
    exit 1
fi

echo "== examples/c/example.c"
"$work/example" "$work/example.safetensors"

echo "== examples/python/rnnkit_ctypes.py"
if ! command -v python3 > /dev/null; then
    echo "scripts/test-c.sh: python3 is needed for the ctypes example (apt-get install python3)" >&2
    exit 1
fi
python3 examples/python/rnnkit_ctypes.py "$work/prefix/lib/librnnkit.so"

echo "== test_rnnkit under valgrind"
if ! valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --log-file="$work/valgrind.log" "$work/test_rnnkit" "$fixtures" "$work" > "$work/valgrind-run.out"; then
    cat "$work/valgrind-run.out" "$work/valgrind.log"
    echo "scripts/test-c.sh: test_rnnkit failed under valgrind (log above)" >&2
    exit 1
fi
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost' "$work/valgrind.log" | sed 's/^==[0-9]*== */  valgrind: /'
tail -n 1 "$work/valgrind-run.out" | sed 's/^/  under valgrind: /'

echo "== test_rnnkit"
"$work/test_rnnkit" "$fixtures" "$work"
