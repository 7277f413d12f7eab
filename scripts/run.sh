#!/usr/bin/env bash
# The demo: installs what is missing, builds slod, and runs it so the SLO page shows real SLOs with
# data within a minute:
#   - slod on 127.0.0.1:9099 with the bundled example SLOs (examples/slos/) plus one on slod's own
#     HTTP API, data in build/demo/ (fresh every run);
#   - where the Debian `prometheus` package is installed (scripts/deps.sh installs it): a Prometheus
#     on a free port that scrapes itself and slod every 5 s and remote-writes everything into slod,
#     plus a tiny loop querying it (so the query-latency SLO has queries to judge);
#   - synthetic traffic for the examples that describe services this machine does not run
#     (checkout, search, batch): a week of history imported at start, then live samples every 15 s,
#     with checkout in an ongoing incident so one alert fires. SLOD_DEMO_SYNTHETIC=0 turns it off.
# Prints the URL to open. Ctrl-C stops everything it started. Extra arguments go to `slod serve`.
# Environment: SLOD_ADDR (default 127.0.0.1:9099), SLOD_DEMO_SYNTHETIC (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"

addr="${SLOD_ADDR:-127.0.0.1:9099}"
url="http://$addr"
demo="$PWD/build/demo"
rm -rf "$demo"
mkdir -p "$demo"

pids=()
cleanup() {
  trap - INT TERM EXIT
  # the newest first: Prometheus stops before slod, so it has nowhere to flush to only briefly
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo stopped"
}
trap cleanup INT TERM EXIT

# slod's own availability, judged from the metrics Prometheus scrapes from slod (job="slod").
cat > "$demo/slod-self.yaml" <<'EOF'
version: "prometheus/v1"
service: "slod"
labels:
  owner: "demo"
slos:
  - name: "http-availability"
    objective: 99.9
    description: "slod's HTTP API answers without 5xx (from slod's own /metrics, scraped by Prometheus)."
    sli:
      events:
        error_query: (sum(rate(slod_http_requests_total{job="slod",code=~"5.."}[{{.window}}])) or vector(0))
        total_query: sum(rate(slod_http_requests_total{job="slod"}[{{.window}}]))
    alerting:
      name: SlodHTTPAvailability
      page_alert:
        labels: {severity: critical}
      ticket_alert:
        labels: {severity: warning}
EOF

./build/slod serve --web.listen-address="$addr" --storage.path="$demo/slod-data" \
  --slo.files=examples/slos --slo.files="$demo/slod-self.yaml" --rules.evaluation-interval=10s "$@" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fs "$url/-/ready" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "slod did not start (is $addr in use? set SLOD_ADDR)" >&2; exit 1; }
  sleep 0.1
done

prom=""
if command -v prometheus >/dev/null; then
  pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat > "$demo/prometheus.yml" <<EOF
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:$pport"]}]
  - job_name: slod
    static_configs: [{targets: ["$addr"]}]
remote_write:
  - url: $url/api/v1/write
    queue_config: {batch_send_deadline: 5s}
EOF
  prometheus --config.file="$demo/prometheus.yml" --storage.tsdb.path="$demo/prometheus-data" \
    --web.listen-address="127.0.0.1:$pport" --storage.remote.flush-deadline=2s --log.level=warn \
    >"$demo/prometheus.log" 2>&1 &
  pids+=($!)
  prom="http://127.0.0.1:$pport"
  # queries for the query-latency SLO to judge
  (while sleep 3; do curl -fs "$prom/api/v1/query?query=up" >/dev/null 2>&1 || true; done) &
  pids+=($!)
fi

if [ "${SLOD_DEMO_SYNTHETIC:-1}" != 0 ]; then
  python3 - "$url" <<'EOF' &
# Synthetic counters for examples/slos' checkout, search and batch SLOs: a week of history, then
# live samples every 15 s. checkout has been failing 30 % of its requests for the last 3 hours.
import sys, time, urllib.request
url = sys.argv[1]
def rates(t, now0):
    incident = t > now0 - 3 * 3600
    ce = 0.3 if incident else 0.001
    return [('http_requests_total{service="checkout",code="200"}', 10 * (1 - ce)),
            ('http_requests_total{service="checkout",code="500"}', 10 * ce),
            ('search_requests_total{outcome="ok"}', 50 * 0.9999), ('search_requests_total{outcome="error"}', 50 * 0.0001),
            ('batch_jobs_total{status="ok"}', 0.2 * 0.97), ('batch_jobs_total{status="failed"}', 0.2 * 0.03)]
def push(body):
    req = urllib.request.Request(url + "/api/v1/import/prometheus", data=body.encode(), method="POST")
    urllib.request.urlopen(req, timeout=60).read()
now0 = time.time()
vals, prev = {}, None
def step(t):
    global prev
    out = []
    for name, r in rates(t, now0):
        vals[name] = vals.get(name, 0) + (r * (t - prev) if prev else 0)
        out.append("%s %.3f %d" % (name, vals[name], int(t * 1000)))
    prev = t
    return out
lines, t = [], now0 - 7 * 86400
while t <= now0:
    lines += step(t)
    t += 60
push("\n".join(lines) + "\n")
# the SLO engine reads past buckets once; a reload makes it count the imported week
urllib.request.urlopen(urllib.request.Request(url + "/-/reload", data=b"", method="POST"), timeout=60).read()
while True:
    time.sleep(15)
    try:
        push("\n".join(step(time.time())) + "\n")
    except Exception as e:
        print("synthetic traffic: %s" % e, file=sys.stderr)
EOF
  pids+=($!)
fi

echo
echo "  slod is running:  open  $url/  in a browser"
echo
echo "  SLOs   examples/slos/ (checkout, search, batch, prometheus) and slod's own http-availability"
if [ -n "$prom" ]; then
  echo "  data   Prometheus $prom scrapes itself and slod every 5 s and remote-writes into slod"
else
  echo "  data   no Prometheus installed (apt-get install prometheus): the prometheus and slod SLOs stay empty"
fi
[ "${SLOD_DEMO_SYNTHETIC:-1}" != 0 ] && echo "         synthetic traffic for checkout, search and batch (SLOD_DEMO_SYNTHETIC=0 turns it off)"
echo "  Grafana  ./build/slod grafana-dashboard -o DIR, import the files, data source: Prometheus at $url"
echo "  Ctrl-C stops it all."
echo
wait "${pids[0]}"
