#!/usr/bin/env bash
# The GPU check of issue 12 in one call: SalFoM-L's speed, accuracy, training memory and an
# end-to-end predict + train on an NVIDIA GPU. One JSON line per figure and one pass/fail line
# per target (stdout and OUTDIR/results.jsonl); the whole log in OUTDIR/gpu_check.log;
# profiler traces (OUTDIR/*_trace.json.gz, tables in OUTDIR/profiles.txt) where a target is missed.
#
#   bench/gpu_check.sh [--golden DIR] [--clip FILE] [--work DIR] [--budget S] [--steps A,B] OUTDIR
#   bench/gpu_check.sh --cpu-smoke OUTDIR      # the same steps at toy size on the CPU
#   bench/gpu_check.sh --prepare               # here, before a device call: see below
#
# The GPU machine (PyTorch 2.11, OpenCV; no PyAV, no Qt, no internet) gets what it lacks
# carried in two git-ignored folders of the repo:
#   .whl/       wheels installed at the start (PyAV for decoding the clip, platformdirs)
#   .gpucheck/  salfom_golden/ (the golden manifest and logits, ~0.5 MB of
#               shared/reference/salfom_golden) and 0002.avi (2.7 MB, shared/data/dhf1k_0002)
# `--prepare` fills both (pip download needs the internet; ~36 MB of wheels). Then, with the
# device tool: run(command="bash bench/gpu_check.sh $OUT", carry=[".whl", ".gpucheck"],
# timeout_s=450). The steps keep to --budget seconds in all (default 400), each in its own
# process under a time limit, so a hang or crash costs one step and the rest still report.
# A rerun of some steps: --steps e2e,infer_compile --budget 250 (steps: infer, accuracy,
# train, e2e, infer_compile; e2e builds the golden checkpoint itself without accuracy).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
SMOKE=0
PREPARE=0
GOLDEN=""
CLIP=""
WORK=""
BUDGET=400
OUTDIR=""
STEPS="infer,accuracy,train,e2e,infer_compile"   # compiling last: its time is the least certain
# per step: the most seconds it may take, and the least it needs (kept free for it by the
# steps before it); sized for salfom_l16 on an H100/H200, where torch.compile takes most of
# infer_compile and predicting + training + reloading takes most of e2e
declare -A CAP=([preflight]=45 [infer]=60 [infer_compile]=150 [accuracy]=70 [train]=60 [e2e]=180)
declare -A NEED=([preflight]=15 [infer]=30 [infer_compile]=60 [accuracy]=45 [train]=30 [e2e]=110)
WHEELS=(av==18.1.0 platformdirs==4.3.8)

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --cpu-smoke) SMOKE=1 ;;
        --prepare) PREPARE=1 ;;
        --golden) GOLDEN="$2"; shift ;;
        --clip) CLIP="$2"; shift ;;
        --work) WORK="$2"; shift ;;
        --budget) BUDGET="$2"; shift ;;
        --steps) STEPS="$2"; shift ;;
        -h|--help) usage 0 ;;
        -*) echo "gpu_check.sh: unknown option $1" >&2; usage ;;
        *) [ -z "$OUTDIR" ] || { echo "gpu_check.sh: one OUTDIR only" >&2; usage; }; OUTDIR="$1" ;;
    esac
    shift
done

SHARED="$REPO/../shared"
if [ "$PREPARE" = 1 ]; then
    set -e
    mkdir -p "$REPO/.gpucheck/salfom_golden" "$REPO/.whl"
    for f in salfom_state_dict_manifest.json salfom_logits.npy salfom_output.npy README.md; do
        cp "$SHARED/reference/salfom_golden/$f" "$REPO/.gpucheck/salfom_golden/"
    done
    cp "$SHARED/data/dhf1k_0002/0002.avi" "$REPO/.gpucheck/"
    # the GPU machine's Python is CPython 3.12 on x86-64 Linux
    "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$REPO/.whl" "${WHEELS[@]}"
    du -sh "$REPO/.gpucheck" "$REPO/.whl"
    exit 0
fi
[ -n "$OUTDIR" ] || usage

mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
LOG="$OUTDIR/gpu_check.log"
RESULTS="$OUTDIR/results.jsonl"
: > "$LOG"
: > "$RESULTS"
START=$(date +%s)
log() { echo "$*" | tee -a "$LOG"; }

if [ -z "$WORK" ]; then
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/salfom_gpu_check.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT       # checkpoints of several GB: gone with the run
fi
mkdir -p "$WORK"
[ -n "$GOLDEN" ] || for d in "$REPO/.gpucheck/salfom_golden" "$SHARED/reference/salfom_golden"; do
    [ -d "$d" ] && { GOLDEN="$d"; break; }
done
[ -n "$CLIP" ] || for f in "$REPO/.gpucheck/0002.avi" "$SHARED/data/dhf1k_0002/0002.avi"; do
    [ -f "$f" ] && { CLIP="$f"; break; }
done

if [ "$SMOKE" = 0 ] && compgen -G "$REPO/.whl/*.whl" > /dev/null; then
    SITE="$WORK/site"
    log "installing the carried wheels: $(cd "$REPO/.whl" && echo *.whl)"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
        "$REPO"/.whl/*.whl >> "$LOG" 2>&1 || { log "gpu_check.sh: installing .whl/*.whl failed (see $LOG)"; exit 2; }
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
MODE=(); [ "$SMOKE" = 1 ] && MODE=(--smoke) && BUDGET=$((BUDGET > 1200 ? BUDGET : 1200))
log "gpu_check: $(date -u +%FT%TZ) repo $REPO, python $PY, golden ${GOLDEN:-none}, clip ${CLIP:-none}, work $WORK, budget ${BUDGET}s"
command -v nvidia-smi > /dev/null && nvidia-smi >> "$LOG" 2>&1

# one failure line where a step's process did not finish by itself
step_failed() {   # step, exit code, seconds allowed
    local why="exit code $2"
    [ "$2" = 124 ] || [ "$2" = 137 ] && why="timed out after $3 s"
    local line="{\"step\": \"$1\", \"check\": \"$1_finishes\", \"value\": $2, \"target\": \"exit code 0 or 1\", \"pass\": false, \"error\": \"$why, see gpu_check.log\", \"device\": \"$DEVICE\"}"
    echo "$line" | tee -a "$LOG" >> "$RESULTS"
}

IFS=, read -r -a SELECTED <<< "$STEPS"
for step in "${SELECTED[@]}"; do
    [ -n "${CAP[$step]:-}" ] && [ "$step" != preflight ] || { echo "gpu_check.sh: unknown step $step" >&2; usage; }
done

# run_step NAME ARGS...: at most its cap, leaving what the later selected steps need
run_step() {
    local name="$1"; shift
    local cap="${CAP[$name]}" reserve=0 later=0 step
    for step in "${SELECTED[@]}"; do
        [ "$later" = 1 ] && reserve=$((reserve + NEED[$step]))
        [ "$step" = "$name" ] && later=1
    done
    [ "$name" = preflight ] && for step in "${SELECTED[@]}"; do reserve=$((reserve + NEED[$step])); done
    [ "$SMOKE" = 1 ] && cap=300 reserve=0      # the CPU's time is not what the caps are sized for
    local left=$((START + BUDGET - $(date +%s) - reserve))
    local limit=$((cap < left ? cap : left))
    if [ "$limit" -lt 15 ]; then
        step_failed "$name" 124 0
        return
    fi
    log "=== $name (at most ${limit}s) ==="
    timeout --kill-after=10 "$limit" "$PY" "$REPO/bench/gpu_check.py" "$name" --out "$OUTDIR" "${MODE[@]}" "$@" 2>&1 \
        | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    # 0: all checks passed, 1: some failed (the step wrote its lines); anything else: it died
    if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
        step_failed "$name" "$rc" "$limit"
    fi
}

DEVICE="unknown"
run_step preflight
DEVICE="$(sed -n 's/.*"device": "\([^"]*\)".*/\1/p' "$RESULTS" | head -n 1)"
if [ "$SMOKE" = 0 ] && ! grep -q '"cuda_available": true' "$RESULTS"; then
    log "gpu_check.sh: no CUDA device here; bench/gpu_check.sh --cpu-smoke OUTDIR runs the steps on the CPU"
    exit 2
fi
for step in "${SELECTED[@]}"; do   # accuracy writes the golden checkpoint that e2e predicts with
    run_step "$step" --golden "$GOLDEN" --clip "$CLIP" --work "$WORK"
done
"$PY" "$REPO/bench/gpu_check.py" summary --out "$OUTDIR" --steps "$STEPS" "${MODE[@]}" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
log "gpu_check: $(($(date +%s) - START)) s in all"
exit "$rc"
