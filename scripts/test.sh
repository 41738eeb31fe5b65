#!/usr/bin/env bash
# Builds RNNKit and runs every test: the Swift suite (release mode), then the C API tests.
#
#   scripts/test.sh                      all tests
#   scripts/test.sh --sanitize address   the Swift suite under AddressSanitizer (thread: ThreadSanitizer)
#
# Installs what is missing on Debian/Ubuntu (OpenBLAS, LAPACKE, pkg-config, valgrind) first.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=""
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) sanitize="${2:?--sanitize takes address or thread}"; shift 2 ;;
    --sanitize=*) sanitize="${1#*=}"; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "scripts/test.sh: unknown option '$1' (expected --sanitize address|thread)" >&2; exit 2 ;;
  esac
done

scripts/install-deps.sh

if [ -n "$sanitize" ]; then
  case "$sanitize" in address|thread) ;; *) echo "scripts/test.sh: --sanitize takes address or thread, got '$sanitize'" >&2; exit 2 ;; esac
  echo "== swift test under the $sanitize sanitizer"
  # Debug build (sanitizers report best at -Onone). Address: LeakSanitizer too, with XCTest's
  # runner and Foundation's own leaks suppressed (Tests/Reliability/lsan.supp). Thread: one
  # OpenBLAS thread, since OpenBLAS is not instrumented, and the C kernels uninstrumented, since
  # their ifunc resolvers run before TSan starts (docs/reliability.md).
  extra=()
  case "$sanitize" in
    address) scratch=.build-asan; export LSAN_OPTIONS="suppressions=$PWD/Tests/Reliability/lsan.supp" ;;
    thread) scratch=.build-tsan; export OPENBLAS_NUM_THREADS=1; extra=(-Xcc -fno-sanitize=thread) ;;
  esac
  swift test --scratch-path "$scratch" --sanitize="$sanitize" "${extra[@]}"
  exit 0
fi

# Release mode: the learning-task tests train real models and take seconds there, minutes in
# debug. -enable-testing keeps @testable imports working in a release build.
echo "== swift test (release)"
swift test -c release -Xswiftc -enable-testing
if [ -x scripts/test-c.sh ]; then
  echo "== C API tests"
  scripts/test-c.sh
fi
