#!/usr/bin/env bash
# Trains the same character LSTM on a small real text with no regulariser, with zoneout and with
# recurrent dropout, and prints each run's validation loss every 100 steps: the comparison in
# docs/training.md ("Regularising a model that overfits"). Run by hand, never by CI (the
# scaled-down version is CellVariantTests.zoneoutHelpsAnOverfittingModel).
#
# Usage: scripts/regularization-comparison.sh [RNNKIT_CLI] [OUT_DIR]
#   RNNKIT_CLI  the rnnkit executable (default .build/release/rnnkit-cli)
#   OUT_DIR     where the run directories go (default a new temporary directory)
# The text is Debian's /usr/share/common-licenses/GPL-3 (35 kB, base-files): real English that no
# test trains on otherwise, small enough that an LSTM of 256 units overfits it within 1200 steps.
set -euo pipefail
cli="${1:-.build/release/rnnkit-cli}"
out="${2:-$(mktemp -d "${TMPDIR:-/tmp}/rnnkit-regularization.XXXXXX")}"
text=/usr/share/common-licenses/GPL-3
common=(train --text "$text" --cell lstm --hidden 256 --seq-len 64 --batch 32 --steps 1200 --lr 0.003
        --schedule constant --threads 1 --eval-every 100)
for seed in 1 2; do
    "$cli" "${common[@]}" --seed "$seed" --out "$out/plain-$seed" > /dev/null
    "$cli" "${common[@]}" --seed "$seed" --zoneout 0.05 --zoneout-cell 0.5 --out "$out/zoneout-$seed" > /dev/null
    "$cli" "${common[@]}" --seed "$seed" --recurrent-dropout 0.25 --out "$out/recurrent-dropout-$seed" > /dev/null
done
for run in "$out"/*; do
    printf '%-22s' "$(basename "$run")"
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "val_loss") c = i }
             NR > 1 && $c != "" { printf " %s:%.3f", $1, $c } END { print "" }' "$run/metrics.csv"
done
