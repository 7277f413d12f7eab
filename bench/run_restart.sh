#!/usr/bin/env bash
# bench/run_restart.sh — crash-recovery benchmark: slod vs Prometheus vs VictoriaMetrics.
#
# For each receiver, fresh: push SERIES x SAMPLES samples with bench/rwgen (12M by default), then
# immediately kill -9 the receiver, restart it on the same data directory and measure the time from
# launch until its readiness endpoint answers 200 (/-/ready for slod and Prometheus, /health for
# VictoriaMetrics; polled every 10 ms). Then count the samples it still has (one PromQL
# sum(count_over_time(NAME[3h])) per metric name) and report acknowledged samples lost.
# A process kill loses no page cache, so this measures what the receiver had not yet handed to the
# kernel when it acknowledged (buffers in memory), not fsync policy.
# Writes bench/out/restart.md (and prints it).
#
# Usage: bench/run_restart.sh [receiver ...]     (default: slod prometheus vm)
# Environment: SERIES (100000), SAMPLES (120), CONNS (4), BATCH (2500), SEED (1),
#              BUILD/RWGEN/SLOD/PROMETHEUS/VICTORIA (see lib.sh), OUT (bench/out/restart.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SERIES=${SERIES:-100000}
SAMPLES=${SAMPLES:-120}
CONNS=${CONNS:-4}
BATCH=${BATCH:-2500}
SEED=${SEED:-1}
OUT=${OUT:-$BENCH_ROOT/bench/out/restart.md}
RECEIVERS=("$@")
[ ${#RECEIVERS[@]} -gt 0 ] || RECEIVERS=(slod prometheus vm)

cleanup() { bench_stop KILL; rm -rf "$BENCH_TMP"; }
trap cleanup EXIT

bench_ensure_rwgen
STEP_MS=15000
NOW_MS=$(date +%s%3N)
START_MS=$(( NOW_MS - SAMPLES * STEP_MS - 60000 ))
START_MS=$(( START_MS - START_MS % STEP_MS ))
END_MS=$(( START_MS + (SAMPLES - 1) * STEP_MS ))

declare -A R_ACK R_SENT R_READY R_COUNT R_LOST R_PCT R_DISK
ran=()
for rx in "${RECEIVERS[@]}"; do
  if [ "$rx" = slod ] && [ ! -x "$SLOD" ]; then
    bench_log "slod: binary $SLOD missing, skipped"
    continue
  fi
  bench_log "$rx: starting"
  bench_start "$rx"
  set +e
  line=$("$RWGEN" --url "http://127.0.0.1:$BENCH_PORT$(bench_write_path "$rx")" --series "$SERIES" \
           --samples "$SAMPLES" --batch "$BATCH" --conns "$CONNS" --seed "$SEED" --start-ms "$START_MS" \
           --step-ms "$STEP_MS" | grep '^RESULT')
  set -e
  [ -n "$line" ] || bench_die "$rx: rwgen produced no result"
  # kill -9 right after the last acknowledgement
  kill -KILL "$BENCH_PID"
  wait "$BENCH_PID" 2>/dev/null || true
  BENCH_PID=
  R_ACK[$rx]=$(bench_result_field "$line" acked_samples)
  R_SENT[$rx]=$(bench_result_field "$line" sent_samples)
  R_DISK[$rx]=$(du -sm "$BENCH_DIR" | cut -f1)
  bench_log "$rx: ${R_ACK[$rx]} samples acknowledged, killed (-9); ${R_DISK[$rx]} MiB on disk; restarting"

  BENCH_PORT=$(bench_free_port)
  t0=$(bench_now)
  bench_launch "$rx" "$BENCH_PORT" "$BENCH_DIR" "$BENCH_LOG"
  bench_wait_ready "$rx" "$BENCH_PORT" 300 || { tail -20 "$BENCH_LOG" >&2; bench_die "$rx did not become ready after restart"; }
  t1=$(bench_now)
  R_READY[$rx]=$(bench_calc "$t1 - $t0")
  R_COUNT[$rx]=$(bench_count_samples "$rx" "$BENCH_PORT" "$SERIES" $(( END_MS + 1 )))
  if [ "${R_COUNT[$rx]}" = n/a ]; then
    R_LOST[$rx]=n/a
    R_PCT[$rx]=n/a
  else
    lost=$(( R_ACK[$rx] - R_COUNT[$rx] ))
    [ "$lost" -ge 0 ] || lost=0
    R_LOST[$rx]=$lost
    R_PCT[$rx]=$(bench_calc "100 * $lost / (${R_ACK[$rx]} > 0 ? ${R_ACK[$rx]} : 1)")
  fi
  bench_log "$rx: ready after ${R_READY[$rx]} s; ${R_COUNT[$rx]} samples found, ${R_LOST[$rx]} acknowledged samples lost"
  bench_stop TERM
  rm -rf "$BENCH_DIR"
  ran+=("$rx")
done

mkdir -p "$(dirname "$OUT")"
{
  echo "# Crash-recovery benchmark"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores. Load: $SERIES series x $SAMPLES samples = $((SERIES * SAMPLES)) samples"
  echo "over $CONNS connections, then kill -9 right after the last acknowledgement, restart on the same"
  echo "data directory, time until ready (200), and count what is still there (Prometheus, VictoriaMetrics:"
  echo "PromQL sum(count_over_time(NAME[3h])) per metric name; slod: its raw /api/v1/export)."
  echo
  echo "| receiver | acked / sent | data on disk MiB | time to ready s | samples found | acked samples lost | lost % |"
  echo "|---|---|---|---|---|---|---|"
  for rx in "${ran[@]}"; do
    echo "| $rx | ${R_ACK[$rx]} / ${R_SENT[$rx]} | ${R_DISK[$rx]} | $(bench_fmt "${R_READY[$rx]}" 2) | ${R_COUNT[$rx]} | ${R_LOST[$rx]} | $(bench_fmt "${R_PCT[$rx]}" 2) |"
  done
} >"$OUT"
cat "$OUT"
