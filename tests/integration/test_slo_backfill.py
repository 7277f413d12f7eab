#!/usr/bin/env python3
"""integration.slo_backfill — data imported into the past after slod started is counted.

slod starts with the example SLOs (examples/slos) and an empty store, evaluates them once (empty
exact-budget rings), then a week of counters ending one bucket ago is imported with timestamps
(POST /api/v1/import/prometheus, one request per day). Without a reload, within a few 1-second
cycles:
  - search-availability (rate() SLI): totalEvents = 2016 buckets x 300 s x 10 req/s = 6,048,000,
    errorEvents = 2016 x 0.75 = 1512, error ratio 0.00025, budget (99.95 %) half left; the
    fast-path windows >= 1h read 0.00025;
  - batch-job-success (increase() SLI, 1 job/s, 2.5 % failed): totalEvents = 604,800 (not 300x
    that), errorEvents = 15,120, budget (95 %) half left;
  - the history over the imported days (no recorded series exist there) has errorRatio,
    requestRate (per second for both shapes) and budgetRemaining from the raw data.
Every count is hand-computed: samples every 60 s on 5-minute boundaries, counters linear, so each
5-minute bucket holds exactly 300 s of increase.
usage: test_slo_backfill.py SLOD_BINARY EXAMPLES_SLOS_DIR
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402

B = 300
DAY = 86400
WEEK_BUCKETS = 7 * DAY // B  # 2016


def close(got, want, rel, what):
    assert got is not None, "%s is null (want %r)" % (what, want)
    assert abs(got - want) <= rel * max(abs(want), 1e-12), "%s = %r, want %r" % (what, got, want)


def series_lines(t0, t1):
    """Samples every 60 s in [t0, t1] (seconds): value = rate x (t - T_START) + base."""
    out = []
    for t in range(t0, t1 + 1, 60):
        x = t - T_START
        out.append('search_requests_total{outcome="ok"} %.6f %d' % (1e6 + 9.9975 * x, t * 1000))
        out.append('search_requests_total{outcome="error"} %.6f %d' % (1e3 + 0.0025 * x, t * 1000))
        out.append('batch_jobs_total{status="ok"} %.6f %d' % (1e5 + 0.975 * x, t * 1000))
        out.append('batch_jobs_total{status="failed"} %.6f %d' % (1e3 + 0.025 * x, t * 1000))
    return out


def main():
    global T_START
    slod, examples = sys.argv[1], os.path.abspath(sys.argv[2])
    with st.ProcGroup("slo_backfill") as g:
        port = st.free_port()
        sp = st.start_slod(g, slod, port, os.path.join(g.dir, "data"), "--slo.files=" + examples,
                           "--rules.evaluation-interval=1s")
        st.wait_ready(port, proc=sp)
        S = "http://127.0.0.1:%d" % port

        def slo(sid):
            for x in st.get_json(S + "/api/v1/slos")["data"]["slos"]:
                if x["id"] == sid:
                    return x
            raise AssertionError("no SLO %s" % sid)
        ids = [x["id"] for x in st.get_json(S + "/api/v1/slos")["data"]["slos"]]
        assert "search-availability" in ids and "batch-job-success" in ids, ids
        # the first evaluation has run on an empty store: rings are built (empty)
        st.wait_for(lambda: slo("search-availability")["evaluatedAt"] > 0, 30, "the first evaluation")
        time.sleep(1.5)
        assert slo("search-availability")["periodWindow"]["totalEvents"] is None

        now = int(time.time())
        T_END = now // B * B - B           # a bucket boundary already evaluated (delay 1m) or next
        T_START = T_END - 7 * DAY
        for d in range(7):
            lines = series_lines(T_START + d * DAY + (60 if d else 0), T_START + (d + 1) * DAY)
            status, body = st.http("POST", S + "/api/v1/import/prometheus", ("\n".join(lines) + "\n").encode(),
                                   timeout=60)
            assert status == 204, (status, body[:300])
        t_import = time.time()

        def counted():
            a, b = slo("search-availability"), slo("batch-job-success")
            pa, pb = a["periodWindow"], b["periodWindow"]
            if pa["totalEvents"] is None or pb["totalEvents"] is None:
                return None
            if abs(pa["totalEvents"] - WEEK_BUCKETS * B * 10.0) > 1 or abs(pb["totalEvents"] - WEEK_BUCKETS * B) > 0.1:
                return None
            return a, b
        a, b = st.wait_for(counted, 30, "the imported week in the exact budgets (last: search, batch)")
        print("counted %.1f s after the import, no reload" % (time.time() - t_import))
        pa, pb = a["periodWindow"], b["periodWindow"]
        close(pa["totalEvents"], WEEK_BUCKETS * B * 10.0, 1e-9, "search totalEvents")
        close(pa["errorEvents"], WEEK_BUCKETS * B * 0.0025, 1e-6, "search errorEvents")
        close(pa["exactErrorRatio"], 0.00025, 1e-6, "search exactErrorRatio")
        assert pa["method"] == "exact", pa
        close(a["errorBudget"]["remaining"], 0.5, 1e-6, "search budget remaining")
        for w in a["windows"]:
            if w["seconds"] >= 3600:
                close(w["errorRatio"], 0.00025, 1e-6, "search window " + w["window"])
        close(pb["totalEvents"], WEEK_BUCKETS * B * 1.0, 1e-9, "batch totalEvents")
        close(pb["errorEvents"], WEEK_BUCKETS * B * 0.025, 1e-9, "batch errorEvents")
        close(pb["exactErrorRatio"], 0.025, 1e-9, "batch exactErrorRatio")
        close(b["errorBudget"]["remaining"], 0.5, 1e-6, "batch budget remaining")
        print("search: %d events, %.1f errors; batch: %d events, %.1f errors"
              % (pa["totalEvents"], pa["errorEvents"], pb["totalEvents"], pb["errorEvents"]))

        # history over the imported days: nothing was recorded there
        for sid, ratio, rate in (("search-availability", 0.00025, 10.0), ("batch-job-success", 0.025, 1.0)):
            h = st.get_json(S + "/api/v1/slos/%s/history" % sid,
                            {"start": T_START + DAY, "end": T_END, "step": "1h"})["data"]
            pts = h["points"]
            assert len(pts) == 6 * 24 + 1, len(pts)
            for p in pts:
                close(p["errorRatio"], ratio, 1e-6, "%s history errorRatio at %s" % (sid, p["t"]))
                close(p["requestRate"], rate, 1e-6, "%s history requestRate at %s" % (sid, p["t"]))
                close(p["budgetRemaining"], 0.5, 1e-6, "%s history budgetRemaining at %s" % (sid, p["t"]))
            # before the import's start: no data
            h = st.get_json(S + "/api/v1/slos/%s/history" % sid,
                            {"start": T_START - DAY, "end": T_START - 3600, "step": "1h"})["data"]
            assert all(p["errorRatio"] is None and p["budgetRemaining"] is None for p in h["points"]), h
        print("history over the backfilled week: ratio, request rate and budget right")
        st.stop_clean(g, sp)
    print("OK")


if __name__ == "__main__":
    main()
