#!/usr/bin/env bash
# bench/run_query.sh — PromQL latency: slod vs Prometheus 2.42 vs VictoriaMetrics on the same data.
#
# For each server in turn (fresh, free port on 127.0.0.1, empty data dir):
#   1. backfill one series (rwgen's series 0, node_cpu_seconds_total{cpu="0",mode="idle",...}) with
#      HIST_DAYS days at HIST_STEP_S spacing, ending one HIST_STEP_S before step 0 of the main load,
#   2. send the main load with bench/rwgen: SERIES series x (HOURS h / STEP_S) samples, live-shaped,
#      in time order (Prometheus only accepts samples within 1h of its newest one, so history goes
#      first and everything is sent oldest first); timestamps are 7.001 s off the minute grid, so no
#      sample sits exactly on a window boundary (Prometheus 2.42's closed range windows and slod's
#      left-open ones, as in Prometheus 3, would otherwise disagree by one sample),
#   3. waits until the server is idle (compaction/flush done), resets its peak RSS (clear_refs),
#   (slod runs with --slo.files=none --storage.wal-fsync=interval; the others with their defaults
#   plus 60d/3-month retention so the 30 days of history are kept)
#   4. runs each query WARM times untimed then RUNS times timed (bench/qtime.py, one keep-alive
#      connection, POST), and reads the peak RSS and the CPU the server used meanwhile.
# Then compares the answers with Prometheus's (same series, same timestamps, relative difference)
# and writes a markdown report to $OUT (default bench/out/query.md) and prints it.
#
# Queries (T = a 15 s grid point 20-35 s after the newest sample):
#   q1  sum by (code) (rate(http_requests_total[5m]))                         instant at T
#   q2  the same, range T-6h..T, step 15s                                     (1,441 steps)
#   q3  histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))
#   q4  sum_over_time(<series 0>[30d])                                        instant at T
#
# Usage: bench/run_query.sh [server ...]       (default: prometheus vm slod)
# Environment: SERIES (100000), HOURS (6), STEP_S (60), HIST_DAYS (30), HIST_STEP_S (30),
#   RUNS (10), WARM (2), CONNS (4), BATCH (2500), SEED (1), OUT, BUILD/SLOD/RWGEN/PROMETHEUS/VICTORIA
#   (lib.sh). Reference (product owner, this machine): Prometheus ~290 ms, VM ~145 ms for q1 at 100k
#   series; slod's target: <= 1/4 of Prometheus and <= 1/2 of VM on every query.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qlib.sh"

SERIES=${SERIES:-100000}
HOURS=${HOURS:-6}
STEP_S=${STEP_S:-60}
HIST_DAYS=${HIST_DAYS:-30}
HIST_STEP_S=${HIST_STEP_S:-30}
RUNS=${RUNS:-10}
WARM=${WARM:-2}
CONNS=${CONNS:-4}
BATCH=${BATCH:-2500}
SEED=${SEED:-1}
OUT=${OUT:-$BENCH_ROOT/bench/out/query.md}
SERVERS=("$@")
[ ${#SERVERS[@]} -gt 0 ] || SERVERS=(prometheus vm slod)

PID_NOW=
cleanup() { q_stop "$PID_NOW"; rm -rf "$BENCH_TMP"; }
trap cleanup EXIT

bench_ensure_rwgen
mkdir -p "$(dirname "$OUT")"

SAMPLES=$(( HOURS * 3600 / STEP_S ))
HIST_SAMPLES=$(( HIST_DAYS * 86400 / HIST_STEP_S ))
NOW_MS=$(date +%s%3N)
MAIN_START=$(( NOW_MS - SAMPLES * STEP_S * 1000 - 120000 ))
MAIN_START=$(( MAIN_START - MAIN_START % 60000 + 7001 ))
HIST_START=$(( MAIN_START - HIST_SAMPLES * HIST_STEP_S * 1000 ))
LAST_MS=$(( MAIN_START + (SAMPLES - 1) * STEP_S * 1000 ))
T_MS=$(( (LAST_MS + 20000) / 15000 * 15000 + 15000 ))
T=$(bench_calc "$T_MS / 1000")

QF="$BENCH_TMP/queries.json"
write_queries() { # $1 = selector of series 0
  python3 - "$QF" "$T" "$HIST_DAYS" "$1" <<'EOF'
import json, sys
f, t, days, s0 = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
q = "sum by (code) (rate(http_requests_total[5m]))"
json.dump([
  {"id": "q1", "type": "instant", "query": q, "time": "%.3f" % t},
  {"id": "q2", "type": "range", "query": q, "start": "%.3f" % (t - 6 * 3600), "end": "%.3f" % t, "step": "15"},
  {"id": "q3", "type": "instant", "query": "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))", "time": "%.3f" % t},
  {"id": "q4", "type": "instant", "query": "sum_over_time(%s[%sd])" % (s0, days), "time": "%.3f" % t},
], open(f, "w"), indent=1)
EOF
}

declare -A R_INGEST R_RSS R_HWM R_QCPU R_N4 R_QUIET
for sv in "${SERVERS[@]}"; do
  if [ "$sv" = slod ]; then
    # no example SLOs; WAL fsync once a second, not per request: the 86,400 one-sample history
    # requests would otherwise take minutes, and queries do not depend on the fsync policy
    q_start slod --slo.files=none --storage.wal-fsync=interval
  else
    q_start "$sv"
  fi
  PID_NOW=$Q_PID
  url="http://127.0.0.1:$Q_PORT"
  bench_log "$sv: ready on :$Q_PORT (pid $Q_PID); backfilling series 0: $HIST_SAMPLES samples @ ${HIST_STEP_S}s"
  t0=$(bench_now)
  line=$("$RWGEN" --url "$url/api/v1/write" --series 1 --samples "$HIST_SAMPLES" --batch 1 --conns 1 \
           --seed "$SEED" --start-ms "$HIST_START" --step-ms $((HIST_STEP_S * 1000)) 2>"$Q_DIR/rwgen-hist.err" | grep '^RESULT' || true)
  [ "$(bench_result_field "$line" acked_samples)" = "$HIST_SAMPLES" ] || { cat "$Q_DIR/rwgen-hist.err" >&2; bench_die "$sv: history not fully acknowledged: $line"; }
  t1=$(bench_now)
  bench_log "$sv: history in $(bench_fmt "$(bench_calc "$t1 - $t0")" 1) s; main load $SERIES series x $SAMPLES @ ${STEP_S}s"
  line=$("$RWGEN" --url "$url/api/v1/write" --series "$SERIES" --samples "$SAMPLES" --batch "$BATCH" \
           --conns "$CONNS" --seed "$SEED" --start-ms "$MAIN_START" --step-ms $((STEP_S * 1000)) 2>"$Q_DIR/rwgen.err" | grep '^RESULT' || true)
  acked=$(bench_result_field "$line" acked_samples)
  [ "$acked" = $((SERIES * SAMPLES)) ] || { cat "$Q_DIR/rwgen.err" >&2; bench_die "$sv: main load not fully acknowledged: $line"; }
  t2=$(bench_now)
  R_INGEST[$sv]=$(bench_calc "$t2 - $t0")
  R_QUIET[$sv]=$(q_wait_quiet "$Q_PID" -- 300)
  bench_log "$sv: ingest $(bench_fmt "${R_INGEST[$sv]}" 1) s, quiet after ${R_QUIET[$sv]} s more"
  if [ ! -s "$BENCH_TMP/s0" ]; then
    # series 0's full label set, from the first server's answer (rwgen's model decides it)
    curl -s "$url/api/v1/series" --data-urlencode 'match[]=node_cpu_seconds_total{cpu="0",mode="idle"}' \
         --data-urlencode "start=$(bench_calc "$HIST_START / 1000")" --data-urlencode "end=$T" |
      python3 -c 'import json,sys
d=json.load(sys.stdin)["data"]
d=sorted(d, key=lambda m: m.get("instance",""))
m=d[0]
print("{" + ",".join("%s=\"%s\"" % (k, v) for k, v in sorted(m.items()) if k != "__name__") + "}")' >"$BENCH_TMP/s0.labels"
    echo "node_cpu_seconds_total$(cat "$BENCH_TMP/s0.labels")" >"$BENCH_TMP/s0"
    write_queries "$(cat "$BENCH_TMP/s0")"
    bench_log "series 0 = $(cat "$BENCH_TMP/s0")"
  fi
  R_N4[$sv]=$(curl -s "$url/api/v1/query" --data-urlencode "query=count_over_time($(cat "$BENCH_TMP/s0")[$((HIST_DAYS + 1))d])" \
                --data-urlencode "time=$T" --data-urlencode nocache=1 |
                python3 -c 'import json,sys
r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)' 2>/dev/null || echo n/a)
  R_RSS[$sv]=$(bench_status_kb "$Q_PID" VmRSS)
  q_reset_hwm "$Q_PID"
  c0=$(bench_cpu_s "$Q_PID")
  python3 "$BENCH_ROOT/bench/qtime.py" run --url "$url" --name "$sv" --queries "$QF" --runs "$RUNS" \
    --warm "$WARM" --nocache --out "$BENCH_TMP/res-$sv.json"
  c1=$(bench_cpu_s "$Q_PID")
  R_HWM[$sv]=$(bench_status_kb "$Q_PID" VmHWM)
  R_QCPU[$sv]=$(bench_calc "$c1 - $c0")
  bench_log "$sv: series-0 samples ${R_N4[$sv]}, RSS $(q_kb_to_mib "${R_RSS[$sv]}") MiB, peak while querying $(q_kb_to_mib "${R_HWM[$sv]}") MiB"
  q_stop "$Q_PID"
  PID_NOW=
  rm -rf "$Q_DIR/data"
done

ref=prometheus
[[ " ${SERVERS[*]} " == *" prometheus "* ]] || ref=${SERVERS[0]}
files=()
for sv in "${SERVERS[@]}"; do files+=("$BENCH_TMP/res-$sv.json"); done
python3 "$BENCH_ROOT/bench/qtime.py" compare --ref "$ref" "${files[@]}" >"$BENCH_TMP/cmp.json"

{
  echo "# PromQL latency ($SERIES series x ${HOURS}h @ ${STEP_S}s + 1 series x ${HIST_DAYS}d @ ${HIST_STEP_S}s)"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo);" \
       "$WARM warm-up + $RUNS timed runs per query, one keep-alive connection, POST; VictoriaMetrics with nocache=1."
  echo
  for sv in "${SERVERS[@]}"; do
    printf -- '- %s: ingest %s s (history + main load), idle after %s s more; series 0 holds %s samples; ' \
      "$sv" "$(bench_fmt "${R_INGEST[$sv]}" 1)" "${R_QUIET[$sv]}" "${R_N4[$sv]}"
    printf 'RSS before queries %s MiB, peak while querying %s MiB, CPU while querying %s s\n' \
      "$(q_kb_to_mib "${R_RSS[$sv]}")" "$(q_kb_to_mib "${R_HWM[$sv]}")" "$(bench_fmt "${R_QCPU[$sv]}" 2)"
  done
  echo
  python3 - "$BENCH_TMP/cmp.json" "$ref" "${SERVERS[@]}" <<'EOF'
import json, sys
cmp = json.load(open(sys.argv[1])); ref = sys.argv[2]; servers = sys.argv[3:]
names = {"q1": "`sum by (code) (rate(http_requests_total[5m]))` instant",
         "q2": "same, 6h range, 15 s step",
         "q3": "`histogram_quantile(0.99, sum by (le) (rate(..._bucket[5m])))`",
         "q4": "`sum_over_time(series0[30d])`"}
label = {"slod": "slod", "prometheus": "Prometheus", "vm": "VM"}
hdr = "| query | " + " | ".join("%s median / p90 ms" % label.get(s, s) for s in servers)
ratios = [] if "slod" not in servers else [o for o in ("prometheus", "vm") if o in servers]
hdr += "".join(" | slod ÷ %s" % label[o] for o in ratios) + " |"
print(hdr)
print("|" + "---|" * (1 + len(servers) + len(ratios)))
for q in sorted(cmp):
    row = "| %s | " % names.get(q, q)
    cells = []
    for s in servers:
        e = cmp[q].get(s)
        cells.append("n/a" if not e else ("error" if e["error"] else "%.1f / %.1f" % (e["median_ms"], e["p90_ms"])))
    row += " | ".join(cells)
    for o in ratios:
        a, b = cmp[q].get("slod"), cmp[q].get(o)
        if a and b and not a["error"] and not b["error"] and b["median_ms"] > 0:
            target = 0.25 if o == "prometheus" else 0.5
            r = a["median_ms"] / b["median_ms"]
            row += " | %.3f %s" % (r, "✓" if r <= target else "✗ (target ≤ %g)" % target)
        else:
            row += " | n/a"
    print(row + " |")
print()
print("Answers compared with %s's (largest relative difference over the points both returned; points only one returned):" % label.get(ref, ref))
print()
others = [s for s in servers if s != ref]
print("| query | points (%s) | " % label.get(ref, ref) + " | ".join(label.get(s, s) for s in others) + " |")
print("|" + "---|" * (2 + len(others)))
for q in sorted(cmp):
    cells = []
    for s in others:
        e = cmp[q].get(s, {})
        v = e.get("vsRef")
        if e.get("error"):
            cells.append("error: " + e["error"][:80])
        elif not v:
            cells.append("n/a")
        else:
            w = v.get("worst")
            at = "" if not w or v["maxRelDiff"] < 1e-9 else ", worst %.6g vs %.6g" % (w[2], w[3])
            cells.append("%.2g (%d only-one%s)" % (v["maxRelDiff"], v["onlyOne"], at))
    print("| %s | %d | %s |" % (q, cmp[q].get(ref, {}).get("points", 0), " | ".join(cells)))
EOF
} >"$OUT"
cp "$BENCH_TMP/cmp.json" "${OUT%.md}.json"
cat "$OUT"
