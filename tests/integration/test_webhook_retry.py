#!/usr/bin/env python3
"""integration.webhook_retry — slod's webhook delivery against a receiver that fails, then recovers.

  three alerting rules (one group each: webhooks group by alertname) fire on imported data
  -> slod queues one notification per group for the webhook target "hook" (configured in a config
     file with an HMAC secret)
  -> the receiver (an http.server in this script) answers 503 to the first FAILS deliveries, then 200
  -> while it fails: /api/v1/notifications shows the head as "retrying" with lastError "HTTP 503",
     /metrics shows the queue length and the retries
  -> after recovery every notification arrives exactly once (distinct X-Slod-Notification-Id values
     hook-1..hook-N, none missing, none accepted twice), in queue order, with a valid
     X-Slod-Signature, and the failed attempts of the head came with growing gaps (backoff
     500ms x 2^k with +-20% jitter)
  -> the data turns the alerts off: one resolved notification per group (endsAt after startsAt)
  -> the payload is Alertmanager's webhook JSON version "4" (status, receiver, groupKey, groupLabels,
     commonLabels, externalURL, alerts[] with status/labels/annotations/startsAt/endsAt/
     generatorURL/fingerprint)
  -> /metrics: sent = notifications, retried = FAILS, failed = dropped = 0, queue empty
  -> a second target, "strict", answers 400 to everything: each notification is tried once,
     "rejected" in the API, counted failed; it and "hook" do not hold each other up.
usage: test_webhook_retry.py SLOD_BINARY
"""
import datetime
import hashlib
import hmac
import http.server
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402

FAILS = 4
SECRET = "s3cret-for-the-test"
NAMES = ["RetryA", "RetryB", "RetryC"]

RULES = """groups:
  - name: retry
    interval: 1s
    rules:
""" + "".join("""      - alert: %s
        expr: retry_metric{kind="%s"} > 0
        labels: {severity: warning, team: it}
        annotations: {summary: "kind %s is up ({{ $value }})"}
""" % (n, n[-1].lower(), n[-1].lower()) for n in NAMES)


class Receiver(http.server.BaseHTTPRequestHandler):
    lock = threading.Lock()
    attempts = []      # (monotonic time, notification id, status answered)
    accepted = {}      # id -> list of (body dict, headers dict)
    fails_left = FAILS

    strict = []        # (monotonic time, id) of requests to /strict, always answered 400

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        nid = self.headers.get("X-Slod-Notification-Id", "")
        if self.path == "/strict":
            with Receiver.lock:
                Receiver.strict.append((time.monotonic(), nid))
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with Receiver.lock:
            if Receiver.fails_left > 0:
                Receiver.fails_left -= 1
                status = 503
            else:
                status = 200
                Receiver.accepted.setdefault(nid, []).append((raw, dict(self.headers.items())))
            Receiver.attempts.append((time.monotonic(), nid, status))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def parse_time(s):
    if s.startswith("0001-01-01"):
        return None
    s = s.replace("Z", "+00:00")
    if "." in s:  # Python < 3.11 wants exactly 6 fraction digits
        head, rest = s.split(".", 1)
        frac, tz = rest[:rest.index("+")], rest[rest.index("+"):]
        s = head + "." + (frac + "000000")[:6] + tz
    return datetime.datetime.fromisoformat(s).timestamp()


def metric(text, name, target):
    m = re.search(r'^%s\{target="%s"\} (\S+)$' % (re.escape(name), re.escape(target)), text, re.M)
    return float(m.group(1)) if m else None


def check_payload(body, headers):
    sig = headers.get("X-Slod-Signature", "")
    want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sig == want, ("bad HMAC signature", sig, want)
    d = json.loads(body)
    assert d["version"] == "4", d
    assert d["receiver"] == "hook" and d["status"] in ("firing", "resolved"), d
    assert d["groupKey"] and isinstance(d["truncatedAlerts"], int), d
    assert d["externalURL"].startswith("http://127.0.0.1:"), d
    assert len(d["alerts"]) == 1, d  # one alert per alertname group here
    a = d["alerts"][0]
    for k in ("status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"):
        assert k in a, (k, a)
    assert a["status"] == d["status"], d
    assert a["labels"]["alertname"] in NAMES and a["labels"]["severity"] == "warning", a
    assert d["groupLabels"] == {"alertname": a["labels"]["alertname"]}, d
    assert d["commonLabels"] == a["labels"] and d["commonAnnotations"] == a["annotations"], d
    assert a["annotations"]["summary"].startswith("kind "), a
    assert re.fullmatch(r"[0-9a-f]{16}", a["fingerprint"]), a
    starts = parse_time(a["startsAt"])
    ends = parse_time(a["endsAt"])
    assert starts is not None and abs(starts - time.time()) < 120, a
    if a["status"] == "firing":
        assert ends is None, a  # Alertmanager's zero time: still firing
    else:
        assert ends is not None and ends >= starts, a
    return d, a


def main():
    slod = sys.argv[1]
    with st.ProcGroup("webhook-retry") as g:
        recv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=recv.serve_forever, daemon=True).start()
        rules = os.path.join(g.dir, "retry.rules.yml")
        with open(rules, "w") as f:
            f.write(RULES)
        cfg = os.path.join(g.dir, "slod.yml")
        with open(cfg, "w") as f:
            f.write("alerting:\n  webhooks:\n    - name: hook\n      url: http://127.0.0.1:%d/hook\n"
                    "      hmac_secret: %s\n    - name: strict\n      url: http://127.0.0.1:%d/strict\n"
                    % (recv.server_address[1], SECRET, recv.server_address[1]))
        port = st.free_port()
        sp = st.start_slod(g, slod, port, os.path.join(g.dir, "data"), "--config.file=" + cfg,
                           "--slo.files=none", "--rule.files=" + rules, "--rules.evaluation-interval=1s")
        st.wait_ready(port, proc=sp)
        S = "http://127.0.0.1:%d" % port

        now = int(time.time() * 1000)
        lines = ['retry_metric{kind="%s"} 1 %d' % (n[-1].lower(), now - 1000) for n in NAMES]
        status, body = st.http("POST", S + "/api/v1/import/prometheus", "\n".join(lines).encode() + b"\n")
        assert status == 204, body

        # --- while the receiver fails: the queue is visible in the API and in /metrics
        def retrying():
            n = st.get_json(S + "/api/v1/notifications")["data"]
            r = [x for x in n if x["target"] == "hook" and x["delivery"] == "retrying"]
            return r if r and r[0]["attempts"] >= 2 else None
        r = st.wait_for(retrying, 20, "/api/v1/notifications to show a retrying notification", interval=0.05)
        assert r[0]["lastError"] == "HTTP 503" and r[0]["status"] == "firing", r
        assert r[0]["alertname"] in NAMES and r[0]["severity"] == "warning", r
        m = st.http("GET", S + "/metrics")[1].decode()
        ql = metric(m, "slod_alerting_queue_length", "hook")
        assert ql is not None and ql >= 1, m[-2000:]
        assert metric(m, "slod_alerting_notifications_retried_total", "hook") >= 2, m[-2000:]
        assert metric(m, "slod_alerting_queue_oldest_timestamp_seconds", "hook") > 0, m[-2000:]
        print("while failing: %d retrying notification(s) listed, queue length %d" % (len(r), ql))

        # --- recovery: all three firing notifications arrive
        def firing_arrived():
            with Receiver.lock:
                ok = [json.loads(v[0][0]) for v in Receiver.accepted.values()]
            names = {d["alerts"][0]["labels"]["alertname"] for d in ok if d["status"] == "firing"}
            return names == set(NAMES)
        st.wait_for(firing_arrived, 30, "the firing notifications after the receiver recovered")

        # --- resolution
        now = int(time.time() * 1000)
        lines = ['retry_metric{kind="%s"} 0 %d' % (n[-1].lower(), now) for n in NAMES]
        status, body = st.http("POST", S + "/api/v1/import/prometheus", "\n".join(lines).encode() + b"\n")
        assert status == 204, body

        def all_done():
            with Receiver.lock:
                n = sum(len(v) for v in Receiver.accepted.values())
            if n < 2 * len(NAMES):
                return None
            m = st.http("GET", S + "/metrics")[1].decode()
            done = all(metric(m, "slod_alerting_queue_length", t) == 0 for t in ("hook", "strict"))
            return m if done and metric(m, "slod_alerting_notifications_failed_total", "strict") else None
        m = st.wait_for(all_done, 30, "the resolved notifications")
        time.sleep(2.5)  # anything sent twice would show up now

        # --- the "strict" target answers 400: each notification is tried once and rejected, and
        # neither target held the other up (strict's firing ones went while hook was still failing)
        with Receiver.lock:
            strict = list(Receiver.strict)
            attempts = list(Receiver.attempts)
        hook_recovered = min(t for t, _, s in attempts if s == 200)
        assert sorted(int(k.split("-")[1]) for _, k in strict) == list(range(1, 2 * len(NAMES) + 1)), strict
        assert sum(1 for t, _ in strict if t < hook_recovered) >= len(NAMES), "targets are not independent"
        sn = [x for x in st.get_json(S + "/api/v1/notifications")["data"] if x["target"] == "strict"]
        assert len(sn) == 2 * len(NAMES), sn
        assert all(x["delivery"] == "rejected" and x["attempts"] == 1 and x["lastError"] == "HTTP 400"
                   for x in sn), sn
        for name, want in (("failed", 2 * len(NAMES)), ("sent", 0), ("retried", 0), ("dropped", 0)):
            got = metric(m, "slod_alerting_notifications_%s_total" % name, "strict")
            assert got == want, (name, got, want)
        assert metric(m, "slod_alerting_queue_length", "strict") == 0, m
        print("strict target: %d notifications rejected with HTTP 400, not retried, counted failed"
              % len(strict))

        # --- exactly once, none missing, in order
        with Receiver.lock:
            accepted = dict(Receiver.accepted)
            attempts = list(Receiver.attempts)
        dup = {k: len(v) for k, v in accepted.items() if len(v) != 1}
        assert not dup, "notifications accepted more than once: %s" % dup
        ids = sorted(int(re.fullmatch(r"hook-(\d+)", k).group(1)) for k in accepted)
        assert ids == list(range(1, len(ids) + 1)), "ids missing or not dense: %s" % ids
        assert len(ids) == 2 * len(NAMES), ids
        ok_order = [int(nid.split("-")[1]) for _, nid, s in attempts if s == 200]
        assert ok_order == sorted(ok_order), "delivered out of queue order: %s" % ok_order
        by_name = {}
        for nid in sorted(accepted, key=lambda k: int(k.split("-")[1])):
            raw, headers = accepted[nid][0]
            d, a = check_payload(raw, headers)
            by_name.setdefault(a["labels"]["alertname"], []).append(a)
        for name in NAMES:
            st_seq = [a["status"] for a in by_name[name]]
            assert st_seq == ["firing", "resolved"], (name, st_seq)
            assert by_name[name][0]["fingerprint"] == by_name[name][1]["fingerprint"], by_name[name]
            assert by_name[name][0]["startsAt"] == by_name[name][1]["startsAt"], by_name[name]
        print("delivered exactly once: ids %s, each alert firing then resolved, HMAC valid" % ids)

        # --- backoff: the head's failed attempts came with growing gaps
        head = attempts[0][1]
        times = [t for t, nid, s in attempts if nid == head]
        statuses = [s for _, nid, s in attempts if nid == head]
        assert statuses == [503] * FAILS + [200], statuses
        assert all(s == 200 for _, nid, s in attempts if nid != head), attempts
        gaps = [b - a for a, b in zip(times, times[1:])]
        # attempt k+1 comes 500ms x 2^k x [0.8, 1.2) after attempt k (plus scheduling noise)
        for k, gap in enumerate(gaps[:FAILS]):
            assert 0.4 * 2 ** k - 0.05 <= gap <= 0.6 * 2 ** k + 0.5, "gap %d is %.3f s: %s" % (k, gap, gaps)
        for a, b in zip(gaps, gaps[1:]):
            assert b > 1.15 * a, "backoff does not grow: %s" % gaps
        print("backoff gaps of %s: %s s" % (head, ", ".join("%.2f" % x for x in gaps)))

        # --- the API and /metrics agree
        n = st.get_json(S + "/api/v1/notifications")["data"]
        mine = [x for x in n if x["target"] == "hook"]
        assert len(mine) == 2 * len(NAMES) and all(x["delivery"] == "delivered" for x in mine), mine
        h = [x for x in mine if "hook-%d" % x["id"] == head][0]
        assert h["attempts"] == FAILS + 1, h
        assert sorted(x["id"] for x in mine) == ids, mine
        assert metric(m, "slod_alerting_notifications_sent_total", "hook") == 2 * len(NAMES), m
        assert metric(m, "slod_alerting_notifications_retried_total", "hook") == FAILS, m
        assert metric(m, "slod_alerting_notifications_failed_total", "hook") == 0, m
        assert metric(m, "slod_alerting_notifications_dropped_total", "hook") == 0, m
        assert metric(m, "slod_alerting_queue_oldest_timestamp_seconds", "hook") == 0, m
        print("/metrics: sent %d, retried %d, failed 0, dropped 0, queue 0" % (2 * len(NAMES), FAILS))
        st.stop_clean(g, sp)
        recv.shutdown()
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
