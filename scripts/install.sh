#!/usr/bin/env bash
# Builds the C library of RNNKit and installs it for C users, who need no Swift toolchain:
#
#   PREFIX/lib/librnnkit.so            the Swift runtime linked in statically; exports only rnnkit_*
#   PREFIX/include/rnnkit.h            the C API (Modules/CRNNKit/include/rnnkit.h)
#   PREFIX/lib/pkgconfig/rnnkit.pc     for `pkg-config --cflags --libs rnnkit`
#
# Usage: scripts/install.sh [--scratch-path DIR] PREFIX
#   --scratch-path DIR   SwiftPM build directory (default: $RNNKIT_SCRATCH_PATH, else .build)
# The script fails if the library would still need a Swift runtime library at run time.
set -euo pipefail

usage() { echo "usage: $0 [--scratch-path DIR] PREFIX" >&2; exit 2; }

scratch="${RNNKIT_SCRATCH_PATH:-.build}"
prefix=""
while [ $# -gt 0 ]; do
    case "$1" in
        --scratch-path) [ $# -ge 2 ] || usage; scratch="$2"; shift 2 ;;
        --scratch-path=*) scratch="${1#*=}"; shift ;;
        -h|--help) usage ;;
        -*) echo "unknown option $1" >&2; usage ;;
        *) [ -z "$prefix" ] || usage; prefix="$1"; shift ;;
    esac
done
[ -n "$prefix" ] || usage

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
version_script="$root/Modules/CRNNKit/rnnkit.map"

# -gdwarf-4: clang's default DWARF 5 for the C kernels is more than valgrind 3.19 (Debian 12) can
# read in a library this size ("Possibly corrupted debuginfo file"); DWARF 4 every tool reads.
build_flags=(-c release --product rnnkit --scratch-path "$scratch" -Xswiftc -static-stdlib -Xcc -gdwarf-4
             -Xlinker "--version-script=$version_script" -Xlinker -soname=librnnkit.so)
swift build "${build_flags[@]}"
library="$(swift build "${build_flags[@]}" --show-bin-path)/librnnkit.so"
[ -f "$library" ] || { echo "install.sh: $library was not built" >&2; exit 1; }

# A C user must not need the Swift toolchain: no libswift*, libFoundation*, libdispatch, libBlocksRuntime.
if ldd "$library" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime|lib_Foundation|not found'; then
    echo "install.sh: $library still depends on the libraries above" >&2
    exit 1
fi
# Exactly the functions the header declares must be exported.
declared="$(grep -v -E '^[[:space:]]*(///|/\*|\*)' Modules/CRNNKit/include/rnnkit.h \
            | grep -o -E '\brnnkit_[a-z_]+\(' | tr -d '(' | sort -u)"
exported="$(nm -D --defined-only "$library" | awk '$2 == "T" {print $3}' | grep '^rnnkit_' | sort -u)"
if [ "$declared" != "$exported" ]; then
    echo "install.sh: the exported functions differ from those rnnkit.h declares:" >&2
    diff <(echo "$declared") <(echo "$exported") >&2 || true
    exit 1
fi

install -d "$prefix/lib" "$prefix/include" "$prefix/lib/pkgconfig"
install -m 0755 "$library" "$prefix/lib/librnnkit.so"
install -m 0644 Modules/CRNNKit/include/rnnkit.h "$prefix/include/rnnkit.h"

# OpenBLAS and LAPACKE are shared libraries the library links; a static link would need them.
requires_private=""
for module in openblas lapacke; do
    if pkg-config --exists "$module"; then requires_private="$requires_private${requires_private:+, }$module"; fi
done
version="$(sed -n 's/.*strdup("\([0-9][0-9.]*\)").*/\1/p' Sources/RNNKitC/Exports.swift | head -n 1)"
cat > "$prefix/lib/pkgconfig/rnnkit.pc" <<PC
prefix=$prefix
exec_prefix=\${prefix}
libdir=\${exec_prefix}/lib
includedir=\${prefix}/include

Name: rnnkit
Description: RNNKit C API: stacked RNN, LSTM and GRU networks with PyTorch semantics, on OpenBLAS
Version: ${version:-0.1.0}
Requires.private: $requires_private
Libs: -L\${libdir} -lrnnkit
Libs.private: -lstdc++ -lm -lpthread -ldl
Cflags: -I\${includedir}
PC

echo "installed $prefix/lib/librnnkit.so, $prefix/include/rnnkit.h, $prefix/lib/pkgconfig/rnnkit.pc"
