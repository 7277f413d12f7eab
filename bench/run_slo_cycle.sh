#!/usr/bin/env bash
# bench/run_slo_cycle.sh — CPU per SLO evaluation cycle (docs/slo-eval.md, "Speed").
#
# Runs bench/slo_cycle (a Release build) twice on the same synthetic data shape: with the slo
# engine's fast path (default) and without it (-f -1, every Sloth rule evaluated by the rules
# manager), and writes a markdown report. The product target: at most 1/100 of Prometheus's
# ~18 CPU-s per 30 s cycle for 1,000 Sloth SLOs, i.e. 0.18 s.
#
# Usage: bench/run_slo_cycle.sh
# Environment: SLOS (1000), DAYS (30), SCRAPE (30 s), CYCLES (5), BUILD (a Release build dir with
#              bench/slo_cycle; default build-rel, configured and built when missing),
#              OUT (bench/out/slo_cycle.md), FAST_ONLY=1 skips the run without the fast path.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SLOS=${SLOS:-1000}
DAYS=${DAYS:-30}
SCRAPE=${SCRAPE:-30}
CYCLES=${CYCLES:-5}
BUILD=${BUILD:-$ROOT/build-rel}
OUT=${OUT:-$ROOT/bench/out/slo_cycle.md}
FAST_ONLY=${FAST_ONLY:-0}

if [ ! -x "$BUILD/bench/slo_cycle" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" --target slo_cycle -j2 >/dev/null
fi
mkdir -p "$(dirname "$OUT")"

run() { # label, extra args
  local label=$1; shift
  echo "[slo_cycle] $label: $SLOS SLOs, $DAYS days @ ${SCRAPE}s, $CYCLES cycles" >&2
  "$BUILD/bench/slo_cycle" -n "$SLOS" -d "$DAYS" -i "$SCRAPE" -c "$CYCLES" "$@" | tee /dev/stderr
}

fast=$(run "fast path on")
slow=""
[ "$FAST_ONLY" = 1 ] || slow=$(run "fast path off" -f -1)

mean() { grep '^mean over' <<<"$1" | sed -E 's/.*rules=([0-9.]+)s slo=([0-9.]+)s total=([0-9.]+)s.*/\1 \2 \3/'; }
{
  echo "# SLO evaluation cycle ($SLOS Sloth SLOs, 30d, page + ticket; $DAYS days of ${SCRAPE}s data)"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, CPU seconds per 30 s cycle (mean of $CYCLES):"
  echo
  echo "| configuration | rules manager | slo engine | total | share of Prometheus's ~18 s |"
  echo "|---|---|---|---|---|"
  read -r r s t <<<"$(mean "$fast")"
  echo "| fast path on | $r | $s | $t | 1/$(awk "BEGIN{printf \"%d\", 18/$t}") |"
  if [ -n "$slow" ]; then
    read -r r s t <<<"$(mean "$slow")"
    echo "| fast path off | $r | $s | $t | 1/$(awk "BEGIN{printf \"%d\", 18/$t}") |"
  fi
  echo
  echo '```'
  grep -E '^(load|startup|rules_manager_snapshot)' <<<"$fast"
  echo '```'
} >"$OUT"
cat "$OUT"
