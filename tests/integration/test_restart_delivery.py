#!/usr/bin/env python3
"""integration.restart_delivery — kill -9 with notifications pending loses and duplicates nothing,
and a pending alert keeps its `for` clock across the restart.

  two alerting rules without `for` fire at once (two webhook groups -> two notifications) while
  the receiver is down (its port refuses connections): they wait in the queue (the head
  "retrying", the other "queued" behind it)
  -> a third rule with `for: FOR_S` is pending; its activeAt A0 is noted
  -> kill -9 slod; restart it on the same --storage.path with the same target
  -> the pending rule comes back with activeAt == A0 (restored from ALERTS_FOR_STATE, whose value
     is A0 in seconds), so it fires FOR_S after A0, not FOR_S after the restart
  -> one of the two firing alerts stops firing while slod is down: after the restart its resolved
     notification is sent (with the startsAt of the firing one), although the restarted rules engine
     never saw it fire
  -> the receiver comes up: every notification queued before the kill arrives exactly once (by
     X-Slod-Notification-Id), new ones get new ids, nothing is sent twice
  -> a reload that removes the rule group resolves its firing alerts at the webhook.
usage: test_restart_delivery.py SLOD_BINARY
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

FOR_S = 24

RULES = """groups:
  - name: restart
    interval: 1s
    rules:
      - alert: RestartA
        expr: restart_metric > 0
        labels: {severity: warning}
      - alert: RestartB
        expr: restart_metric_b > 0
        labels: {severity: warning}
      - alert: RestartSlow
        expr: restart_metric > 0
        for: %ds
        labels: {severity: page}
""" % FOR_S


class Receiver(http.server.BaseHTTPRequestHandler):
    lock = threading.Lock()
    accepted = {}  # id -> [body dict, ...]

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(n))
        with Receiver.lock:
            Receiver.accepted.setdefault(self.headers.get("X-Slod-Notification-Id", ""), []).append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def rfc3339(s):
    s = s.replace("Z", "+00:00")
    if "." in s:
        head, rest = s.split(".", 1)
        frac, tz = rest[:rest.index("+")], rest[rest.index("+"):]
        s = head + "." + (frac + "000000")[:6] + tz
    return datetime.datetime.fromisoformat(s).timestamp()


def slow_alert(S):
    for a in st.get_json(S + "/api/v1/alerts")["data"]["alerts"]:
        if a["labels"].get("alertname") == "RestartSlow":
            return a
    return None


def main():
    slod = sys.argv[1]
    with st.ProcGroup("restart-delivery") as g:
        rules = os.path.join(g.dir, "restart.rules.yml")
        with open(rules, "w") as f:
            f.write(RULES)
        hook_port = st.free_port()  # nothing listens there until the receiver starts
        port = st.free_port()
        data = os.path.join(g.dir, "data")
        args = ["--slo.files=none", "--rule.files=" + rules, "--rules.evaluation-interval=1s",
                "--alerting.webhook-url=http://127.0.0.1:%d/hook" % hook_port]
        sp = st.start_slod(g, slod, port, data, *args)
        st.wait_ready(port, proc=sp)
        S = "http://127.0.0.1:%d" % port

        now = int(time.time() * 1000)
        status, body = st.http("POST", S + "/api/v1/import/prometheus",
                               b"restart_metric 1 %d\nrestart_metric_b 1 %d\n" % (now - 1000, now - 1000))
        assert status == 204, body

        def pending_queue():
            n = st.get_json(S + "/api/v1/notifications")["data"]
            r = [x for x in n if x["delivery"] in ("queued", "retrying")]
            retrying = [x for x in r if x["delivery"] == "retrying" and x["attempts"] >= 2]
            return r if len({x["alertname"] for x in r}) == 2 and retrying else None
        # the head of the FIFO retries; the one behind it waits "queued"
        before = st.wait_for(pending_queue, 20, "two notifications pending against the dead receiver")
        a = st.wait_for(lambda: slow_alert(S), 10, "RestartSlow to be pending")
        assert a["state"] == "pending", a
        a0 = rfc3339(a["activeAt"])
        pending_ids = sorted("webhook-0-%d" % x["id"] for x in before)
        assert {x["alertname"] for x in before} == {"RestartA", "RestartB"}, before
        head = min(before, key=lambda x: x["id"])
        assert head["delivery"] == "retrying" and "connect" in head["lastError"].lower(), before
        time.sleep(max(1.5, a0 + 7 - time.time()))  # so that "from A0" and "from the restart" differ
        for_state = st.get_json(S + "/api/v1/query", {"query": 'ALERTS_FOR_STATE{alertname="RestartSlow"}'})
        v = for_state["data"]["result"]
        assert len(v) == 1 and abs(float(v[0]["value"][1]) - a0) < 1e-3, (v, a0)

        # --- RestartB stops firing while slod is down: a sample 0 that becomes visible only after
        # the kill; the restart waits for it
        stop_b = int(time.time() * 1000) + 3000
        status, body = st.http("POST", S + "/api/v1/import/prometheus", b"restart_metric_b 0 %d\n" % stop_b)
        assert status == 204, body
        # --- kill -9 with the queue full, restart on the same storage
        sp.kill()
        sp.wait()
        killed_at = time.time()
        assert killed_at * 1000 < stop_b - 500, "too slow: RestartB resolved before the kill"
        time.sleep(max(0, stop_b / 1000 + 0.5 - time.time()))
        assert time.time() - a0 < FOR_S - 8, "too slow to reach the kill before the `for` elapsed"
        state_files = os.listdir(os.path.join(data, "alerting"))
        assert any(f.startswith("alerting-webhook-0.state") for f in state_files), state_files
        sp2 = st.start_slod(g, slod, port, data, *args, name="slod2")
        st.wait_ready(port, proc=sp2)
        restarted_at = time.time()

        # the pending alert is back with its old activeAt (not the restart time)
        a = st.wait_for(lambda: slow_alert(S), 10, "RestartSlow to be pending again after the restart")
        assert a["state"] == "pending", a
        assert abs(rfc3339(a["activeAt"]) - a0) < 1e-3, ("`for` restarted from zero", a["activeAt"], a0)
        print("after restart: RestartSlow pending since %.3f (restored; killed %.1f s after it, restart "
              "took %.1f s)" % (a0, killed_at - a0, restarted_at - killed_at))
        time.sleep(1.0)
        with Receiver.lock:
            assert not Receiver.accepted, "something was delivered while the receiver was down?"

        # --- the receiver comes up: the queue drains
        recv = http.server.ThreadingHTTPServer(("127.0.0.1", hook_port), Receiver)
        threading.Thread(target=recv.serve_forever, daemon=True).start()

        def drained():
            with Receiver.lock:
                got = set(Receiver.accepted)
            return got if set(pending_ids) <= got else None
        st.wait_for(drained, 30, "the notifications queued before the kill to arrive")

        # --- the slow alert fires FOR_S after A0 (not after the restart) and is notified once
        def slow_fired():
            with Receiver.lock:
                for nid, bodies in Receiver.accepted.items():
                    for b in bodies:
                        for x in b["alerts"]:
                            if x["labels"]["alertname"] == "RestartSlow" and x["status"] == "firing":
                                return nid, x
            return None
        nid, x = st.wait_for(slow_fired, FOR_S + 10, "RestartSlow to fire")

        # --- RestartB, notified as firing before the kill, was resolved after the restart
        def b_resolved():
            with Receiver.lock:
                for k, bodies in Receiver.accepted.items():
                    for b in bodies:
                        for al in b["alerts"]:
                            if al["labels"]["alertname"] == "RestartB" and al["status"] == "resolved":
                                return k, al
            return None
        b_nid, b_al = st.wait_for(b_resolved, 10, "RestartB's resolved notification")
        b_fired = [al for k in pending_ids for al in Receiver.accepted[k][0]["alerts"]
                   if al["labels"]["alertname"] == "RestartB"][0]
        assert b_al["startsAt"] == b_fired["startsAt"] and b_al["fingerprint"] == b_fired["fingerprint"], (b_al,
                                                                                                          b_fired)
        assert rfc3339(b_al["endsAt"]) >= stop_b / 1000 - 1, b_al
        fired = rfc3339(x["startsAt"])
        assert a0 + FOR_S - 0.01 <= fired < a0 + FOR_S + 3, ("fired at the wrong time", fired - a0)
        assert fired < restarted_at + FOR_S - 4, ("the `for` clock restarted", fired - restarted_at)
        time.sleep(2.5)  # duplicates would arrive now

        with Receiver.lock:
            accepted = dict(Receiver.accepted)
        dup = {k: len(v) for k, v in accepted.items() if len(v) != 1}
        assert not dup, "delivered more than once: %s" % dup
        for pid in pending_ids:
            names = [al["labels"]["alertname"] for al in accepted[pid][0]["alerts"]]
            assert names in (["RestartA"], ["RestartB"]), (pid, names)
        new_ids = sorted(set(accepted) - set(pending_ids))
        num = lambda k: int(re.fullmatch(r"webhook-0-(\d+)", k).group(1))  # noqa: E731
        assert all(num(k) > max(num(p) for p in pending_ids) for k in new_ids), (pending_ids, new_ids)
        assert sorted(new_ids, key=num) == sorted([nid, b_nid], key=num), \
            "unexpected extra notifications after the restart: %s" % new_ids
        a = slow_alert(S)
        assert a["state"] == "firing" and abs(rfc3339(a["activeAt"]) - a0) < 1e-3, a
        m = st.http("GET", S + "/metrics")[1].decode()
        assert re.search(r'^slod_alerting_queue_length\{target="webhook-0"\} 0$', m, re.M), m[-1500:]
        print("delivered after restart: %s (queued before the kill), %s (RestartB, which stopped firing "
              "while slod was down, resolved), then %s (RestartSlow fired %.2f s after activeAt, %.1f s after "
              "the restart); none twice" % (pending_ids, b_nid, nid, fired - a0, fired - restarted_at))

        # --- a reload that removes the rule group: the webhook is told its alerts resolved
        with open(rules, "w") as f:
            f.write("groups: []\n")
        status, body = st.http("POST", S + "/-/reload", b"")
        assert status == 200, body

        def removed_resolved():
            with Receiver.lock:
                got = {al["labels"]["alertname"]: k for k, bodies in Receiver.accepted.items()
                       for b in bodies for al in b["alerts"] if al["status"] == "resolved"}
            return got if {"RestartA", "RestartSlow"} <= set(got) else None
        got = st.wait_for(removed_resolved, 10, "resolved notifications for the removed group's alerts")
        time.sleep(1.5)
        with Receiver.lock:
            dup = {k: len(v) for k, v in Receiver.accepted.items() if len(v) != 1}
        assert not dup, dup
        assert st.get_json(S + "/api/v1/alerts")["data"]["alerts"] == []
        print("reload removing the group: RestartA and RestartSlow notified resolved (%s, %s)"
              % (got["RestartA"], got["RestartSlow"]))
        st.stop_clean(g, sp2)
        recv.shutdown()
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
