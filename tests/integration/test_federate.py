#!/usr/bin/env python3
"""integration.federate — a real Prometheus scrapes slod's /federate (honor_labels) and ends up with
exactly the series and values slod holds: label escaping, tiny and large values and the original
sample timestamps survive the text format.
usage: test_federate.py SLOD_BINARY [PROMETHEUS_BINARY]
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402


def main():
    slod = sys.argv[1]
    prom = sys.argv[2] if len(sys.argv) > 2 else "/usr/bin/prometheus"
    if not os.path.exists(prom):
        print("SKIP: no prometheus binary at", prom)
        return 0
    with st.ProcGroup("federate") as g:
        ps, pp = st.free_port(), st.free_port()
        sp = st.start_slod(g, slod, ps, os.path.join(g.dir, "slod-data"), "--slo.files=none")
        st.wait_ready(ps, proc=sp)
        S = "http://127.0.0.1:%d" % ps
        t = int(time.time() * 1000) - 1000
        body = ('fed_probe{kind="plain"} 42 %d\n'
                'fed_probe{kind="quote\\"and\\\\backslash"} 1e-09 %d\n'
                'fed_probe{kind="big"} 1.5e+300 %d\n'
                'fed_other 7 %d\n') % (t, t, t, t)
        status, resp = st.http("POST", S + "/api/v1/import/prometheus", body.encode())
        assert status == 204, resp
        cfg = os.path.join(g.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: slod-federate
    honor_labels: true
    metrics_path: /federate
    params: {'match[]': ['{__name__="fed_probe"}']}
    static_configs: [{targets: ['127.0.0.1:%d']}]
""" % ps)
        g.spawn([prom, "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(g.dir, "prom-data"),
                 "--web.listen-address=127.0.0.1:%d" % pp, "--log.level=warn"], "prometheus")
        P = "http://127.0.0.1:%d" % pp

        def scraped():
            r = st.get_json(P + "/api/v1/query", {"query": "fed_probe", "time": "%.3f" % (t / 1000)})["data"]["result"]
            return r if len(r) == 3 else None
        got = st.wait_for(scraped, 40, "Prometheus to scrape slod's /federate")
        values = {x["metric"]["kind"]: (x["metric"]["job"], float(x["value"][1])) for x in got}
        assert values == {"plain": ("slod-federate", 42.0), 'quote"and\\backslash': ("slod-federate", 1e-09),
                          "big": ("slod-federate", 1.5e300)}, values
        raw = st.get_json(P + "/api/v1/query", {"query": 'fed_probe{kind="plain"}[1m]',
                                                 "time": "%.3f" % (t / 1000 + 30)})["data"]["result"][0]["values"]
        assert raw and all(int(round(float(ts) * 1000)) == t for ts, _ in raw), raw  # original timestamp kept
        up = st.get_json(P + "/api/v1/query", {"query": 'up{job="slod-federate"}'})["data"]["result"]
        assert up and up[0]["value"][1] == "1", up
        other = st.get_json(P + "/api/v1/query", {"query": "fed_other", "time": "%.3f" % (t / 1000)})["data"]["result"]
        assert other == [], other  # not selected by match[]
        print("Prometheus federated %d series from slod with exact values and timestamps" % len(got))
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
