#!/usr/bin/env bash
# The measurement behind the defaults of `rnnkit train --sampling` and `--schedule` (docs/cli.md):
# the default character model on several real English texts found on a Debian machine with
# Python 3, each run with every sampling × schedule pair, everything else at its default.
# Prints one line per run: text, sampling, schedule, final validation loss (nats/char), seconds.
# Usage: benchmarks/training-defaults.sh [path/to/rnnkit-cli] [extra rnnkit train options…]
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-$(swift build -c release --product rnnkit-cli --show-bin-path)/rnnkit-cli}
shift || true
texts=$(mktemp -d)
trap 'rm -rf "$texts"' EXIT
python3 -c "import pydoc_data.topics as t; open('$texts/python-docs.txt', 'w').write('\n\n'.join(t.topics[k] for k in sorted(t.topics)))"
cat /usr/share/common-licenses/* > "$texts/licenses.txt"
if [ -f /usr/share/perl/5.36/pod/perldiag.pod ]; then cp /usr/share/perl/5.36/pod/perldiag.pod "$texts/perldiag.txt"; fi
for text in "$texts"/*.txt; do
  for sampling in stream random; do
    for schedule in cosine constant; do
      warmup=()
      [ "$schedule" = constant ] && warmup=(--warmup 0)
      start=$(date +%s.%N)
      "$binary" train --text "$text" --sampling "$sampling" --schedule "$schedule" "${warmup[@]}" "$@" \
        --out "$texts/run-$sampling-$schedule" > /dev/null
      end=$(date +%s.%N)
      loss=$(tail -1 "$texts/run-$sampling-$schedule/metrics.csv" | cut -d, -f3)
      printf '%s\t%s\t%s\t%s\t%.1f\n' "$(basename "$text" .txt)" "$sampling" "$schedule" "$loss" "$(echo "$end - $start" | bc)"
      rm -rf "$texts/run-$sampling-$schedule"
    done
  done
done
