#!/usr/bin/env bash
# bench/run_ingest.sh — remote-write ingestion benchmark: slod vs Prometheus vs VictoriaMetrics.
#
# One after the other, each receiver is started fresh (free port on 127.0.0.1, empty data dir),
# receives the identical load from bench/rwgen (same seed and timestamps => byte-identical
# requests), and is measured from outside: samples/s acknowledged, receiver CPU seconds
# (utime+stime from /proc/PID/stat, load + SETTLE seconds) per million samples, peak RSS (VmHWM)
# and RSS per active series, and for slod the chunk bytes per sample from /api/v1/status/tsdb.
# Writes a markdown report to bench/out/ingest.md (and prints it).
#
# Usage: bench/run_ingest.sh [receiver ...]      (default: slod prometheus vm; slod is skipped
#        with a note when its binary is missing)
# When slod is measured, a second slod run with counters only (rwgen --only counters) gives the
# bytes/sample of counter chunks (COUNTERS_RUN=0 skips it).
# With VERIFY=1 (default), the samples each receiver stored are counted back after the measurements.
# Environment: SERIES (100000), SAMPLES (120), CONNS (4), BATCH (2500), SETTLE (3 s), SEED (1),
#              BUILD/RWGEN/SLOD/PROMETHEUS/VICTORIA (see lib.sh), OUT (bench/out/ingest.md).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SERIES=${SERIES:-100000}
SAMPLES=${SAMPLES:-120}
CONNS=${CONNS:-4}
BATCH=${BATCH:-2500}
SETTLE=${SETTLE:-3}
SEED=${SEED:-1}
VERIFY=${VERIFY:-1}
OUT=${OUT:-$BENCH_ROOT/bench/out/ingest.md}
RECEIVERS=("$@")
[ ${#RECEIVERS[@]} -gt 0 ] || RECEIVERS=(slod prometheus vm)

cleanup() { bench_stop KILL; rm -rf "$BENCH_TMP"; }
trap cleanup EXIT

bench_ensure_rwgen
# One set of timestamps for every receiver: the last sample lands 60 s before the first run.
STEP_MS=15000
NOW_MS=$(date +%s%3N)
START_MS=$(( NOW_MS - SAMPLES * STEP_MS - 60000 ))
START_MS=$(( START_MS - START_MS % STEP_MS ))

declare -A R_RATE R_CPU R_HWM R_RSS0 R_BPS R_ACK R_SENT R_FAIL R_WALL R_GENCPU R_P99 R_CPUM R_STORED
ran=()

# ingest_one RECEIVER KEY [rwgen args...]: one fresh receiver, one load, results under KEY.
ingest_one() {
  local rx=$1 key=$2 line cpu0 cpu1 b
  shift 2
  bench_log "$key: starting $rx"
  bench_start "$rx"
  sleep 1
  cpu0=$(bench_cpu_s "$BENCH_PID")
  R_RSS0[$key]=$(bench_status_kb "$BENCH_PID" VmRSS)
  bench_log "$key: ready on :$BENCH_PORT (pid $BENCH_PID, RSS $((R_RSS0[$key] / 1024)) MiB); sending $SERIES series x $SAMPLES samples"
  set +e
  line=$("$RWGEN" --url "http://127.0.0.1:$BENCH_PORT$(bench_write_path "$rx")" --series "$SERIES" \
           --samples "$SAMPLES" --batch "$BATCH" --conns "$CONNS" --seed "$SEED" --start-ms "$START_MS" \
           --step-ms "$STEP_MS" "$@" | grep '^RESULT')
  set -e
  [ -n "$line" ] || bench_die "$key: rwgen produced no result"
  sleep "$SETTLE"
  cpu1=$(bench_cpu_s "$BENCH_PID")
  R_HWM[$key]=$(bench_status_kb "$BENCH_PID" VmHWM)
  R_ACK[$key]=$(bench_result_field "$line" acked_samples)
  R_SENT[$key]=$(bench_result_field "$line" sent_samples)
  R_FAIL[$key]=$(( $(bench_result_field "$line" non2xx) + $(bench_result_field "$line" net_errors) ))
  R_RATE[$key]=$(bench_result_field "$line" samples_per_s)
  R_WALL[$key]=$(bench_result_field "$line" wall_s)
  R_GENCPU[$key]=$(bench_result_field "$line" gen_cpu_s)
  R_P99[$key]=$(bench_result_field "$line" lat_p99_ms)
  R_CPU[$key]=$(bench_calc "$cpu1 - $cpu0")
  R_CPUM[$key]=$(bench_calc "${R_CPU[$key]} * 1000000 / (${R_ACK[$key]} > 0 ? ${R_ACK[$key]} : 1)")
  R_BPS[$key]=n/a
  if [ "$rx" = slod ]; then
    b=$(bench_json_get "http://127.0.0.1:$BENCH_PORT/api/v1/status/tsdb" 'd["data"]["slod"]["bytesPerSample"]')
    [ -n "$b" ] && R_BPS[$key]=$b
  fi
  bench_log "$key: ${R_ACK[$key]}/${R_SENT[$key]} acked, ${R_RATE[$key]} samples/s, CPU ${R_CPU[$key]} s, peak RSS $((R_HWM[$key] / 1024)) MiB"
  R_STORED[$key]=-
  if [ "$VERIFY" = 1 ] && [ $# -eq 0 ]; then
    # after the measurements: count what the receiver really stored (VictoriaMetrics makes rows
    # searchable about a second after it acknowledges them)
    [ "$rx" = vm ] && sleep 2
    R_STORED[$key]=$(bench_count_samples "$rx" "$BENCH_PORT" "$SERIES" $(( START_MS + (SAMPLES - 1) * STEP_MS + 1 )))
    bench_log "$key: ${R_STORED[$key]} samples stored"
  fi
  bench_stop TERM
  rm -rf "$BENCH_DIR"
  ran+=("$key")
}

for rx in "${RECEIVERS[@]}"; do
  if [ "$rx" = slod ] && [ ! -x "$SLOD" ]; then
    bench_log "slod: binary $SLOD missing, skipped"
    continue
  fi
  ingest_one "$rx" "$rx"
done
# Counters alone, for the product target on counter compression (bytes/sample in chunks).
if [[ " ${ran[*]} " == *" slod "* ]] && [ "${COUNTERS_RUN:-1}" = 1 ]; then
  ingest_one slod slod-counters --only counters
fi

# ---- report ----
mkdir -p "$(dirname "$OUT")"
kb_series() { bench_calc "$1 / $SERIES"; }
{
  echo "# Ingestion benchmark"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)."
  echo "Load: $SERIES series x $SAMPLES samples (15 s apart) = $((SERIES * SAMPLES)) samples, $BATCH samples per request"
  echo "(one per series), $CONNS keep-alive connections, pre-encoded (snappy protobuf); settle ${SETTLE}s."
  echo "The generator runs on the same 2 cores as the receiver; CPU columns are the receiver's alone."
  echo
  echo "| receiver | acked / sent | stored | failed req | samples/s | receiver CPU-s per 1M samples | peak RSS MiB | RSS/series KB (peak) | marginal KB/series | chunk bytes/sample | p99 req ms | rwgen CPU-s |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for rx in "${ran[@]}"; do
    echo "| $rx | ${R_ACK[$rx]} / ${R_SENT[$rx]} | ${R_STORED[$rx]} | ${R_FAIL[$rx]} | $(bench_fmt "${R_RATE[$rx]}" 0) | $(bench_fmt "${R_CPUM[$rx]}" 2) | $(( R_HWM[$rx] / 1024 )) | $(bench_fmt "$(kb_series "${R_HWM[$rx]}")" 2) | $(bench_fmt "$(kb_series "$(( R_HWM[$rx] - R_RSS0[$rx] ))")" 2) | $(bench_fmt "${R_BPS[$rx]}" 2) | $(bench_fmt "${R_P99[$rx]}" 1) | $(bench_fmt "${R_GENCPU[$rx]}" 2) |"
  done
  echo
  echo "RSS/series = VmHWM / series; marginal = (VmHWM - RSS when idle before the load) / series."
  if [[ " ${ran[*]} " == *" slod "* ]]; then
    echo
    echo "| slod vs | throughput (x, higher is better) | CPU per sample (x, lower is better) | RSS per series (x, lower is better) |"
    echo "|---|---|---|---|"
    for peer in prometheus vm; do
      [[ " ${ran[*]} " == *" $peer "* ]] || continue
      echo "| $peer | $(bench_ratio "${R_RATE[slod]}" "${R_RATE[$peer]}") | $(bench_ratio "${R_CPUM[slod]}" "${R_CPUM[$peer]}") | $(bench_ratio "${R_HWM[slod]}" "${R_HWM[$peer]}") |"
    done
  fi
} >"$OUT"
cat "$OUT"
