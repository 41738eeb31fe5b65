#!/usr/bin/env bash
# The main job in one command, from a fresh clone: installs what is missing, builds the `rnnkit`
# command line in release mode, trains a character-level LSTM on the corpus shipped in
# Data/corpus.txt (about two minutes on two cores), then samples text from it, evaluates it on the
# held-out tenth of the corpus and inspects its recurrent weights.
#
#   scripts/demo.sh                 everything, into runs/demo-<date>-<time>
#   scripts/demo.sh --out DIR       the run directory to create instead
#   scripts/demo.sh -- ARGS...      extra options for `rnnkit train` (for example -- --steps 300)
#
# SwiftPM's build directory is $RNNKIT_SCRATCH_PATH, else .build (as scripts/install.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

out="runs/demo-$(date +%Y%m%d-%H%M%S)"
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out takes a directory}"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "scripts/demo.sh: unknown option '$1' (expected --out DIR or -- followed by rnnkit train options)" >&2; exit 2 ;;
  esac
done
case "$out" in /*) run="$out" ;; *) run="$root/$out" ;; esac   # relative to the repository root
scratch="${RNNKIT_SCRATCH_PATH:-.build}"
started=$SECONDS

echo "== 1/5 system packages (OpenBLAS, LAPACKE)"
scripts/install-deps.sh

echo "== 2/5 building rnnkit (release)"
swift build -c release --scratch-path "$scratch" --product rnnkit-cli
rnnkit="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/rnnkit-cli"
echo "built $rnnkit in $((SECONDS - started)) s"

echo "== 3/5 rnnkit train  (character LSTM on Data/corpus.txt)"
train_started=$SECONDS
"$rnnkit" train --out "$run" ${extra[@]+"${extra[@]}"}
echo "trained in $((SECONDS - train_started)) s"

echo "== 4/5 rnnkit generate and rnnkit eval"
"$rnnkit" generate --model "$run" --prime "The " --length 300 --temperature 0.7 --seed 7
echo
# The run validated on the last tenth of the corpus (pure ASCII, so bytes are characters):
# evaluate on exactly that held-out text.
heldout="$run/heldout.txt"
size=$(wc -c < Data/corpus.txt)
tail -c $(( (size + 5) / 10 )) Data/corpus.txt > "$heldout"
"$rnnkit" eval --model "$run" --text "$heldout"

echo "== 5/5 rnnkit inspect"
"$rnnkit" inspect "$run" | sed -n '/^Recurrent weights/,$p'

echo
echo "Done in $((SECONDS - started)) s."
echo "  run directory  $run"
echo "  loss plot      $run/loss.svg   (open file://$run/loss.svg in a browser)"
echo "  samples        $run/samples.txt"
echo "  the command    $rnnkit   (scripts: see README.md, 'Install the rnnkit command')"
