#!/usr/bin/env python3
"""integration.alertmanager — slod's SLO alerts through a real Alertmanager, firing AND resolved.

(integration.slo_alerting already checks that Alertmanager lists the firing page alert; this test
follows the alert through Alertmanager's whole pipeline and back out, and through its resolution.)

  70 minutes of counters with 50 % errors are imported -> the Sloth page and ticket tiers of the SLO
  fire in slod -> slod POSTs them to Alertmanager (/api/v2/alerts, endsAt = now + 4 x resend)
  -> Alertmanager lists the page alert as active with slod's labels, then routes it to its own
     webhook receiver (a small HTTP server in this script; group_wait 1s, send_resolved)
  -> the SLI recovers: a flood of good requests makes every window's error ratio tiny
  -> slod resolves the alerts and sends them again with endsAt = the resolution time (in the past)
  -> Alertmanager drops them from /api/v2/alerts (it lists no alert whose endsAt passed) long before
     the firing endsAt would have expired, and notifies its receiver "resolved" with that endsAt
  -> slod's /api/v1/notifications and /metrics show the deliveries to the Alertmanager target
  -> a webhook target of slod's own (next to Alertmanager) gets the page but not the ticket while
     the page fires (built-in tier inhibition), then the page resolved.
usage: test_alertmanager.py SLOD_BINARY [ALERTMANAGER_BINARY]
"""
import datetime
import http.server
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402

SPEC = """version: "prometheus/v1"
service: "amdemo"
labels:
  team: "it"
slos:
  - name: "availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(amdemo_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(amdemo_requests_total[{{.window}}]))
    alerting:
      name: AmdemoAvailability
      page_alert:
        labels: {severity: page}
      ticket_alert:
        labels: {severity: ticket}
"""

SID = "amdemo-availability"


class AMReceiver(http.server.BaseHTTPRequestHandler):
    lock = threading.Lock()
    received = []  # (wall time, body) sent by Alertmanager to /am
    direct = []    # bodies slod's own webhook target sent to /direct

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n))
        with AMReceiver.lock:
            if self.path == "/direct":
                AMReceiver.direct.append(body)
            else:
                AMReceiver.received.append((time.time(), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def ts(s):
    if s.startswith("0001-01-01"):
        return None
    s = s.replace("Z", "+00:00")
    if "." in s:
        head, rest = s.split(".", 1)
        k = max(rest.find("+"), rest.find("-"))
        frac, tz = rest[:k], rest[k:]
        s = head + "." + (frac + "000000")[:6] + tz
    return datetime.datetime.fromisoformat(s).timestamp()


def am_alerts(A, severity):
    alerts = json.loads(st.http("GET", A + "/api/v2/alerts")[1])
    return [a for a in alerts if a["labels"].get("alertname") == "AmdemoAvailability"
            and a["labels"].get("severity") == severity]


def received(status, severity):
    with AMReceiver.lock:
        out = []
        for t, body in AMReceiver.received:
            for a in body["alerts"]:
                if a["status"] == status and a["labels"].get("severity") == severity:
                    out.append((t, body, a))
        return out


def main():
    slod = sys.argv[1]
    am = sys.argv[2] if len(sys.argv) > 2 else "/usr/bin/prometheus-alertmanager"
    if not os.path.exists(am):
        print("SKIP: no Alertmanager at", am)
        return 0
    with st.ProcGroup("alertmanager") as g:
        recv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AMReceiver)
        threading.Thread(target=recv.serve_forever, daemon=True).start()
        ap = st.free_port()
        amcfg = os.path.join(g.dir, "am.yml")
        with open(amcfg, "w") as f:
            f.write("""route:
  receiver: hook
  group_by: [alertname, sloth_id, severity]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:%d/am
        send_resolved: true
""" % recv.server_address[1])
        amp = g.spawn([am, "--config.file=" + amcfg, "--storage.path=" + os.path.join(g.dir, "am-data"),
                       "--web.listen-address=127.0.0.1:%d" % ap, "--cluster.listen-address=",
                       "--log.level=warn"], "alertmanager")
        A = "http://127.0.0.1:%d" % ap
        st.wait_for(lambda: amp.poll() is None and st.http("GET", A + "/-/ready", timeout=2)[0] == 200,
                    30, "Alertmanager to be ready")

        spec = os.path.join(g.dir, "amdemo.yaml")
        with open(spec, "w") as f:
            f.write(SPEC)
        port = st.free_port()
        sp = st.start_slod(g, slod, port, os.path.join(g.dir, "data"), "--slo.files=" + spec,
                           "--rules.evaluation-interval=1s", "--alerting.alertmanager-url=" + A,
                           "--alerting.webhook-url=http://127.0.0.1:%d/direct" % recv.server_address[1])
        st.wait_ready(port, proc=sp)
        S = "http://127.0.0.1:%d" % port

        now = int(time.time() * 1000)
        lines = []
        i = 0
        for i, t in enumerate(range(now - 70 * 60 * 1000, now + 1, 15000)):
            lines.append('amdemo_requests_total{code="200"} %d %d' % (10 * i, t))
            lines.append('amdemo_requests_total{code="500"} %d %d' % (10 * i, t))
        last_i = i
        status, body = st.http("POST", S + "/api/v1/import/prometheus", "\n".join(lines).encode() + b"\n")
        assert status == 204, body

        # --- firing: listed by Alertmanager, then routed to its receiver
        got = st.wait_for(lambda: [a for a in am_alerts(A, "page") if a["status"]["state"] == "active"], 30,
                          "Alertmanager to list the firing page alert")[0]
        assert got["labels"]["sloth_id"] == SID and got["labels"]["team"] == "it", got["labels"]
        assert got["labels"].get("sloth_severity") == "page", got["labels"]
        assert got["annotations"], ("Sloth alerts carry title/summary annotations", got)
        assert [r["name"] for r in got["receivers"]] == ["hook"], got
        starts, ends = ts(got["startsAt"]), ts(got["endsAt"])
        assert abs(starts - time.time()) < 30, got
        assert ends > time.time() + 60, ("a firing alert should be valid for 4 resend delays", got)
        fired = st.wait_for(lambda: received("firing", "page"), 20, "Alertmanager to notify the firing page")
        _, body, a = fired[0]
        assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "hook", body
        assert a["labels"]["sloth_id"] == SID and ts(a["startsAt"]) == starts, a
        print("firing: Alertmanager lists the page alert (endsAt in %.0f s) and notified its receiver"
              % (ends - time.time()))
        d = st.get_json(S + "/api/v1/slos/" + SID)["data"]
        assert [x["state"] for x in d["alerts"] if x["severity"] == "page"][0] == "firing", d["alerts"]
        # both tiers fire, and Alertmanager has both (it gets everything) ...
        st.wait_for(lambda: [a for a in am_alerts(A, "ticket") if a["status"]["state"] == "active"], 20,
                    "Alertmanager to list the firing ticket alert")
        d = st.get_json(S + "/api/v1/slos/" + SID)["data"]
        assert {x["state"] for x in d["alerts"]} == {"firing"}, d["alerts"]

        # ... but slod's own webhook target holds the ticket back while the page fires (tier inhibition)
        def direct_page():
            with AMReceiver.lock:
                return [b for b in AMReceiver.direct if any(
                    a["status"] == "firing" and a["labels"]["sloth_severity"] == "page" for a in b["alerts"])]
        pages = st.wait_for(direct_page, 20, "the webhook target to get the firing page")
        for b in pages:
            assert not [a for a in b["alerts"] if a["status"] == "firing" and a["labels"]["sloth_severity"] == "ticket"], \
                ("ticket not inhibited by the firing page", b)
        assert pages[0]["groupLabels"] == {"alertname": "AmdemoAvailability"}, pages[0]
        print("inhibition: the webhook got the page without the ticket; Alertmanager got both")

        # --- recovery: a flood of good requests; errors stop growing
        time.sleep(1)
        t1 = int(time.time() * 1000)
        lines = ['amdemo_requests_total{code="200"} %d %d' % (10 * last_i + 10_000_000, t1),
                 'amdemo_requests_total{code="500"} %d %d' % (10 * last_i, t1)]
        status, body = st.http("POST", S + "/api/v1/import/prometheus", "\n".join(lines).encode() + b"\n")
        assert status == 204, body

        def slo_ok():
            d = st.get_json(S + "/api/v1/slos/" + SID)["data"]
            return d if all(x["state"] == "inactive" for x in d["alerts"]) else None
        d = st.wait_for(slo_ok, 20, "every alert tier of the SLO to be inactive after the recovery")
        w5 = [w for w in d["windows"] if w["window"] == "5m"][0]
        assert w5["errorRatio"] < 0.001, w5

        gone = st.wait_for(lambda: not [a for a in am_alerts(A, "page") + am_alerts(A, "ticket")], 20,
                           "Alertmanager to drop the resolved alerts from /api/v2/alerts")
        assert gone
        assert time.time() < ends - 60, "dropped only because the firing endsAt expired"
        res = st.wait_for(lambda: received("resolved", "page"), 20, "Alertmanager to notify the resolved page")
        t_recv, body, a = res[0]
        assert body["status"] == "resolved" and a["labels"]["sloth_id"] == SID, body
        r_ends = ts(a["endsAt"])
        assert r_ends is not None and r_ends <= t_recv and r_ends < time.time(), a
        assert t1 / 1000 - 1 <= r_ends <= t1 / 1000 + 10, ("endsAt should be the resolution time", a, t1)
        assert ts(a["startsAt"]) == starts, a
        st.wait_for(lambda: received("resolved", "ticket"), 20, "Alertmanager to notify the resolved ticket")
        print("resolved: Alertmanager dropped the alerts and notified 'resolved' with endsAt %.1f s after "
              "the recovery (%.1f s in the past)" % (r_ends - t1 / 1000, time.time() - r_ends))

        # --- slod's side of the deliveries
        n = st.get_json(S + "/api/v1/notifications", {"slo": SID})["data"]
        am_n = [x for x in n if x["target"] == "alertmanager-0"]

        def direct_page_resolved():
            with AMReceiver.lock:
                return [b for b in AMReceiver.direct if any(
                    a["status"] == "resolved" and a["labels"]["sloth_severity"] == "page" for a in b["alerts"])]
        st.wait_for(direct_page_resolved, 10, "the webhook target to get the resolved page")
        assert any(x["status"] == "firing" and x["delivery"] == "delivered" for x in am_n), am_n
        assert any(x["status"] == "resolved" and x["delivery"] == "delivered" for x in am_n), am_n
        m = st.http("GET", S + "/metrics")[1].decode()
        sent = re.search(r'^slod_alerting_notifications_sent_total\{target="alertmanager-0"\} (\d+)$', m, re.M)
        assert sent and int(sent.group(1)) >= 2, m[-1500:]
        assert re.search(r'^slod_alerting_notifications_failed_total\{target="alertmanager-0"\} 0$', m, re.M)
        print("slod: %s notifications delivered to Alertmanager" % sent.group(1))
        st.stop_clean(g, sp)
        recv.shutdown()
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
