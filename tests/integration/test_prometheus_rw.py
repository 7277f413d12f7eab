#!/usr/bin/env python3
"""integration.prometheus_remote_write — a real Prometheus scrapes itself and slod every second and
remote-writes everything into slod. After data has flowed, slod must hold the same series and the
same raw samples as Prometheus's own TSDB:

  * series: every series Prometheus had a few seconds ago (remote write lags slightly) is in
    slod's /api/v1/series, and every series slod has is known to Prometheus;
  * labels and label values (/api/v1/labels, /api/v1/label/job/values) agree;
  * raw samples of a few metrics over a closed window (Prometheus: a range selector via
    /api/v1/query; slod: /api/v1/export) are identical, timestamps and values;
  * slod's /metrics, scraped by Prometheus, arrived back in slod (slod_http_requests_total).
usage: test_prometheus_rw.py SLOD_BINARY [PROMETHEUS_BINARY]
"""
import os
import subprocess  # noqa: F401 (used through slodtest)
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402


def series_set(data):
    return {tuple(sorted(s.items())) for s in data}


def main():
    slod = sys.argv[1]
    prom = sys.argv[2] if len(sys.argv) > 2 else "/usr/bin/prometheus"
    if not os.path.exists(prom):
        print("SKIP: no prometheus binary at", prom)
        return 0
    with st.ProcGroup("promrw") as g:
        ps, pp = st.free_port(), st.free_port()
        sp = st.start_slod(g, slod, ps, os.path.join(g.dir, "slod-data"), "--storage.wal-fsync=never")
        st.wait_ready(ps, proc=sp)
        cfg = os.path.join(g.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:%d']}]
  - job_name: slod
    static_configs: [{targets: ['127.0.0.1:%d']}]
remote_write:
  - url: http://127.0.0.1:%d/api/v1/write
    queue_config: {batch_send_deadline: 1s, max_shards: 2, min_backoff: 100ms, max_backoff: 1s}
""" % (pp, ps, ps))
        pr = g.spawn([prom, "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(g.dir, "prom-data"),
                      "--web.listen-address=127.0.0.1:%d" % pp, "--log.level=warn"], "prometheus")
        P = "http://127.0.0.1:%d" % pp
        S = "http://127.0.0.1:%d" % ps

        def slod_has_up():
            d = st.get_json(S + "/api/v1/series", {"match[]": "up"})["data"]
            return len(d) == 2
        st.wait_for(slod_has_up, 40, "up series of both jobs in slod")
        time.sleep(10)  # ~10 scrapes flow through

        # --- series: P(then) ⊆ S(now) ⊆ P(now)
        sel = {"match[]": ['{job="prometheus"}', '{job="slod"}']}
        p_then = series_set(st.get_json(P + "/api/v1/series", sel)["data"])
        time.sleep(4)
        s_now = series_set(st.get_json(S + "/api/v1/series", sel)["data"])
        p_now = series_set(st.get_json(P + "/api/v1/series", sel)["data"])
        missing = p_then - s_now
        extra = s_now - p_now
        assert not missing, "series in Prometheus but not in slod: %s" % sorted(missing)[:5]
        assert not extra, "series in slod unknown to Prometheus: %s" % sorted(extra)[:5]
        assert len(s_now) > 100, "suspiciously few series: %d" % len(s_now)
        print("series: slod has %d, Prometheus %d (then %d)" % (len(s_now), len(p_now), len(p_then)))

        # --- labels and values
        p_labels = set(st.get_json(P + "/api/v1/labels", sel)["data"])
        s_labels = set(st.get_json(S + "/api/v1/labels", sel)["data"])
        assert s_labels <= p_labels and len(p_labels - s_labels) <= 0, (p_labels ^ s_labels)
        s_jobs = st.get_json(S + "/api/v1/label/job/values")["data"]
        assert s_jobs == ["prometheus", "slod"], s_jobs
        s_names = set(st.get_json(S + "/api/v1/label/__name__/values", {"match[]": '{job="slod"}'})["data"])
        for want in ("up", "slod_http_requests_total", "slod_tsdb_series", "scrape_duration_seconds"):
            assert want in s_names, "%s missing from slod's own metrics: %s" % (want, sorted(s_names)[:20])

        # --- raw samples over a closed window ending 5 s ago
        t_end = time.time() - 5
        t_end = round(t_end, 3)
        window = 8
        for metric in ('up{job="prometheus"}', 'up{job="slod"}', 'prometheus_tsdb_head_series',
                       'slod_tsdb_series', 'scrape_samples_scraped{job="slod"}'):
            pq = st.get_json(P + "/api/v1/query", {"query": "%s[%ds]" % (metric, window), "time": "%.3f" % t_end})
            assert pq["data"]["resultType"] == "matrix", pq
            p_samples = {}
            for r in pq["data"]["result"]:
                key = tuple(sorted(r["metric"].items()))
                p_samples[key] = [(int(round(float(t) * 1000)), float(v)) for t, v in r["values"]]
            lo = int(t_end * 1000) - window * 1000
            hi = int(t_end * 1000)
            status, body = st.http("GET", S + "/api/v1/export?" + st.urllib.parse.urlencode(
                {"match[]": metric, "start": "%.3f" % (lo / 1000), "end": "%.3f" % (hi / 1000)}))
            assert status == 200, body
            s_samples = {}
            for line in body.decode().splitlines():
                o = st.json.loads(line)
                key = tuple(sorted(o["metric"].items()))
                s_samples[key] = [(t, float(v)) for t, v in zip(o["timestamps"], o["values"])
                                  if lo < t <= hi]
            for k in p_samples:
                p_samples[k] = [x for x in p_samples[k] if lo < x[0] <= hi]
            assert p_samples, "Prometheus returned nothing for " + metric
            assert set(p_samples) == set(s_samples), (metric, set(p_samples) ^ set(s_samples))
            for k in p_samples:
                assert p_samples[k] == s_samples[k], "samples differ for %s:\nprom %s\nslod %s" % (
                    k, p_samples[k], s_samples[k])
                assert len(p_samples[k]) >= window - 2, "too few samples for %s: %d" % (k, len(p_samples[k]))
            print("samples equal for %s (%d series)" % (metric, len(p_samples)))

        # --- PromQL: the same instant queries give the same answers (Prometheus 2.42 closes range
        # windows on the left, slod follows 3.x and opens them: pick an evaluation time with no
        # raw sample exactly on a window's left edge)
        rate_metric = 'prometheus_tsdb_head_samples_appended_total'
        status, body = st.http("GET", S + "/api/v1/export?" + st.urllib.parse.urlencode({"match[]": rate_metric}))
        edges = set()
        for line in body.decode().splitlines():
            edges.update(st.json.loads(line)["timestamps"])
        # rate() of a young counter differs between Prometheus 2.42 and 3.x (3.x applies the
        # zero-point limit after the extrapolation threshold, 2.42 before): let the 10s window start
        # well after the counter's first sample
        first = min(edges)
        while int(t_end * 1000) - 10000 <= first + 3000:
            time.sleep(0.5)
            t_end = round(time.time() - 5, 3)
            status, body = st.http("GET", S + "/api/v1/export?" + st.urllib.parse.urlencode({"match[]": rate_metric}))
            for line in body.decode().splitlines():
                edges.update(st.json.loads(line)["timestamps"])
        t_ms = int(t_end * 1000)
        while (t_ms - 10000) in edges or t_ms in edges:
            t_ms += 1
        # remote-write lags behind Prometheus's own head (more so on a loaded CI machine): wait until
        # slod holds every raw sample Prometheus has in the windows the queries read
        def raw(base, q):
            res = st.get_json(base + "/api/v1/query", {"query": q, "time": "%.3f" % (t_ms / 1000)})["data"]
            return sorted((tuple(sorted(x["metric"].items())), tuple(tuple(v) for v in x["values"]))
                          for x in res["result"])
        deadline = time.time() + 20
        for q in ('%s[10s]' % rate_metric, 'scrape_duration_seconds[7s]', '{__name__=~"up|scrape_.*"}[10s]'):
            while raw(P, q) != raw(S, q) and time.time() < deadline:
                time.sleep(0.5)
        for q in ('up', 'sum by (job) (up)', 'scrape_samples_scraped', 'count by (job) ({__name__=~"up|scrape_.*"})',
                  'rate(%s[10s])' % rate_metric, 'max_over_time(scrape_duration_seconds[7s])'):
            params = {"query": q, "time": "%.3f" % (t_ms / 1000)}
            pr_res = st.get_json(P + "/api/v1/query", params)["data"]
            sl_res = st.get_json(S + "/api/v1/query", params)["data"]
            assert pr_res["resultType"] == sl_res["resultType"], (q, pr_res, sl_res)

            def norm(res):
                return sorted((tuple(sorted(x["metric"].items())), x["value"][0], float(x["value"][1]))
                              for x in res["result"])
            a, b = norm(pr_res), norm(sl_res)
            assert len(a) == len(b) and len(a) > 0, (q, a, b)
            for x, y in zip(a, b):
                assert x[0] == y[0] and abs(x[1] - y[1]) < 1e-9, (q, x, y)
                assert x[2] == y[2] or abs(x[2] - y[2]) <= 1e-12 * max(1.0, abs(x[2])), (q, x, y)
            print("query equal: %s (%d series)" % (q, len(a)))

        # --- promtool's query commands work against slod as against Prometheus
        promtool = os.path.join(os.path.dirname(prom), "promtool")
        if os.path.exists(promtool):
            def pt(base, *args):
                out = st.subprocess.run([promtool, "query"] + list(args[:1]) + [base] + list(args[1:]),
                                        capture_output=True, text=True, timeout=30)
                assert out.returncode == 0, (args, out.stderr)
                return out.stdout
            assert pt(S, "series", "--match=up") == pt(P, "series", "--match=up")
            assert pt(S, "labels", "job") == pt(P, "labels", "job") == "prometheus\nslod\n"
            inst = pt(S, "instant", "--time=%.3f" % (t_ms / 1000), "sum by (job) (up)")
            assert inst == pt(P, "instant", "--time=%.3f" % (t_ms / 1000), "sum by (job) (up)"), inst
            print("promtool query series/labels/instant agree")

        # --- slod stays healthy; its own counters reflect the traffic
        m = st.http("GET", S + "/metrics")[1].decode()
        assert 'slod_http_requests_total{code="204",handler="/api/v1/write"}' in m, m[:2000]
        assert sp.poll() is None and pr.poll() is None, "a process died"
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
