#!/usr/bin/env python3
"""integration.oracle — a real Prometheus is the oracle for slod's SLO window ratios and burn rates.

Same data, same rules, two engines:
  * a deterministic 3.3-day script of three request counters (codes 200/500/503: varying rates, an
    error burst in the last hour, a counter reset, scrape jitter, timestamps off whole seconds) is
    written once as OpenMetrics and once as Prometheus text;
  * Prometheus 2.42 gets it through `promtool tsdb create-blocks-from openmetrics` (blocks in its
    --storage.tsdb.path) and slod through /api/v1/import/prometheus; the raw samples are checked to
    be identical on both sides first;
  * Prometheus evaluates, every second, the rule file that `slod generate` exports for the SLO;
    slod evaluates the same SLO (its own rules plus its fast path for the long windows).
Comparison at identical timestamps (no racing of the two schedulers):
  * every sample Prometheus recorded for slo:sli_error:ratio_rate<w> (w = 5m ... 3d) at its
    evaluation time T is compared with slod evaluating the rule's expression at T
    (/api/v1/query?time=T);
  * every sample slod recorded for the same series at its time T' is compared with Prometheus
    evaluating the expression at T';
  * /api/v1/slos: each window's errorRatio is slod's newest recorded sample at evaluatedAt, and it
    and burnRate (= ratio / (1 - objective)) agree with Prometheus's evaluation at that sample's time.
Relative error must be <= 1e-9 everywhere; the worst one is printed. Timestamps T where a window
edge T - w falls exactly on a sample are skipped (Prometheus 2.42 windows are left-closed, slod's
are left-open like Prometheus 3's) and counted; samples also stay off whole minutes (bucket edges).
The exact period budget (errorEvents, totalEvents, exactErrorRatio, its burn rate and the budget
consumed) is compared with Prometheus summing the same 5-minute buckets through a subquery. Sloth's
period ratio (slothErrorRatio) is not compared: it is an average of each engine's own 5m
recordings, which depends on when each ran.
usage: test_oracle.py SLOD_BINARY [PROMETHEUS_BINARY [PROMTOOL_BINARY]]
"""
import datetime
import math
import os
import random
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402

OBJECTIVE = 99.5
SPEC = """version: "prometheus/v1"
service: "oracle"
labels:
  team: "it"
slos:
  - name: "availability"
    objective: %s
    sli:
      events:
        error_query: sum(rate(oracle_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(oracle_requests_total[{{.window}}]))
    alerting:
      name: OracleAvailability
      page_alert:
        labels: {severity: page}
      ticket_alert:
        labels: {severity: ticket}
""" % OBJECTIVE
SID = "oracle-availability"
WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
WIN_MS = {"5m": 300000, "30m": 1800000, "1h": 3600000, "2h": 7200000, "6h": 21600000, "1d": 86400000,
          "3d": 259200000}
TOL = 1e-9


def om_ts(ms):
    return "%d.%03d" % (ms // 1000, ms % 1000)


def make_data(end_ms):
    """Returns {code: [(ms, value)]}: counters on shared, jittered scrape timestamps."""
    rnd = random.Random(20261129)
    start = end_ms - int(3.3 * 86400 * 1000)
    stamps = []
    k = 0
    while True:
        t = start + k * 30000 + 137 + rnd.randint(-2000, 2000)
        if t > end_ms:
            break
        # promtool reads OpenMetrics timestamps as float seconds and truncates ms: keep only
        # timestamps that survive that exactly
        while int(float(om_ts(t)) * 1000) != t or t % 60000 == 0:  # ... and stay off bucket edges
            t += 1
        if not stamps or t > stamps[-1]:
            stamps.append(t)
        k += 1
    series = {"200": [], "500": [], "503": []}
    vals = {"200": 0, "500": 0, "503": 0}
    reset_at = end_ms - 3 * 3600 * 1000
    reset_done = False
    prev = stamps[0]
    for t in stamps:
        dt = (t - prev) / 1000.0
        prev = t
        h = (t - start) / 3600000.0
        rates = {"200": 20 + 10 * math.sin(h / 5.0), "500": 0.05 + 0.04 * math.sin(h / 3.0), "503": 0.02}
        if end_ms - 40 * 60000 < t < end_ms - 25 * 60000:
            rates["500"] = 4.0  # an error burst: 5m/30m/1h ratios differ a lot
        for c in vals:
            vals[c] += int(round(rates[c] * dt + rnd.random()))
        if not reset_done and t >= reset_at:
            vals["503"] = 1  # process restart: the counter starts over
            reset_done = True
        for c in vals:
            series[c].append((t, vals[c]))
    return series


def rel_err(a, b):
    if a is None or b is None:
        return 0.0 if a is b else float("inf")
    if math.isnan(a) and math.isnan(b):
        return 0.0
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def rfc3339_ms(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (ms % 1000)


def instant(base, query, ms):
    d = st.get_json(base + "/api/v1/query", {"query": query, "time": rfc3339_ms(ms)})["data"]
    assert d["resultType"] == "vector", d
    if not d["result"]:
        return None
    assert len(d["result"]) == 1, d
    t, v = d["result"][0]["value"]
    assert round(float(t) * 1000) == ms, ("evaluated at the wrong time", t, ms)
    return float(v)


def recorded(base, name, now_ms, back="40s"):
    d = st.get_json(base + "/api/v1/query", {"query": '%s{sloth_id="%s"}[%s]' % (name, SID, back),
                                            "time": rfc3339_ms(now_ms)})["data"]
    assert d["resultType"] == "matrix" and len(d["result"]) == 1, d
    return [(round(float(t) * 1000), float(v)) for t, v in d["result"][0]["values"]]


def recording_exprs(text, prefix):
    """{suffix: expr} of the recording rules named prefix<suffix> in a rule file as `slod generate`
    writes it (block style; expr either plain on one line or a `|` block). No YAML module needed."""
    out = {}
    lines = text.split("\n")
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)- record: (\S+)$", line)
        if not m or not m.group(2).startswith(prefix):
            continue
        ind = len(m.group(1)) + 2
        for j in range(i + 1, len(lines)):
            e = re.match(r"^ {%d}expr: ?(.*)$" % ind, lines[j])
            if not e:
                continue
            if e.group(1) == "|":
                body = []
                for k in range(j + 1, len(lines)):
                    if lines[k].strip() and len(lines[k]) - len(lines[k].lstrip()) <= ind:
                        break
                    body.append(lines[k].strip())
                out[m.group(2)[len(prefix):]] = "\n".join(body).strip()
            else:
                out[m.group(2)[len(prefix):]] = e.group(1)
            break
    return out


def main():
    slod = sys.argv[1]
    prom = sys.argv[2] if len(sys.argv) > 2 else "/usr/bin/prometheus"
    promtool = sys.argv[3] if len(sys.argv) > 3 else "/usr/bin/promtool"
    if not (os.path.exists(prom) and os.path.exists(promtool)):
        print("SKIP: no prometheus/promtool")
        return 0
    with st.ProcGroup("oracle") as g:
        spec = os.path.join(g.dir, "oracle.yaml")
        with open(spec, "w") as f:
            f.write(SPEC)
        rules = os.path.join(g.dir, "rules.yml")
        subprocess.run([slod, "generate", "-i", spec, "-o", rules], check=True)
        exprs = recording_exprs(open(rules).read(), "slo:sli_error:ratio_rate")
        assert all(w in exprs for w in WINDOWS), sorted(exprs)

        end_ms = int(time.time() * 1000) - 3000
        data = make_data(end_ms)
        all_stamps = sorted({t for pts in data.values() for t, _ in pts})
        stamp_set = set(all_stamps)
        om = os.path.join(g.dir, "data.om")
        with open(om, "w") as f:
            f.write("# TYPE oracle_requests counter\n")
            for c, pts in data.items():
                for t, v in pts:
                    f.write('oracle_requests_total{code="%s"} %d %s\n' % (c, v, om_ts(t)))
            f.write("# EOF\n")
        pdata = os.path.join(g.dir, "prom-data")
        subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", om, pdata], check=True,
                       stdout=subprocess.DEVNULL)

        # --- slod: import the same samples, evaluate the SLO
        ps = st.free_port()
        sp = st.start_slod(g, slod, ps, os.path.join(g.dir, "slod-data"), "--slo.files=" + spec,
                           "--rules.evaluation-interval=1s", "--storage.wal-fsync=never")
        st.wait_ready(ps, proc=sp)
        S = "http://127.0.0.1:%d" % ps
        lines = ['oracle_requests_total{code="%s"} %d %d' % (c, v, t) for c, pts in data.items() for t, v in pts]
        status, body = st.http("POST", S + "/api/v1/import/prometheus", ("\n".join(lines) + "\n").encode(),
                               timeout=60)
        assert status == 204, body
        imported_ms = int(time.time() * 1000)  # recordings before this may have seen part of the data

        # --- Prometheus: the blocks plus the exported rules, evaluated every second
        pp = st.free_port()
        cfg = os.path.join(g.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  evaluation_interval: 1s\nrule_files:\n  - %s\n" % rules)
        pr = g.spawn([prom, "--config.file=" + cfg, "--storage.tsdb.path=" + pdata,
                      "--web.listen-address=127.0.0.1:%d" % pp, "--log.level=warn"], "prometheus")
        P = "http://127.0.0.1:%d" % pp
        st.wait_for(lambda: pr.poll() is None and st.http("GET", P + "/-/ready", timeout=2)[0] == 200, 60,
                    "Prometheus to be ready")

        # --- the raw samples are identical on both sides
        for c, pts in data.items():
            q = {"query": 'oracle_requests_total{code="%s"}[4d]' % c, "time": rfc3339_ms(end_ms + 1)}
            want = [(t, float(v)) for t, v in pts]
            for name, base in (("slod", S), ("Prometheus", P)):
                r = st.get_json(base + "/api/v1/query", q)["data"]["result"]
                got = [(round(float(t) * 1000), float(v)) for t, v in r[0]["values"]] if r else []
                assert got == want, "%s holds other samples for code %s (%d vs %d)" % (name, c, len(got),
                                                                                      len(want))
        print("raw data: %d samples per series, identical in slod and Prometheus" % len(all_stamps))

        def both_recorded():
            now = int(time.time() * 1000)
            return all(len([x for x in recorded(b, "slo:sli_error:ratio_rate" + w, now) if x[0] > imported_ms]) >= 6
                       for b in (S, P) for w in ("5m", "3d"))
        st.wait_for(both_recorded, 40, "both engines to record the SLO windows for a few evaluations", interval=1)

        worst = (0.0, "")
        compared = skipped = 0

        def check(what, w, t, a, b):
            nonlocal worst, compared
            e = rel_err(a, b)
            compared += 1
            if e > worst[0]:
                worst = (e, "%s %s at %d: %r vs %r" % (what, w, t, a, b))
            assert e <= TOL, "%s window %s at %s (%d): %r vs %r, relative error %g" % (
                what, w, rfc3339_ms(t), t, a, b, e)

        def on_edge(w, t):
            return (t - WIN_MS[w]) in stamp_set

        now = int(time.time() * 1000)
        rec = {}
        for w in WINDOWS:
            name = "slo:sli_error:ratio_rate" + w
            p_rec = recorded(P, name, now)
            s_rec = [x for x in recorded(S, name, now) if x[0] > imported_ms]
            rec[w] = s_rec
            assert len(p_rec) >= 5 and len(s_rec) >= 5, (w, len(p_rec), len(s_rec))
            for t, v in p_rec:  # Prometheus's recordings vs slod's engine at the same instant
                if on_edge(w, t):
                    skipped += 1
                    continue
                check("prometheus-recorded/slod-evaluated", w, t, v, instant(S, exprs[w], t))
            for t, v in s_rec:  # slod's recordings vs Prometheus's engine at the same instant
                if on_edge(w, t):
                    skipped += 1
                    continue
                check("slod-recorded/prometheus-evaluated", w, t, v, instant(P, exprs[w], t))
        # the windows differ (burst, reset): otherwise this would compare one number many times
        vals = {w: rec[w][-1][1] for w in WINDOWS}
        assert len({round(v, 12) for v in vals.values()}) == len(WINDOWS), vals
        assert vals["5m"] < vals["30m"] and vals["30m"] > vals["3d"], vals

        # --- /api/v1/slos: the served numbers are the recorded ones, and agree with Prometheus
        budget = (100 - OBJECTIVE) / 100
        d = st.get_json(S + "/api/v1/slos/" + SID)["data"]
        ev = round(d["evaluatedAt"] * 1000)
        assert abs(d["errorBudget"]["ratio"] - budget) < 1e-15, d["errorBudget"]
        later = int(time.time() * 1000) + 1
        for win in d["windows"]:
            w = win["window"]
            if w not in WINDOWS:
                continue
            s_rec = [x for x in recorded(S, "slo:sli_error:ratio_rate" + w, later, "5m") if x[0] <= ev]
            t, v = s_rec[-1]
            assert ev - t <= 5 * 60 * 1000, (w, ev, t)
            assert win["errorRatio"] == v, ("/api/v1/slos is not the recorded value", w, win, v)
            if on_edge(w, t):
                skipped += 1
                continue
            pv = instant(P, exprs[w], t)
            check("api/v1/slos errorRatio", w, t, win["errorRatio"], pv)
            check("api/v1/slos burnRate", w, t, win["burnRate"], pv / budget)
        # --- the exact period budget: errors / total over 5-minute buckets ((k-1)B, kB] of the period
        # ending at the newest bucket that ended a minute (bucket_delay) before the evaluation;
        # Prometheus computes the same sums with a subquery aligned to the same 5-minute grid
        def fresh_slo():
            d = st.get_json(S + "/api/v1/slos/" + SID)["data"]
            lag = (round(d["evaluatedAt"] * 1000) - 60000) % 300000
            return d if 3000 < lag < 297000 else None  # not right at a bucket change
        d = st.wait_for(fresh_slo, 10, "an SLO evaluation away from a bucket boundary")
        pw = d["periodWindow"]
        tb = (round(d["evaluatedAt"] * 1000) - 60000) // 300000 * 300000
        err_q = exprs["5m"].split("/")[0].strip()
        tot_q = exprs["5m"].split("/")[1].strip()
        assert "5.." in err_q and "5.." not in tot_q, exprs["5m"]
        p_err = instant(P, "sum_over_time((%s)[30d:5m]) * 300" % err_q, tb)
        p_tot = instant(P, "sum_over_time((%s)[30d:5m]) * 300" % tot_q, tb)
        check("periodWindow errorEvents", "30d", tb, pw["errorEvents"], p_err)
        check("periodWindow totalEvents", "30d", tb, pw["totalEvents"], p_tot)
        check("periodWindow exactErrorRatio", "30d", tb, pw["exactErrorRatio"], p_err / p_tot)
        if pw["method"] == "exact":
            check("periodWindow burnRate", "30d", tb, pw["burnRate"], p_err / p_tot / budget)
            check("errorBudget consumed", "30d", tb, d["errorBudget"]["consumed"], p_err / p_tot / budget)
        print("exact period (30d, %d-bucket ring): %.0f errors / %.0f requests = %.6g, as Prometheus sums them"
              % (30 * 288, pw["errorEvents"], pw["totalEvents"], pw["exactErrorRatio"]))
        print("compared %d values at identical timestamps (%d skipped on window edges): worst relative "
              "error %.3g (%s)" % (compared, skipped, worst[0], worst[1] or "all exact"))
        print("window ratios at the last evaluation: " +
              ", ".join("%s=%.6g" % (w, vals[w]) for w in WINDOWS))
        st.stop_clean(g, sp)
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
