#!/usr/bin/env python3
"""integration.slo_alerting — the whole SLO path in one process, end to end over HTTP:

  text import of counters with a 50 % error rate over the last 70 minutes
  -> Sloth-compiled recording and alerting rules evaluated every second by slod
  -> /api/v1/slos shows the window error ratios (~0.5) and burn rates (~500), the page tier firing
  -> /api/v1/alerts and /api/v1/rules list the alert and the rule groups (SLO + user rule file)
  -> a webhook (a small HTTP server in this script) receives the firing alert, and a real
     Alertmanager (prometheus-alertmanager, when installed) lists it in /api/v2/alerts
  -> /api/v1/query reads a series recorded by the user rule file.
usage: test_slo_alerting.py SLOD_BINARY
"""
import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402

SPEC = """version: "prometheus/v1"
service: "demo"
labels:
  team: "it"
slos:
  - name: "availability"
    objective: 99.9
    description: "demo answers without 5xx"
    sli:
      events:
        error_query: sum(rate(demo_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(demo_requests_total[{{.window}}]))
    alerting:
      name: DemoAvailability
      page_alert:
        labels: {severity: page}
      ticket_alert:
        labels: {severity: ticket}
"""

RULES = """groups:
  - name: user
    interval: 1s
    rules:
      - record: code:demo_requests:rate5m
        expr: sum by (code) (rate(demo_requests_total[5m]))
"""


class Hook(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        Hook.received.append(json.loads(self.rfile.read(n)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def main():
    slod = sys.argv[1]
    with st.ProcGroup("slo") as g:
        spec = os.path.join(g.dir, "demo.yaml")
        with open(spec, "w") as f:
            f.write(SPEC)
        rules = os.path.join(g.dir, "user.rules.yml")
        with open(rules, "w") as f:
            f.write(RULES)
        hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        extra = []
        am = "/usr/bin/prometheus-alertmanager"
        A = None
        if os.path.exists(am):
            ap, cp = st.free_port(), st.free_port()
            amcfg = os.path.join(g.dir, "am.yml")
            with open(amcfg, "w") as f:
                f.write("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
            amp = g.spawn([am, "--config.file=" + amcfg, "--storage.path=" + os.path.join(g.dir, "am-data"),
                           "--web.listen-address=127.0.0.1:%d" % ap, "--cluster.listen-address=",
                           "--log.level=warn"], "alertmanager")
            A = "http://127.0.0.1:%d" % ap
            st.wait_for(lambda: amp.poll() is None and st.http("GET", A + "/-/ready", timeout=2)[0] == 200,
                        30, "alertmanager to be ready")
            extra.append("--alerting.alertmanager-url=" + A)
        port = st.free_port()
        sp = st.start_slod(g, slod, port, os.path.join(g.dir, "data"), "--slo.files=" + spec,
                           "--rule.files=" + rules, "--rules.evaluation-interval=1s",
                           "--alerting.webhook-url=http://127.0.0.1:%d/hook" % hook.server_address[1], *extra)
        st.wait_ready(port, proc=sp)
        S = "http://127.0.0.1:%d" % port

        now = int(time.time() * 1000)
        lines = []
        for i, t in enumerate(range(now - 70 * 60 * 1000, now + 1, 15000)):
            lines.append('demo_requests_total{code="200"} %d %d' % (10 * i, t))
            lines.append('demo_requests_total{code="500"} %d %d' % (10 * i, t))
        status, body = st.http("POST", S + "/api/v1/import/prometheus", "\n".join(lines).encode() + b"\n")
        assert status == 204, body

        sid = "demo-availability"

        def evaluated():
            d = st.get_json(S + "/api/v1/slos/" + sid)["data"]
            w5 = [w for w in d["windows"] if w["window"] == "5m"][0]
            page = [a for a in d["alerts"] if a["severity"] == "page"]
            if w5["errorRatio"] is None or not any(a["state"] == "firing" for a in page):
                return None
            return d
        d = st.wait_for(evaluated, 30, "the SLO to be evaluated with the page tier firing")
        w5 = [w for w in d["windows"] if w["window"] == "5m"][0]
        assert abs(w5["errorRatio"] - 0.5) < 1e-9, w5
        assert abs(w5["burnRate"] - 500) < 1e-6, w5
        assert d["objective"] == 99.9 and d["period"] == "30d" and d["labels"]["team"] == "it", d
        assert abs(d["errorBudget"]["ratio"] - 0.001) < 1e-12, d["errorBudget"]
        assert "DemoAvailability" in d["spec"] or "demo" in d["spec"], d["spec"][:200]
        print("slo: 5m error ratio %.3f, burn rate %.1f, page firing" % (w5["errorRatio"], w5["burnRate"]))

        lst = st.get_json(S + "/api/v1/slos")["data"]
        assert [x["id"] for x in lst["slos"]] == [sid], lst

        alerts = st.get_json(S + "/api/v1/alerts")["data"]["alerts"]
        firing = [a for a in alerts if a["labels"].get("alertname") == "DemoAvailability" and a["state"] == "firing"]
        assert firing and firing[0]["labels"].get("severity") == "page", alerts

        groups = st.get_json(S + "/api/v1/rules")["data"]["groups"]
        names = {gr["name"] for gr in groups}
        assert "user" in names and any("demo" in n for n in names), names
        rec = st.get_json(S + "/api/v1/rules", {"type": "record"})["data"]["groups"]
        assert all(r["type"] == "recording" for gr in rec for r in gr["rules"]), rec
        user = [gr for gr in rec if gr["name"] == "user"][0]
        assert user["interval"] == 1 and user["file"] == rules, user
        r0 = user["rules"][0]
        assert r0["name"] == "code:demo_requests:rate5m" and "labels" not in r0 and r0["health"] == "ok", r0

        def recorded():
            q = st.get_json(S + "/api/v1/query", {"query": "code:demo_requests:rate5m"})["data"]["result"]
            return q if len(q) == 2 else None
        q = st.wait_for(recorded, 20, "the user recording rule's series")
        for x in q:
            assert abs(float(x["value"][1]) - 10 / 15) < 1e-9, q

        def notified():
            for body in Hook.received:
                for a in body.get("alerts", []):
                    if a["labels"].get("alertname") == "DemoAvailability" and a["status"] == "firing":
                        return body
            return None
        body = st.wait_for(notified, 30, "the webhook to receive the firing alert")
        assert body.get("version") == "4", body

        def delivered():
            n = st.get_json(S + "/api/v1/notifications", {"slo": sid})["data"]
            return [x for x in n if x["delivery"] == "delivered" and x["alertname"] == "DemoAvailability"]
        n = st.wait_for(delivered, 20, "/api/v1/notifications to show the delivery")
        assert all(x["status"] == "firing" and x["sloId"] == sid for x in n), n
        assert "webhook-0" in {x["target"] for x in n}, n
        assert st.get_json(S + "/api/v1/notifications", {"slo": "no-such-slo"})["data"] == []
        print("webhook received %d notification(s)" % len(Hook.received))
        if A:
            def in_am():
                alerts = st.json.loads(st.http("GET", A + "/api/v2/alerts")[1])
                return [a for a in alerts if a["labels"].get("alertname") == "DemoAvailability"
                        and a["labels"].get("severity") == "page" and a["status"]["state"] == "active"]
            got = st.wait_for(in_am, 30, "Alertmanager to list the firing alert")
            assert got[0]["labels"].get("sloth_id") == sid, got[0]["labels"]
            print("alertmanager lists %d DemoAvailability page alert(s)" % len(got))
        # --- reload: a second SLO appears after POST /-/reload; a broken spec is refused (500, and
        # SIGHUP likewise) while the running configuration stays
        with open(spec, "a") as f:
            f.write("---\n" + SPEC.replace('service: "demo"', 'service: "demo2"')
                    .replace("DemoAvailability", "Demo2Availability"))
        status, body = st.http("POST", S + "/-/reload", b"")
        assert status == 200, body
        ids = [x["id"] for x in st.get_json(S + "/api/v1/slos")["data"]["slos"]]
        assert ids == [sid, "demo2-availability"], ids
        with open(spec, "a") as f:
            f.write('---\nversion: "prometheus/v1"\nservice: "broken"\nslos:\n  - name: x\n    objective: 200\n')
        status, body = st.http("POST", S + "/-/reload", b"")
        assert status == 500 and b"SLO specs have errors" in body, (status, body)
        os.kill(sp.pid, st.signal.SIGHUP)
        time.sleep(0.5)
        assert sp.poll() is None, "slod died on SIGHUP"
        ids = [x["id"] for x in st.get_json(S + "/api/v1/slos")["data"]["slos"]]
        assert ids == [sid, "demo2-availability"], ids
        assert "reload failed" in g.log(sp), g.log(sp)[-500:]
        print("reload: new SLO picked up, broken spec refused, old config kept")
        # clean shutdown with every thread running (rules, SLO engine, notifier, HTTP); under
        # ASan a leak or error report turns the exit status non-zero
        sp.send_signal(st.signal.SIGTERM)
        rc = sp.wait(timeout=30)
        log = g.log(sp)
        assert rc == 0 and "shutdown complete" in log and "Sanitizer" not in log, (rc, log[-2000:])
        hook.shutdown()
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
