#!/usr/bin/env bash
# integration.cli — the slod binary's command line: --help, --version, bad flags and commands
# (exit 2 with usage), bad config (exit 2), a port in use (exit 1), and a clean SIGTERM shutdown.
set -u
slod="$1"
tmp=$(mktemp -d /tmp/slod-it-cli-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

out=$("$slod" --help) || fail "--help exit $?"
grep -q "usage: slod" <<<"$out" || fail "--help has no usage"
grep -q -- "--storage.wal-fsync" <<<"$out" || fail "--help lists no flags"
out=$("$slod" --version) || fail "--version exit $?"
grep -Eq "^slod version [0-9]+\.[0-9]+\.[0-9]+" <<<"$out" || fail "--version printed '$out'"

"$slod" --bogus >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "unknown flag: exit $rc, want 2"
grep -q "unknown flag --bogus" "$tmp/err" || fail "unknown flag: message missing: $(cat "$tmp/err")"
grep -q "usage: slod" "$tmp/err" || fail "unknown flag: no usage on stderr"
"$slod" serve --storage.retention=forever 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "bad duration: exit $rc"
grep -q 'invalid value "forever" for --storage.retention' "$tmp/err" || fail "bad duration message: $(cat "$tmp/err")"
"$slod" --storage.wal-fsync 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "missing value: exit $rc"
"$slod" frobnicate 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "unknown command: exit $rc"
grep -q 'unknown command "frobnicate"' "$tmp/err" || fail "unknown command message"
printf 'storage:\n  retension: 1d\n' >"$tmp/bad.yml"
"$slod" --config.file="$tmp/bad.yml" 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] || fail "bad config: exit $rc"
grep -q 'unknown key "retension"' "$tmp/err" || fail "bad config message: $(cat "$tmp/err")"

# SLO subcommands are dispatched to the slo module
root="$(cd "$(dirname "$0")/../.." && pwd)"
"$slod" validate -i "$root/examples/slos" >"$tmp/out" 2>"$tmp/err" || fail "validate examples: $(cat "$tmp/err")"
"$slod" generate -i "$root/examples/slos/prometheus-self.yaml" >"$tmp/rules.yml" 2>"$tmp/err" || fail "generate: $(cat "$tmp/err")"
grep -q "slo:sli_error:ratio_rate5m" "$tmp/rules.yml" || fail "generate printed no rules"
printf 'version: "prometheus/v1"\nservice: x\nslos:\n  - name: y\n    objective: 200\n' >"$tmp/bad-slo.yaml"
"$slod" validate -i "$tmp/bad-slo.yaml" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "validate of a bad spec: exit $rc"
# serve refuses to start with a broken SLO spec
"$slod" --slo.files="$tmp/bad-slo.yaml" --web.listen-address=127.0.0.1:0 --storage.path="$tmp/d3" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "serve with a bad SLO spec: exit $rc"
grep -q "bad-slo.yaml:5:" "$tmp/err" || fail "serve did not locate the SLO error: $(cat "$tmp/err")"

# serve from a config file, with a flag overriding it; then SIGTERM
port=$(free_port)
printf 'web:\n  listen_address: 127.0.0.1:1\nstorage:\n  path: %s/data\n' "$tmp" >"$tmp/ok.yml"
"$slod" --config.file "$tmp/ok.yml" --web.listen-address=127.0.0.1:$port >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!; pids+=($pid)
for i in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/-/ready" || true)
  [ "$code" = 200 ] && break
  sleep 0.1
done
[ "$code" = 200 ] || fail "server not ready: $(cat "$tmp/serve.err")"
grep -q "open http://127.0.0.1:$port/ in a browser" "$tmp/serve.out" || fail "banner does not name the SLO page"
grep -q "remote_write" "$tmp/serve.out" || fail "startup banner does not say where to point remote write"
grep -q "http://127.0.0.1:$port/api/v1/write" "$tmp/serve.out" || fail "banner has the wrong URL: $(cat "$tmp/serve.out")"
[ -d "$tmp/data" ] || fail "storage.path from the config file was not used"

# a second server on the same port fails with exit 1
"$slod" --web.listen-address=127.0.0.1:$port --storage.path="$tmp/data2" 2>"$tmp/err2"; rc=$?
[ $rc -eq 1 ] || fail "port in use: exit $rc"

# the same data directory cannot be opened twice; an unusable one fails cleanly
port2=$(free_port)
"$slod" --web.listen-address=127.0.0.1:$port2 --storage.path="$tmp/data" --slo.files=none >/dev/null 2>"$tmp/err3"; rc=$?
[ $rc -eq 1 ] || fail "second server on the same data dir: exit $rc"
grep -q "in use" "$tmp/err3" || fail "no 'in use' message: $(cat "$tmp/err3")"
"$slod" --web.listen-address=127.0.0.1:0 --storage.path=/proc/slod-nope/x >/dev/null 2>"$tmp/err4"; rc=$?
[ $rc -eq 1 ] || fail "unusable storage path: exit $rc"
grep -q "cannot open storage at /proc/slod-nope/x" "$tmp/err4" || fail "storage error message: $(cat "$tmp/err4")"

kill -TERM $pid
for i in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && fail "slod did not exit within 10s of SIGTERM"
wait $pid; rc=$?
[ $rc -eq 0 ] || fail "exit after SIGTERM: $rc"
grep -q "shutdown complete" "$tmp/serve.err" || fail "no shutdown log line"
echo "OK"
