# bench/lib.sh — shell helpers shared by the bench/run_*.sh scripts (sourced, not executed).
#
# Receivers are named slod, prometheus and vm. Each runs fresh on 127.0.0.1 with a free port and
# its own temporary data directory; bench_start sets BENCH_PID/BENCH_PORT/BENCH_DIR and
# bench_stop ends that one process (by pid, never by name).
#
# Environment: BUILD (default build) where bench/rwgen and slod are, or RWGEN / SLOD directly;
# PROMETHEUS (default /usr/bin/prometheus), VICTORIA (default /usr/bin/victoria-metrics);
# SLOD_ARGS: extra slod flags (e.g. --storage.wal-fsync=never).

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$BENCH_ROOT/build}
RWGEN=${RWGEN:-$BUILD/bench/rwgen}
SLOD=${SLOD:-$BUILD/slod}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
VICTORIA=${VICTORIA:-/usr/bin/victoria-metrics}
CLK_TCK=$(getconf CLK_TCK)
BENCH_TMP=${BENCH_TMP:-$(mktemp -d /tmp/slod-bench.XXXXXX)}

bench_log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
bench_die() { bench_log "ERROR: $*"; exit 1; }

# Seconds since the epoch with nanoseconds, as a decimal string.
bench_now() { date +%s.%N; }

# bench_calc EXPR: evaluates an arithmetic/comparison expression (awk syntax; comparisons give 1/0).
bench_calc() { awk "BEGIN { x = ($1); if (x == int(x) && x < 1e15 && x > -1e15) printf \"%d\\n\", x; else printf \"%.6f\\n\", x }"; }

# A currently free TCP port on 127.0.0.1 (the kernel picks it).
bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# CPU seconds (utime+stime, incl. reaped children) of PID from /proc/PID/stat.
bench_cpu_s() {
  local stat rest
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  rest=${stat##*) }   # fields after the command name, starting at field 3 (state)
  # shellcheck disable=SC2086
  set -- $rest
  bench_calc "(${12} + ${13}) / $CLK_TCK"
}

# A field of /proc/PID/status in KiB (VmHWM = peak RSS, VmRSS = current).
bench_status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# bench_ready_path NAME: the readiness URL path of a receiver.
bench_ready_path() {
  case $1 in
    vm) echo /health ;;
    *) echo /-/ready ;;
  esac
}

# bench_write_path NAME: the remote-write path.
bench_write_path() { echo /api/v1/write; }

# bench_launch NAME PORT DIR LOG: starts the receiver in the background, sets BENCH_PID.
bench_launch() {
  local name=$1 port=$2 dir=$3 log=$4
  case $name in
    slod)
      [ -x "$SLOD" ] || bench_die "slod binary not found at $SLOD (build it, or set SLOD=)"
      # shellcheck disable=SC2086  # SLOD_ARGS: extra flags, word-split on purpose
      "$SLOD" serve --web.listen-address="127.0.0.1:$port" --storage.path="$dir" ${SLOD_ARGS:-} >>"$log" 2>&1 &
      ;;
    prometheus)
      cat >"$BENCH_TMP/prometheus-minimal.yml" <<'EOF'
global:
  scrape_interval: 15s
EOF
      "$PROMETHEUS" --web.enable-remote-write-receiver --storage.tsdb.path="$dir" \
        --web.listen-address="127.0.0.1:$port" --config.file="$BENCH_TMP/prometheus-minimal.yml" >>"$log" 2>&1 &
      ;;
    vm)
      "$VICTORIA" -httpListenAddr "127.0.0.1:$port" -storageDataPath "$dir" >>"$log" 2>&1 &
      ;;
    *) bench_die "unknown receiver $name" ;;
  esac
  BENCH_PID=$!
}

# bench_wait_ready NAME PORT [TIMEOUT_S]: polls the readiness URL every 10 ms until it answers 200.
# Returns 1 on timeout or if BENCH_PID died.
bench_wait_ready() {
  local url="http://127.0.0.1:$2$(bench_ready_path "$1")" deadline
  deadline=$(bench_calc "$(bench_now) + ${3:-60}")
  while :; do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null)" = 200 ]; then
      return 0
    fi
    kill -0 "$BENCH_PID" 2>/dev/null || return 1
    [ "$(bench_calc "$(bench_now) > $deadline")" = 1 ] && return 1
    sleep 0.01
  done
}

# bench_start NAME: fresh data dir + free port, launch, wait until ready. Sets BENCH_PID,
# BENCH_PORT, BENCH_DIR, BENCH_LOG.
bench_start() {
  BENCH_PORT=$(bench_free_port)
  BENCH_DIR=$(mktemp -d "$BENCH_TMP/$1-data.XXXXXX")
  BENCH_LOG="$BENCH_TMP/$1.log"
  : >"$BENCH_LOG"
  bench_launch "$1" "$BENCH_PORT" "$BENCH_DIR" "$BENCH_LOG"
  bench_wait_ready "$1" "$BENCH_PORT" 60 || { tail -20 "$BENCH_LOG" >&2; bench_die "$1 did not become ready"; }
}

# bench_stop [SIGNAL]: ends BENCH_PID (default TERM) and waits for it.
bench_stop() {
  [ -n "${BENCH_PID:-}" ] || return 0
  kill "-${1:-TERM}" "$BENCH_PID" 2>/dev/null || true
  wait "$BENCH_PID" 2>/dev/null || true
  BENCH_PID=
}

# bench_result_field LINE KEY: value of key=value in an rwgen RESULT line (empty if absent).
bench_result_field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# bench_count_samples NAME PORT SERIES EVAL_MS: total number of stored samples, one request per
# metric name. Prometheus and VictoriaMetrics: PromQL sum(count_over_time(NAME[3h])) at EVAL_MS (a
# single query over all names would make Prometheus fail on duplicate label sets once __name__ is
# dropped). slod: its raw /api/v1/export (JSON lines, one per series), counting timestamps, so the
# count does not depend on slod's PromQL engine. Prints the count, or "n/a" on any failure.
bench_count_samples() {
  local name=$1 port=$2 series=$3 t total=0 n q
  t=$(bench_calc "$4 / 1000")
  for n in $("$RWGEN" --list-names --series "$series"); do
    if [ "$name" = slod ]; then
      q=$(curl -sf --max-time 300 "http://127.0.0.1:$port/api/v1/export" --data-urlencode "match[]=$n" |
            python3 -c 'import json,sys
print(sum(len(json.loads(l)["timestamps"]) for l in sys.stdin if l.strip()))' 2>/dev/null) || q=err
      [ -n "$q" ] || q=err
    else
      q=$(curl -s --max-time 300 "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=sum(count_over_time($n[3h]))" \
            --data-urlencode "time=$t" --data-urlencode "nocache=1" | python3 -c 'import json,sys
d=json.loads(sys.stdin.read())
r=d.get("data",{}).get("result",[]) if d.get("status")=="success" else None
print("err" if r is None else (r[0]["value"][1] if r else "0"))' 2>/dev/null) || q=err
    fi
    [ "$q" = err ] && { echo n/a; return; }
    total=$(bench_calc "$total + $q")
  done
  echo "$total"
}

# bench_json_get URL PYEXPR: fetches JSON and prints PYEXPR evaluated with d = the document
# (empty on any failure).
bench_json_get() {
  curl -s --max-time 30 "$1" 2>/dev/null | python3 -c "import json,sys
try:
    d=json.load(sys.stdin); print($2)
except Exception:
    pass" 2>/dev/null
}

# bench_ensure_rwgen: builds the rwgen target if the binary is missing.
bench_ensure_rwgen() {
  if [ ! -x "$RWGEN" ]; then
    bench_log "building rwgen in $BUILD"
    cmake -S "$BENCH_ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" --target rwgen -j2 >/dev/null
  fi
  [ -x "$RWGEN" ] || bench_die "rwgen not found at $RWGEN"
}

# bench_fmt NUMBER DECIMALS: printf-rounds, "n/a" passes through.
bench_fmt() { case $1 in ''|n/a) echo n/a ;; *) printf "%.${2}f" "$1" ;; esac; }

# bench_ratio A B DECIMALS: A/B, or n/a.
bench_ratio() {
  case "$1$2" in *n/a*) echo n/a; return ;; esac
  [ -z "$1" ] || [ -z "$2" ] && { echo n/a; return; }
  [ "$(bench_calc "$2 == 0")" = 1 ] && { echo n/a; return; }
  printf "%.${3:-2}f" "$(bench_calc "$1 / $2")"
}
