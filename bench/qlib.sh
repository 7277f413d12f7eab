# bench/qlib.sh — helpers for the query and SLO-evaluation benchmarks (run_query.sh,
# run_slo_compare.sh); sourced after bench/lib.sh, whose helpers (ports, /proc readings, readiness,
# rwgen) it reuses. What differs from lib.sh's bench_launch: the servers here must keep 30 days of
# history (Prometheus defaults to 15d retention, VictoriaMetrics to 1 month), slod must not load its
# embedded example SLOs (a query benchmark measures the query alone), and Prometheus must accept a
# config reload (rules are switched on after the backfill).
#
# Every server runs fresh on 127.0.0.1, a free port and its own data directory under $BENCH_TMP;
# q_start sets Q_PID/Q_PORT/Q_DIR/Q_LOG for one server, q_stop ends exactly that pid.

VMALERT=${VMALERT:-/usr/bin/vmalert}

# q_launch NAME PORT DIR LOG [EXTRA...]: starts slod|prometheus|vm in the background, sets Q_PID.
# For prometheus, $DIR/prometheus.yml is the config (written here unless it exists).
q_launch() {
  local name=$1 port=$2 dir=$3 log=$4
  shift 4
  case $name in
    slod)
      [ -x "$SLOD" ] || bench_die "slod binary not found at $SLOD (build it, or set SLOD=)"
      "$SLOD" serve --web.listen-address="127.0.0.1:$port" --storage.path="$dir/data" \
        --storage.retention=60d "$@" >>"$log" 2>&1 &
      ;;
    prometheus)
      [ -f "$dir/prometheus.yml" ] || printf 'global:\n  scrape_interval: 15s\n  evaluation_interval: 30s\n' >"$dir/prometheus.yml"
      "$PROMETHEUS" --web.enable-remote-write-receiver --web.enable-lifecycle \
        --storage.tsdb.path="$dir/data" --storage.tsdb.retention.time=60d \
        --web.listen-address="127.0.0.1:$port" --config.file="$dir/prometheus.yml" "$@" >>"$log" 2>&1 &
      ;;
    vm)
      "$VICTORIA" -httpListenAddr "127.0.0.1:$port" -storageDataPath "$dir/data" -retentionPeriod 3 \
        "$@" >>"$log" 2>&1 &
      ;;
    *) bench_die "unknown server $name" ;;
  esac
  Q_PID=$!
}

# q_start NAME [EXTRA...]: fresh dir + free port, launch, wait until ready (60 s).
q_start() {
  local name=$1
  shift
  Q_PORT=$(bench_free_port)
  Q_DIR=$(mktemp -d "$BENCH_TMP/$name.XXXXXX")
  Q_LOG="$Q_DIR/server.log"
  : >"$Q_LOG"
  q_launch "$name" "$Q_PORT" "$Q_DIR" "$Q_LOG" "$@"
  BENCH_PID=$Q_PID
  if ! bench_wait_ready "$name" "$Q_PORT" 60; then
    tail -20 "$Q_LOG" >&2
    bench_die "$name did not become ready"
  fi
  BENCH_PID=
}

# q_stop PID: TERM, then KILL after 20 s; waits for it. Only ever the pid we started.
q_stop() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# q_reset_hwm PID: resets VmHWM (peak RSS) to the current RSS, so the next reading is the peak of
# what follows (Linux clear_refs value 5). Silently does nothing where not permitted.
q_reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }

# q_cpu_sum PID...: summed utime+stime seconds of several processes.
q_cpu_sum() {
  local t=0 p
  for p in "$@"; do t=$(bench_calc "$t + $(bench_cpu_s "$p")"); done
  echo "$t"
}

# q_wait_quiet PID... [-- MAX_S]: waits until the processes together use < 0.05 CPU-s per 2 s
# (background compaction after a backfill finished), at most MAX_S (default 300) seconds. Prints the
# seconds waited.
q_wait_quiet() {
  local pids=() max=300 waited=0 a b
  while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then max=$2; break; fi
    pids+=("$1"); shift
  done
  while [ "$waited" -lt "$max" ]; do
    a=$(q_cpu_sum "${pids[@]}")
    sleep 2
    waited=$((waited + 2))
    b=$(q_cpu_sum "${pids[@]}")
    [ "$(bench_calc "$b - $a < 0.05")" = 1 ] && break
  done
  echo "$waited"
}

# q_kb_to_mib KB: integer MiB.
q_kb_to_mib() { case $1 in ''|n/a) echo n/a ;; *) echo $(( $1 / 1024 )) ;; esac; }
