#!/usr/bin/env python3
"""integration.slo_ext — the real slod serving SLOs that use slod's extensions (docs/slo.md).

Spec (written to a temp dir): `shop-jobs`, an increase() SLI with a calendar month period (UTC),
min_events 100 and a page `for: 1m`; `shop-latency`, a latency SLI from a classic histogram
(threshold 0.3 s). Two hours of samples ending one bucket ago are imported with timestamps
(samples every 60 s on 5-minute boundaries, counters linear, so each 5-minute bucket holds exactly
300 s of increase). Checked, with numbers computed here:
  - /api/v1/slos: calendar "month", timezone "UTC", periodStart = the 1st of this month 00:00 UTC,
    minEvents 100 (null for the latency SLO), periodSeconds the rolling equivalent 30d;
  - jobs: totalEvents = 1 job/s x the imported buckets that lie after periodStart, errorEvents 2 %;
  - latency: count grows 2/s, the le="0.3" bucket 1.9/s: errors = total - good = 0.1/s, ratio 0.05;
  - /api/v1/rules: the page alert has duration 60 (for: 1m) and the min-events condition.
usage: test_slo_ext.py SLOD_BINARY
"""
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402

B = 300
SPEC = """version: prometheus/v1
service: shop
slos:
  - name: jobs
    objective: 95
    sli:
      events:
        error_query: sum(increase(shop_jobs_total{status="failed"}[{{.window}}]))
        total_query: sum(increase(shop_jobs_total[{{.window}}]))
    alerting:
      name: ShopJobs
    slod:
      period: {calendar: month, timezone: UTC}
      min_events: 100
      page: {for: 1m}
  - name: latency
    objective: 99
    alerting:
      name: ShopLatency
    slod:
      latency: {histogram: shop_request_duration_seconds, threshold: 0.3, selector: '{job="shop"}'}
"""


def close(got, want, rel, what):
    assert got is not None, "%s is null (want %r)" % (what, want)
    assert abs(got - want) <= rel * max(abs(want), 1e-12), "%s = %r, want %r" % (what, got, want)


def main():
    slod = sys.argv[1]
    with st.ProcGroup("slo_ext") as g:
        specs = os.path.join(g.dir, "slos")
        os.makedirs(specs)
        with open(os.path.join(specs, "shop.yaml"), "w") as f:
            f.write(SPEC)
        port = st.free_port()
        sp = st.start_slod(g, slod, port, os.path.join(g.dir, "data"), "--slo.files=" + specs,
                           "--rules.evaluation-interval=1s")
        st.wait_ready(port, proc=sp)
        S = "http://127.0.0.1:%d" % port

        def slo(sid):
            for x in st.get_json(S + "/api/v1/slos")["data"]["slos"]:
                if x["id"] == sid:
                    return x
            raise AssertionError("no SLO %s" % sid)
        st.wait_for(lambda: slo("shop-jobs")["evaluatedAt"] > 0, 30, "the first evaluation")

        now = int(time.time())
        t_end = now // B * B - B
        t_start = t_end - 7200
        lines = []
        for t in range(t_start, t_end + 1, 60):
            x = t - t_start
            lines.append('shop_jobs_total{status="ok"} %.6f %d' % (1e5 + 0.98 * x, t * 1000))
            lines.append('shop_jobs_total{status="failed"} %.6f %d' % (1e3 + 0.02 * x, t * 1000))
            lines.append('shop_request_duration_seconds_count{job="shop"} %.6f %d' % (5e4 + 2.0 * x, t * 1000))
            lines.append('shop_request_duration_seconds_bucket{job="shop",le="0.3"} %.6f %d' % (4e4 + 1.9 * x, t * 1000))
            lines.append('shop_request_duration_seconds_bucket{job="shop",le="+Inf"} %.6f %d' % (5e4 + 2.0 * x, t * 1000))
        status, body = st.http("POST", S + "/api/v1/import/prometheus", ("\n".join(lines) + "\n").encode(), timeout=60)
        assert status == 204, (status, body[:300])

        month = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).replace(day=1, hour=0, minute=0, second=0,
                                                                                    microsecond=0)
        p_start = int(month.timestamp())
        # buckets ((k-1)B, kB] with samples on both sides inside the import, after the month began
        buckets = [k for k in range(t_start // B + 1, t_end // B + 1) if (k - 1) * B >= p_start]
        want_tot = len(buckets) * B * 1.0

        def counted():
            j, lat = slo("shop-jobs"), slo("shop-latency")
            if j["periodWindow"]["totalEvents"] is None or lat["periodWindow"]["totalEvents"] is None:
                return None
            if abs(j["periodWindow"]["totalEvents"] - want_tot) > 1e-6:
                return None
            return j, lat
        j, lat = st.wait_for(counted, 30, "the imported counters in the exact budgets")
        assert j["calendar"] == "month" and j["timezone"] == "UTC", (j["calendar"], j["timezone"])
        close(j["periodStart"], p_start, 0, "periodStart")
        assert j["minEvents"] == 100 and lat["minEvents"] is None, (j["minEvents"], lat["minEvents"])
        assert j["periodSeconds"] == 30 * 86400 and lat["calendar"] is None and lat["periodStart"] is None
        if want_tot:
            close(j["periodWindow"]["errorEvents"], want_tot * 0.02, 1e-9, "jobs errorEvents")
            close(j["periodWindow"]["exactErrorRatio"], 0.02, 1e-9, "jobs exactErrorRatio")
            close(j["errorBudget"]["remaining"], 0.6, 1e-9, "jobs budget remaining")
        print("jobs: month from %d, %d buckets, %.0f events" % (p_start, len(buckets), want_tot))
        lat_buckets = t_end // B - t_start // B
        pl = lat["periodWindow"]
        close(pl["totalEvents"], lat_buckets * B * 2.0, 1e-9, "latency totalEvents")
        close(pl["errorEvents"], lat_buckets * B * 0.1, 1e-9, "latency errorEvents")
        close(pl["exactErrorRatio"], 0.05, 1e-9, "latency exactErrorRatio")
        assert lat["sli"]["kind"] == "events" and 'le="0.3"' in lat["sli"]["errorQuery"], lat["sli"]
        print("latency: %.0f events, ratio %.4f" % (pl["totalEvents"], pl["exactErrorRatio"]))

        rules = st.get_json(S + "/api/v1/rules", {"type": "alert"})["data"]["groups"]
        page = [r for grp in rules for r in grp["rules"]
                if r["name"] == "ShopJobs" and r["labels"].get("sloth_severity") == "page"]
        assert len(page) == 1, page
        assert page[0]["duration"] == 60, page[0]
        assert "and on()" in page[0]["query"] and ">= 100" in page[0]["query"], page[0]["query"]
        st.stop_clean(g, sp)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
