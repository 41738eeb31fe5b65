#!/usr/bin/env bash
# Kill-and-resume test: a real training process (Tests/Reliability/kill-resume/main.swift, RNNKit's
# Trainer writing a checkpoint after every step) is killed with SIGKILL at random moments, many
# times (every second kill aimed inside a checkpoint write), resuming from its checkpoint each
# time. Checks, after every kill:
#   - once a checkpoint has been reported written, the file exists and resumes (Trainer(resumingFrom:)),
#     at a step no earlier than the last one reported: a kill never loses a completed checkpoint,
#     including a kill during the next checkpoint's write;
# and at the end that the interrupted run, resumed to completion, has bit for bit the weights of a
# run that was never interrupted. Reports how many kills landed inside a checkpoint write (a
# temporary file left behind by the atomic writer shows the write had begun and not finished).
#
#   Tests/Reliability/kill-resume.sh [--kills N] [--steps S] [--seed R] [--worktree]
#
# Defaults: 20 kills, 200 steps. Builds into .build-reliability/ with swiftc -O (sources from HEAD
# unless --worktree). Exits nonzero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

kills=20 steps=200 seed=$$ worktree=0
while [ $# -gt 0 ]; do
    case "$1" in
        --kills) kills="$2"; shift 2 ;;
        --steps) steps="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --worktree) worktree=1; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "kill-resume.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
RANDOM=$seed

scratch=.build-reliability
binary="$scratch/rnnkit-kill-resume"
mkdir -p "$scratch"
if [ "$worktree" = 1 ]; then stamp="worktree $(date +%s%N)"; else stamp="$(git rev-parse HEAD:Sources)"; fi
stamp="$stamp $(cksum < Tests/Reliability/kill-resume/main.swift)"
if [ ! -x "$binary" ] || [ "$(cat "$binary.stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "== build rnnkit-kill-resume"
    work="$scratch/build"
    rm -rf "$work" && mkdir -p "$work/src"
    if [ "$worktree" = 1 ]; then cp -r Sources "$work/src/"; else git archive HEAD Sources | tar -x -C "$work/src"; fi
    module_flags=() c_objects=()
    for dir in "$work"/src/Sources/C*/; do
        [ -d "$dir/include" ] || continue
        module="$(basename "$dir")"
        header="$(cd "$dir/include" && ls *.h | head -1)"
        printf 'module %s {\n    header "include/%s"\n    export *\n}\n' "$module" "$header" > "$dir/module.modulemap"
        for c in "$dir"/*.c; do
            [ -f "$c" ] || continue
            clang -O2 -I "$dir/include" -c "$c" -o "$work/$module-$(basename "$c" .c).o"
            c_objects+=("$PWD/$work/$module-$(basename "$c" .c).o")
        done
        module_flags+=(-I "$PWD/$dir")
    done
    read -r -a blas_flags <<< "$(pkg-config --cflags-only-I openblas lapacke 2>/dev/null || true)"
    read -r -a blas_libs <<< "$(pkg-config --libs openblas lapacke 2>/dev/null || echo -lopenblas -llapacke)"
    cflags=()
    for flag in "${blas_flags[@]}"; do cflags+=(-Xcc "$flag"); done
    mapfile -t sources < <(find "$PWD/$work/src/Sources/RNNKit" -name '*.swift' | sort)
    (cd "$work" && swiftc -O -wmo -module-name RNNKitKillResume -package-name RNNKit \
        -I "$OLDPWD/Modules/COpenBLAS" -I "$OLDPWD/Modules/CLAPACKE" "${module_flags[@]}" "${cflags[@]}" \
        "${sources[@]}" "$OLDPWD/Tests/Reliability/kill-resume/main.swift" "${c_objects[@]}" "${blas_libs[@]}" \
        -o "$OLDPWD/$binary")
    echo "$stamp" > "$binary.stamp"
fi

run="$(mktemp -d "${TMPDIR:-/tmp}/rnnkit-kill-resume.XXXXXX")"
trap 'rm -rf "$run"' EXIT
export OPENBLAS_NUM_THREADS=1

echo "== uninterrupted reference run ($steps steps)"
reference="$("$binary" train "$run/reference.safetensors" "$steps" | tail -n 1)"
echo "  $reference"

checkpoint="$run/checkpoint.safetensors"
last_reported=0       # the highest step a process said it had checkpointed
in_write=0 completed_early=0
echo "== $kills random kills (seed $seed)"
for round in $(seq 1 "$kills"); do
    log="$run/round-$round.log"
    "$binary" train "$checkpoint" "$steps" > "$log" 2>&1 &
    pid=$!
    # Random delay in 0.1–0.8 s (past process start-up). On even rounds, then wait for the next
    # checkpoint write to begin (its temporary file appears) and kill inside it.
    sleep "$(printf '0.%03d' $(( (RANDOM % 700) + 100 )))"
    if [ $((round % 2)) -eq 0 ]; then
        for _ in $(seq 1 200000); do
            compgen -G "$run/.checkpoint.safetensors.tmp-$pid-*" > /dev/null && break
            kill -0 "$pid" 2>/dev/null || break
        done
    fi
    if kill -KILL "$pid" 2>/dev/null; then :; else completed_early=$((completed_early + 1)); fi
    wait "$pid" 2>/dev/null || true
    reported="$(grep -o '^checkpoint [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)"
    [ -n "$reported" ] && last_reported="$reported"
    leftovers=$(find "$run" -maxdepth 1 -name ".checkpoint.safetensors.tmp-$pid-*" | wc -l)
    [ "$leftovers" -gt 0 ] && in_write=$((in_write + 1))
    if [ "$last_reported" -gt 0 ]; then
        if ! verified="$("$binary" verify "$checkpoint" 2>&1)"; then
            echo "kill-resume.sh: round $round: the checkpoint does not resume after the kill: $verified" >&2
            exit 1
        fi
        step="$(echo "$verified" | cut -d' ' -f2)"
        if [ "$step" -lt "$last_reported" ]; then
            echo "kill-resume.sh: round $round: the checkpoint is at step $step but step $last_reported was reported written" >&2
            exit 1
        fi
        last_reported="$step"
    fi
    echo "  round $round: killed pid $pid; checkpoint at step $last_reported$([ "$leftovers" -gt 0 ] && echo ", killed inside a checkpoint write")"
done

echo "== resume to completion"
final="$("$binary" train "$checkpoint" "$steps" | tail -n 1)"
echo "  $final"
if [ "$final" != "$reference" ]; then
    echo "kill-resume.sh: the interrupted run ended as '$final'; the uninterrupted one as '$reference'" >&2
    exit 1
fi
stale=$(find "$run" -maxdepth 1 -name '.checkpoint.safetensors.tmp-*' | wc -l)
echo "kill-resume: $kills kills ($in_write inside a checkpoint write, $completed_early after the run had finished), every completed checkpoint resumed, final weights identical to the uninterrupted run; $stale temporary files left by killed writers"
