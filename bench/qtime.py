#!/usr/bin/env python3
"""bench/qtime.py — times PromQL queries against a Prometheus-API server and compares answers.

Used by bench/run_query.sh. Two subcommands:

  qtime.py run --url http://127.0.0.1:PORT --name NAME --queries Q.json --runs N --warm W --out F
      For each query of Q.json (a list of {"id", "type": "instant"|"range", "query", "time"} or
      {..., "start", "end", "step"}), sends W untimed warm-up requests, then N timed ones on one
      keep-alive connection (POST, form-encoded, as Grafana does), and writes F: per query the
      latencies in seconds (request sent -> whole body read; JSON decoding is not timed), the
      HTTP status, and the normalised answer of the last run. With --nocache the requests carry
      nocache=1 (VictoriaMetrics' per-request switch for its rollup result cache; others ignore it).

  qtime.py compare --ref NAME F1.json F2.json ...
      Prints one JSON object: for each query and each system, median and p90 latency (ms) and the
      agreement with the reference system's answer: the largest relative difference over the points
      both returned, and how many series/points only one of them returned.

Normalised answers: {series key: {timestamp: value}}, where the series key is the sorted label pairs
without __name__, and values are floats (NaN kept; "NaN" strings parsed).
"""
import argparse
import http.client
import json
import math
import statistics
import sys
import time
import urllib.parse


def norm(data):
    out = {}
    rt = data.get("resultType")
    res = data.get("result")
    if rt == "scalar":
        return {"{}": {str(float(res[0])): float(res[1])}}
    for s in res or []:
        key = json.dumps(sorted((k, v) for k, v in s["metric"].items() if k != "__name__"))
        pts = s.get("values") or ([s["value"]] if "value" in s else [])
        out[key] = {"%.3f" % float(t): float(v) for t, v in pts}
    return out


def cmd_run(a):
    qs = json.load(open(a.queries))
    u = urllib.parse.urlparse(a.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    out = {"name": a.name, "queries": {}}
    for q in qs:
        if q["type"] == "instant":
            path = "/api/v1/query"
            form = {"query": q["query"], "time": q["time"]}
        else:
            path = "/api/v1/query_range"
            form = {"query": q["query"], "start": q["start"], "end": q["end"], "step": q["step"]}
        if a.nocache:
            form["nocache"] = "1"
        body = urllib.parse.urlencode(form)
        hdr = {"Content-Type": "application/x-www-form-urlencoded"}
        lat, status, raw = [], 0, b""
        for i in range(a.warm + a.runs):
            t0 = time.perf_counter()
            conn.request("POST", path, body, hdr)
            r = conn.getresponse()
            raw = r.read()
            dt = time.perf_counter() - t0
            status = r.status
            if i >= a.warm:
                lat.append(dt)
        entry = {"lat": lat, "status": status}
        try:
            d = json.loads(raw)
            if d.get("status") == "success":
                entry["result"] = norm(d["data"])
            else:
                entry["error"] = str(d.get("error"))[:300]
        except ValueError:
            entry["error"] = raw[:300].decode("utf-8", "replace")
        out["queries"][q["id"]] = entry
        print("[qtime] %s %s: median %.1f ms (%s)" % (a.name, q["id"], statistics.median(lat) * 1e3,
              entry.get("error", "ok")), file=sys.stderr)
    json.dump(out, open(a.out, "w"))


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, math.ceil(p * len(xs)) - 1))
    return xs[k]


def agree(ref, got):
    """Largest relative difference over common points, and points only in one of them."""
    worst, only, common, at = 0.0, 0, 0, None
    for key in set(ref) | set(got):
        a, b = ref.get(key, {}), got.get(key, {})
        for t in set(a) | set(b):
            if t not in a or t not in b:
                only += 1
                continue
            common += 1
            x, y = a[t], b[t]
            if math.isnan(x) and math.isnan(y):
                continue
            if math.isnan(x) or math.isnan(y) or math.isinf(x) or math.isinf(y):
                if x != y:
                    worst, at = math.inf, (key, t, x, y)
                continue
            d = abs(x - y) / max(abs(x), abs(y), 1e-300)
            if d > worst:
                worst, at = d, (key, t, x, y)
    return {"maxRelDiff": worst, "common": common, "onlyOne": only, "worst": at}


def cmd_compare(a):
    runs = [json.load(open(f)) for f in a.files]
    by = {r["name"]: r for r in runs}
    ref = by.get(a.ref)
    out = {}
    for r in runs:
        for qid, e in r["queries"].items():
            o = out.setdefault(qid, {})
            o[r["name"]] = {
                "median_ms": statistics.median(e["lat"]) * 1e3,
                "p90_ms": pct(e["lat"], 0.9) * 1e3,
                "runs": len(e["lat"]),
                "error": e.get("error"),
                "points": sum(len(v) for v in e.get("result", {}).values()),
            }
            if ref and r is not ref and "result" in e and "result" in ref["queries"].get(qid, {}):
                o[r["name"]]["vsRef"] = agree(ref["queries"][qid]["result"], e["result"])
    json.dump(out, sys.stdout, indent=1)
    print()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--url", required=True)
    r.add_argument("--name", required=True)
    r.add_argument("--queries", required=True)
    r.add_argument("--runs", type=int, default=10)
    r.add_argument("--warm", type=int, default=2)
    r.add_argument("--nocache", action="store_true")
    r.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--ref", default="prometheus")
    c.add_argument("files", nargs="+")
    a = p.parse_args()
    cmd_run(a) if a.cmd == "run" else cmd_compare(a)


if __name__ == "__main__":
    main()
