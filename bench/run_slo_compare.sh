#!/usr/bin/env bash
# bench/run_slo_compare.sh — SLO evaluation cost per 30 s cycle: slod's SLO engine vs Prometheus
# 2.42 running the rules `slod generate` exports vs vmalert + VictoriaMetrics on the same rules.
#
# SLOs: SLOS Sloth-shaped SLOs (objective 99.9, 30d period, page + ticket alerts: 7 SLI recording
# windows + the 30d period rule + metadata, 2 multiwindow alerts), the spec bench/slo_cycle.c uses:
# error_query sum(rate(req_errors_total{slo="i"}[{{.window}}])), total_query the same on req_total.
#
# For each system in turn (fresh, free port on 127.0.0.1, empty data dir):
#   1. bench/slogen backfills DAYS days at 30 s of req_total/req_errors_total for every SLO plus the
#      slo:sli_error:ratio_rate5m history the 30d rule averages (what the rules would have recorded),
#      ending now; then keeps sending the counters live every 30 s ("scrapes") until the end,
#   2. waits until the server is idle (compaction), measures the idle CPU over IDLE_S seconds with
#      the live ingest running (the baseline),
#   3. switches the SLOs on — slod: the spec file appears in its --slo.files directory + POST
#      /-/reload; Prometheus: rule_files in its config + POST /-/reload (evaluation_interval 30s);
#      VictoriaMetrics: vmalert starts with the rules (-evaluationInterval 30s, reads VM, writes the
#      recordings back to VM) —, lets WARMUP_S seconds pass (first evaluations, slod's ring rebuild),
#   4. measures CPU (utime+stime from /proc/PID/stat; for VM the sum of victoria-metrics and
#      vmalert) over CYCLES x 30 s: per cycle = (CPU - idle rate x duration) / CYCLES; memory: RSS
#      before the rules and peak RSS (VmHWM, reset when the rules start) while evaluating,
#   5. reads back what was evaluated: the number of slo:sli_error:ratio_rate30d series and SLO
#      svc-s0's 1h window and 30d period values; slod's exact period error ratio from /api/v1/slos.
# Writes a markdown report to $OUT (default bench/out/slo_compare.md) and prints it.
#
# Usage: bench/run_slo_compare.sh [system ...]   (default: slod slod-interval prometheus vm)
#   slod runs with its default --storage.wal-fsync=always (every commit of recorded samples is
#   fdatasync'ed), slod-interval with --storage.wal-fsync=interval (1 s), closer to what Prometheus
#   and VictoriaMetrics do (neither syncs per append).
# Environment: SLOS (1000), DAYS (30), IDLE_S (30), WARMUP_S (60), CYCLES (3), OUT,
#   BUILD (slod, bench/slogen), SLOD, SLOGEN, PROMETHEUS, VICTORIA, VMALERT.
# Product-owner reference on this machine: Prometheus ~18 CPU-s per cycle for 1,000 SLOs (2,000
# series), vmalert + VM ~26; slod's target <= 1/100 of Prometheus's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/qlib.sh"

SLOS=${SLOS:-1000}
DAYS=${DAYS:-30}
IDLE_S=${IDLE_S:-30}
WARMUP_S=${WARMUP_S:-60}
CYCLES=${CYCLES:-3}
SLOGEN=${SLOGEN:-$BUILD/bench/slogen}
OUT=${OUT:-$BENCH_ROOT/bench/out/slo_compare.md}
SYSTEMS=("$@")
[ ${#SYSTEMS[@]} -gt 0 ] || SYSTEMS=(slod slod-interval prometheus vm)

if [ ! -x "$SLOGEN" ]; then
  cmake -S "$BENCH_ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" --target slogen -j2 >/dev/null
fi
[ -x "$SLOGEN" ] || bench_die "slogen not found at $SLOGEN"
[ -x "$SLOD" ] || bench_die "slod not found at $SLOD (needed for 'slod generate' too)"
mkdir -p "$(dirname "$OUT")"

PIDS_NOW=()
cleanup() {
  local p
  for p in "${PIDS_NOW[@]}"; do q_stop "$p"; done
  rm -rf "$BENCH_TMP"
}
trap cleanup EXIT

# The SLO specs (as bench/slo_cycle.c writes them) and the rules slod exports for them.
SPEC="$BENCH_TMP/slos.yaml"
python3 - "$SPEC" "$SLOS" <<'EOF'
import sys
path, n = sys.argv[1], int(sys.argv[2])
# 100 SLOs per YAML document (slod's spec loader bounds the nodes per document).
with open(path, "w") as f:
    for i in range(n):
        if i % 100 == 0:
            f.write(('---\n' if i else '') + 'version: "prometheus/v1"\nservice: "svc"\nslos:\n')
        f.write('  - name: "s%d"\n    objective: 99.9\n    sli:\n      events:\n'
                '        error_query: sum(rate(req_errors_total{slo="%d"}[{{.window}}]))\n'
                '        total_query: sum(rate(req_total{slo="%d"}[{{.window}}]))\n'
                '    alerting:\n      name: Bench%d\n' % (i, i, i, i))
EOF
RULES="$BENCH_TMP/rules.yml"
"$SLOD" generate -i "$SPEC" -o "$RULES.multi" || bench_die "slod generate failed"
# `slod generate` writes one rule document per spec document; Prometheus and vmalert read only the
# first document of a rule file, so merge them into one `groups:` list.
awk 'BEGIN { seen = 0 } /^---/ || /^#/ { next } /^groups:/ { if (seen++) next } { print }' "$RULES.multi" >"$RULES"
N_GROUPS=$(grep -c '^- name:' "$RULES" || true)
[ "$(grep -c '^---' "$RULES")" -le 1 ] || bench_die "rule file has several YAML documents (Prometheus would read the first only)"
N_RULES=$(grep -cE '^  - (record|alert):' "$RULES" || true)
bench_log "$SLOS SLOs -> $N_GROUPS rule groups, $N_RULES rules"
# Exact error ratio of the generated data over whole 6 h burst periods: (600 s x 1% + 21,000 s x
# 0.05%) / 21,600 s.
EXPECT=$(python3 -c 'print("%.10g" % ((600 * 0.01 + 21000 * 0.0005) / 21600))')

declare -A R_INGEST R_SAMPLES R_QUIET R_IDLE R_CPU R_PER R_RSS0 R_HWM R_RSS1 R_N30 R_W1H R_P30 R_EXACT R_EVALT R_MISSED
for sys in "${SYSTEMS[@]}"; do
  pids=()
  case $sys in
    slod|slod-interval)
      mkdir -p "$BENCH_TMP/slo-specs"
      rm -f "$BENCH_TMP/slo-specs/"*
      fs=always; [ "$sys" = slod-interval ] && fs=interval
      q_start slod --slo.files="$BENCH_TMP/slo-specs" --rules.evaluation-interval=30s --storage.wal-fsync=$fs
      ;;
    prometheus) q_start prometheus ;;
    vm) q_start vm ;;
  esac
  srv_pid=$Q_PID srv_port=$Q_PORT srv_dir=$Q_DIR
  PIDS_NOW=("$srv_pid")
  pids=("$srv_pid")
  url="http://127.0.0.1:$srv_port"
  live=$(( 600 + IDLE_S + WARMUP_S + CYCLES * 30 + 60 ))
  bench_log "$sys: ready on :$srv_port (pid $srv_pid); backfilling $SLOS SLOs x $DAYS days @ 30s"
  "$SLOGEN" --url "$url/api/v1/write" --slos "$SLOS" --days "$DAYS" --step-ms 30000 --live "$live" \
    >"$srv_dir/slogen.out" 2>"$srv_dir/slogen.err" &
  gen_pid=$!
  PIDS_NOW+=("$gen_pid")
  t0=$(bench_now)
  while ! grep -q '^RESULT' "$srv_dir/slogen.out" 2>/dev/null; do
    kill -0 "$gen_pid" 2>/dev/null || { cat "$srv_dir/slogen.err" >&2; bench_die "$sys: slogen ended early"; }
    sleep 0.5
  done
  line=$(grep '^RESULT' "$srv_dir/slogen.out")
  [ "$(bench_result_field "$line" acked_samples)" = "$(bench_result_field "$line" sent_samples)" ] &&
    [ "$(bench_result_field "$line" non2xx)" = 0 ] && [ "$(bench_result_field "$line" net_errors)" = 0 ] ||
    { cat "$srv_dir/slogen.err" >&2; bench_die "$sys: backfill not fully acknowledged: $line"; }
  R_SAMPLES[$sys]=$(bench_result_field "$line" acked_samples)
  R_INGEST[$sys]=$(bench_result_field "$line" wall_s)
  R_QUIET[$sys]=$(q_wait_quiet "$srv_pid" -- 420)
  bench_log "$sys: backfill ${R_SAMPLES[$sys]} samples in ${R_INGEST[$sys]} s; idle after ${R_QUIET[$sys]} s; baseline over ${IDLE_S} s"
  c0=$(q_cpu_sum "$srv_pid"); w0=$(bench_now)
  sleep "$IDLE_S"
  c1=$(q_cpu_sum "$srv_pid"); w1=$(bench_now)
  R_IDLE[$sys]=$(bench_calc "($c1 - $c0) / ($w1 - $w0)")
  R_RSS0[$sys]=$(bench_status_kb "$srv_pid" VmRSS)
  q_reset_hwm "$srv_pid"
  case $sys in
    slod|slod-interval)
      cp "$SPEC" "$BENCH_TMP/slo-specs/slos.yaml"
      curl -sf -X POST "$url/-/reload" >/dev/null || bench_die "slod reload failed: $(tail -3 "$Q_LOG")"
      ;;
    prometheus)
      printf 'global:\n  scrape_interval: 15s\n  evaluation_interval: 30s\nrule_files:\n  - %s\n' "$RULES" >"$srv_dir/prometheus.yml"
      curl -sf -X POST "$url/-/reload" >/dev/null || bench_die "prometheus reload failed: $(tail -3 "$srv_dir/server.log")"
      ;;
    vm)
      va_port=$(bench_free_port)
      dead_port=$(bench_free_port)   # nothing listens there: alerts have nowhere to go, as for the others
      "$VMALERT" -httpListenAddr "127.0.0.1:$va_port" -rule "$RULES" -evaluationInterval 30s \
        -datasource.url "$url" -remoteWrite.url "$url" -notifier.url "http://127.0.0.1:$dead_port" \
        >"$srv_dir/vmalert.log" 2>&1 &
      va_pid=$!
      PIDS_NOW+=("$va_pid")
      pids+=("$va_pid")
      ;;
  esac
  bench_log "$sys: SLOs on; warm-up ${WARMUP_S} s, then ${CYCLES} cycles"
  sleep "$WARMUP_S"
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || bench_die "$sys: pid $p died (see $srv_dir)"; done
  c0=$(q_cpu_sum "${pids[@]}"); w0=$(bench_now)
  sleep $(( CYCLES * 30 ))
  c1=$(q_cpu_sum "${pids[@]}"); w1=$(bench_now)
  R_CPU[$sys]=$(bench_calc "$c1 - $c0")
  R_PER[$sys]=$(bench_calc "(${R_CPU[$sys]} - ${R_IDLE[$sys]} * ($w1 - $w0)) / $CYCLES")
  hwm=0 rss=0
  for p in "${pids[@]}"; do
    hwm=$(( hwm + $(bench_status_kb "$p" VmHWM) ))
    rss=$(( rss + $(bench_status_kb "$p" VmRSS) ))
  done
  R_HWM[$sys]=$hwm
  R_RSS1[$sys]=$rss
  getv() { # instant query -> first value or n/a
    curl -s --max-time 60 "$url/api/v1/query" --data-urlencode "query=$1" | python3 -c 'import json,sys
try:
    r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")
except Exception:
    print("n/a")'
  }
  R_N30[$sys]=$(getv 'count(slo:sli_error:ratio_rate30d)')
  R_W1H[$sys]=$(getv 'slo:sli_error:ratio_rate1h{sloth_id="svc-s0"}')
  R_P30[$sys]=$(getv 'slo:sli_error:ratio_rate30d{sloth_id="svc-s0"}')
  R_EXACT[$sys]=-
  R_EVALT[$sys]=-
  R_MISSED[$sys]=-
  case $sys in
    slod|slod-interval)
      R_EXACT[$sys]=$(bench_json_get "$url/api/v1/slos/svc-s0" 'd["data"]["periodWindow"]["exactErrorRatio"]')
      ;;
    prometheus)
      R_EVALT[$sys]=$(curl -s --max-time 60 "$url/api/v1/rules" | python3 -c 'import json,sys
g=json.load(sys.stdin)["data"]["groups"]; print("%.2f" % sum(x.get("evaluationTime",0) for x in g))' 2>/dev/null || echo n/a)
      R_MISSED[$sys]=$(curl -s "$url/metrics" | awk '/^prometheus_rule_group_iterations_missed_total/ {s += $2} END {print s + 0}')
      ;;
    vm)
      R_MISSED[$sys]=$(curl -s "http://127.0.0.1:$va_port/metrics" | awk '/^vmalert_iteration_missed_total/ {s += $2} END {print s + 0}')
      ;;
  esac
  bench_log "$sys: ${R_PER[$sys]} CPU-s per cycle (idle ${R_IDLE[$sys]} CPU-s/s); RSS $(q_kb_to_mib "${R_RSS0[$sys]}") MiB before, peak $(q_kb_to_mib "${R_HWM[$sys]}") MiB; 30d series ${R_N30[$sys]}; svc-s0 1h ${R_W1H[$sys]} 30d ${R_P30[$sys]}"
  for p in "${pids[@]}"; do [ "$p" = "$srv_pid" ] || q_stop "$p"; done
  q_stop "$gen_pid"
  q_stop "$srv_pid"
  PIDS_NOW=()
  rm -rf "$srv_dir/data"
done

{
  echo "# SLO evaluation cost ($SLOS Sloth SLOs, 30d period, page + ticket; $DAYS days of 30 s history)"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores; $N_GROUPS rule groups / $N_RULES rules from \`slod generate\`;" \
       "$((SLOS * 2)) counter series + $SLOS recorded 5m-ratio series backfilled ($DAYS d @ 30 s), live samples every 30 s;" \
       "CPU over $CYCLES cycles after ${WARMUP_S} s warm-up, minus the idle baseline (${IDLE_S} s, same live ingest)."
  echo
  echo "| system | CPU-s per 30 s cycle | idle CPU-s/s | ratio to Prometheus | RSS before rules MiB | peak RSS evaluating MiB | backfill s (samples) |"
  echo "|---|---|---|---|---|---|---|"
  for sys in "${SYSTEMS[@]}"; do
    name=$sys; [ "$sys" = vm ] && name="vmalert + VictoriaMetrics"
    [ "$sys" = slod ] && name="slod (WAL fsync always, the default)"
    [ "$sys" = slod-interval ] && name="slod (WAL fsync every 1 s)"
    r=n/a
    [ -n "${R_PER[prometheus]:-}" ] && r=$(bench_ratio "${R_PER[$sys]}" "${R_PER[prometheus]}" 4)
    echo "| $name | $(bench_fmt "${R_PER[$sys]}" 3) | $(bench_fmt "${R_IDLE[$sys]}" 4) | $r | $(q_kb_to_mib "${R_RSS0[$sys]}") | $(q_kb_to_mib "${R_HWM[$sys]}") | ${R_INGEST[$sys]} (${R_SAMPLES[$sys]}) |"
  done
  echo
  echo "What each evaluated (SLO svc-s0; the generated data's exact error ratio over whole 6 h periods is $EXPECT):"
  echo
  echo "| system | slo:sli_error:ratio_rate30d series | 1h ratio | 30d ratio (Sloth: mean of 5m ratios) | exact period ratio | Σ group evaluation time s | missed iterations |"
  echo "|---|---|---|---|---|---|---|"
  for sys in "${SYSTEMS[@]}"; do
    echo "| $sys | ${R_N30[$sys]} | ${R_W1H[$sys]} | ${R_P30[$sys]} | ${R_EXACT[$sys]} | ${R_EVALT[$sys]} | ${R_MISSED[$sys]} |"
  done
} >"$OUT"
cat "$OUT"
