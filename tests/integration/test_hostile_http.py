#!/usr/bin/env python3
"""integration.hostile_http — slod attacked from the outside over HTTP.

Every route of docs/api.md gets malformed, huge, repeated and contradictory parameters, invalid
UTF-8 and NUL bytes, wrong methods, wrong content types and encodings, truncated and oversized
snappy bodies, partial requests that stall, many concurrent connections, reloads during queries,
queries that would load too many samples and queries that time out. Every answer must be a proper
HTTP status with the documented error shape (JSON {"status":"error","errorType":..,"error":..}
for the Prometheus API routes, one text line for the ingest routes); slod must not crash, hang
or grow without bound (VmRSS is checked), and must stop cleanly at the end (exit 0, and no
sanitizer report when the binary is an ASan/UBSan build).

When /usr/bin/prometheus (2.42) is given, a few bad requests are also sent to a real Prometheus
started with an empty config, and status, errorType and message must be the same. Where slod
deliberately differs (it follows Prometheus 3.x or bounds more), the case says so in `note`.

usage: test_hostile_http.py SLOD_BINARY [PROMETHEUS_BINARY]
"""
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402

MAX_SAMPLES = 20000  # --query.max-samples, so "too many samples" is cheap to reach
SERIES = 100
SAMPLES = 360        # per series, 10 s apart: 36,000 samples in the last hour


# ---- a raw HTTP/1.1 client (urllib refuses some of the requests sent here) ----

def raw(port, data, timeout=20, half_close=False):
    """Sends bytes, returns (status, head bytes, body bytes); status None when the connection
    closed or timed out without an answer."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    out = b""
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # an early answer (413) may close the connection before the body is sent
        if half_close:
            s.shutdown(socket.SHUT_WR)
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                return None, b"timeout", out
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep:
                cl = None
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        cl = int(v.strip())
                if cl is not None and len(body) >= cl:
                    break
    finally:
        s.close()
    if not out:
        return None, b"closed", b""
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head, body


def req(port, method, path, body=b"", headers=None, timeout=20):
    hd = {"Host": "127.0.0.1", "Connection": "close"}
    if body or method in ("POST", "PUT"):
        hd["Content-Length"] = str(len(body))
    hd.update(headers or {})
    if isinstance(path, str):
        path = path.encode()
    lines = b"".join(k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) + b"\r\n"
                     for k, v in hd.items() if v is not None)
    return raw(port, method.encode() + b" " + path + b" HTTP/1.1\r\n" + lines + b"\r\n" + body, timeout)


def query(port, path, params, method="GET", timeout=20):
    enc = urllib.parse.urlencode(params, doseq=True)
    if method == "GET":
        return req(port, "GET", path + ("?" + enc if enc else ""), timeout=timeout)
    return req(port, method, path, enc.encode(), {"Content-Type": "application/x-www-form-urlencoded"},
               timeout=timeout)


# ---- remote-write encoding: protobuf by hand, snappy as literals only (valid block format) ----

def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb(num, wt, payload):
    if wt == 2:
        return varint(num << 3 | 2) + varint(len(payload)) + payload
    if wt == 1:
        return varint(num << 3 | 1) + payload
    return varint(num << 3) + varint(payload)


def write_request(series):
    """series: [(labels as dict or [(name, value)], [(t_ms, value)])]; names/values str or bytes."""
    out = b""
    for labels, samples in series:
        ts = b""
        for k, v in (labels.items() if isinstance(labels, dict) else labels):
            k = k if isinstance(k, bytes) else k.encode()
            v = v if isinstance(v, bytes) else v.encode()
            ts += pb(1, 2, pb(1, 2, k) + pb(2, 2, v))
        for t, v in samples:
            ts += pb(2, 2, pb(1, 1, struct.pack("<d", v)) + pb(2, 0, t & 0xFFFFFFFFFFFFFFFF))
        out += pb(1, 2, ts)
    return out


def snappy(data):
    out = varint(len(data))
    for i in range(0, len(data), 60000):
        chunk = data[i:i + 60000]
        n = len(chunk) - 1
        out += bytes([n << 2]) if n < 60 else bytes([61 << 2]) + struct.pack("<H", n)
        out += chunk
    return out


RW = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
      "X-Prometheus-Remote-Write-Version": "0.1.0"}


def rw(port, body, headers=None):
    h = dict(RW)
    h.update(headers or {})
    return req(port, "POST", "/api/v1/write", body, h, timeout=30)


# ---- checks ----

failures = []


def check(name, got, status, etype=None, msg=None, text=None):
    """etype/msg: JSON error shape with that errorType and a message containing msg;
    text: a text body containing it."""
    st_, _, body = got
    problems = []
    if st_ != status:
        problems.append("status %s, want %s" % (st_, status))
    if etype is not None or msg is not None:
        try:
            j = json.loads(body)
            if j.get("status") != "error" or not isinstance(j.get("error"), str):
                problems.append("not the error shape")
            if etype is not None and j.get("errorType") != etype:
                problems.append("errorType %r, want %r" % (j.get("errorType"), etype))
            if msg is not None and msg not in j.get("error", ""):
                problems.append("error %r lacks %r" % (j.get("error"), msg))
        except ValueError:
            problems.append("body is not JSON")
    if text is not None and text.encode() not in body:
        problems.append("body lacks %r" % text)
    if problems:
        failures.append("%s: %s; body: %r" % (name, ", ".join(problems), body[:300]))
        print("FAIL", name, "; ".join(problems))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    return 0


def alive(port):
    try:
        return req(port, "GET", "/-/healthy", timeout=10)[0] == 200
    except OSError:
        return False


def main():
    slod = sys.argv[1]
    prom = sys.argv[2] if len(sys.argv) > 2 and os.path.exists(sys.argv[2]) else None
    t_begin = time.monotonic()
    with st.ProcGroup("hostile") as g:
        port = st.free_port()
        sp = st.start_slod(g, slod, port, os.path.join(g.dir, "data"), "--query.max-samples=%d" % MAX_SAMPLES,
                           "--web.max-body-bytes=4MiB")
        st.wait_ready(port, proc=sp)
        now_ms = int(time.time() * 1000)
        now = now_ms // 1000

        # data: SERIES series over the last hour
        series = [({"__name__": "hostile_total", "job": "api", "instance": "i%d" % i, "path": "a" * 40 + "!"},
                   [(now_ms - 3600_000 + k * 10_000, float(k)) for k in range(SAMPLES)]) for i in range(SERIES)]
        check("seed data", rw(port, snappy(write_request(series))), 204)

        run_query_cases(port, now)
        run_metadata_cases(port)
        run_method_cases(port)
        run_ingest_cases(port, now_ms)
        run_http_cases(port)
        run_load_cases(port, sp, now)
        if prom:
            compare_with_prometheus(g, prom, port)

        assert alive(port), "slod stopped answering"
        rss = rss_kb(sp.pid)
        print("VmRSS at the end: %d MiB" % (rss // 1024))
        if not os.environ.get("ASAN_OPTIONS") and "asan" not in slod:
            # release build: bodies are bounded at 4 MiB here, queries by max-samples
            if rss > 400 * 1024:
                failures.append("VmRSS %d MiB after the attack (> 400 MiB)" % (rss // 1024))
        st.stop_clean(g, sp)
    print("%.1f s" % (time.monotonic() - t_begin))
    if failures:
        print("\n%d failures:" % len(failures))
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print("integration.hostile_http: OK")


def run_query_cases(port, now):
    Q, R = "/api/v1/query", "/api/v1/query_range"
    bad = "bad_data"
    cases = [
        # times
        ("time NaN", Q, {"query": "1", "time": "NaN"}, 400, bad,
         "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"NaN\" to a valid timestamp"),
        ("time Inf", Q, {"query": "1", "time": "Inf"}, 400, bad, "cannot parse \"Inf\""),
        ("time garbage", Q, {"query": "1", "time": "yesterday"}, 400, bad, "Invalid time value for 'time'"),
        ("time bad RFC3339", Q, {"query": "1", "time": "2026-02-30T25:00:00Z"}, 400, bad, "Invalid time value"),
        # beyond 2^61 ms the engine refuses (Prometheus 2.42 answers with a wrapped-around time)
        ("time far future", Q, {"query": "1", "time": "9.1e15"}, 400, bad, "out of range"),
        ("time far past", Q, {"query": "time()", "time": "-9.1e15"}, 400, bad, "out of range"),
        ("time large ok", Q, {"query": "vector(1)", "time": "2e15"}, 200, None, None),
        # query_range: was a UBSan-fatal signed overflow of end - start
        ("range whole int64", R, {"query": "1", "start": "-9.1e15", "end": "9.1e15", "step": "1e9"}, 400, bad,
         "exceeded maximum resolution of 11,000 points per timeseries"),
        ("range far end", R, {"query": "hostile_total", "start": "2.4e15", "end": "2.4e15", "step": "1"}, 400,
         bad, "out of range"),
        ("range wide big step", R, {"query": "rate(hostile_total[5m])", "start": "-2e15", "end": "-1.99999e15",
                                    "step": "9e9"}, 200, None, None),
        ("range subquery wide", R, {"query": "max_over_time(hostile_total[5m:1m])", "start": "2e15",
                                    "end": "2e15", "step": "9e9"}, 200, None, None),
        ("range 1ms over years", R, {"query": "hostile_total", "start": "2000-01-01T00:00:00Z",
                                     "end": "2026-01-01T00:00:00Z", "step": "1ms"}, 400, bad,
         "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
        ("range 11001 points", R, {"query": "1", "start": "0", "end": "11001", "step": "1"}, 400, bad, "11,000"),
        ("range 11000 points", R, {"query": "1", "start": "0", "end": "10999", "step": "1"}, 200, None, None),
        ("range step 0", R, {"query": "1", "start": "0", "end": "10", "step": "0"}, 400, bad,
         "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer"),
        ("range step negative", R, {"query": "1", "start": "0", "end": "10", "step": "-5s"}, 400, bad, "step"),
        ("range step NaN", R, {"query": "1", "start": "0", "end": "10", "step": "NaN"}, 400, bad, "step"),
        ("range step overflows", R, {"query": "1", "start": "0", "end": "10", "step": "9e15"}, 400, bad,
         "invalid parameter \"step\": cannot parse \"9e15\" to a valid duration"),
        ("range step 293y", R, {"query": "1", "start": "0", "end": "10", "step": "293y"}, 400, bad, "step"),
        ("range no step", R, {"query": "1", "start": "0", "end": "10"}, 400, bad,
         "invalid parameter \"step\": cannot parse \"\" to a valid duration"),
        ("range nothing", R, {}, 400, bad, "invalid parameter \"start\": cannot parse \"\" to a valid timestamp"),
        ("range end before start", R, {"query": "1", "start": "10", "end": "0", "step": "1"}, 400, bad,
         "invalid parameter \"end\": end timestamp must not be before start time"),
        ("range of a range vector", R, {"query": "hostile_total[5m]", "start": "0", "end": "10", "step": "1"}, 400,
         bad, "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector"),
        # timeout / lookback_delta
        ("timeout garbage", Q, {"query": "1", "timeout": "abc"}, 400, bad,
         "invalid parameter \"timeout\": cannot parse \"abc\" to a valid duration"),
        ("timeout negative", Q, {"query": "1", "timeout": "-1s"}, 400, bad, "timeout"),
        ("timeout huge", Q, {"query": "1", "timeout": "9e15"}, 400, bad, "timeout"),
        ("lookback negative", Q, {"query": "1", "lookback_delta": "-1s"}, 400, bad, "lookback delta"),
        ("lookback huge", Q, {"query": "hostile_total", "lookback_delta": "9e15"}, 400, bad, "lookback"),
        # query text
        ("query empty", Q, {"query": ""}, 400, bad, "parse error: no expression found in input"),
        ("query absent", Q, {}, 400, bad, "no expression found in input"),
        ("query NUL", Q, {"query": "hostile_total\x00{}"}, 400, bad, "NUL byte"),
        ("query bad UTF-8 in string", Q, {"query": b"hostile_total{a=\"\xff\xfe\"}"}, 400, bad,
         "invalid parameter \"query\": 1:17: parse error: invalid UTF-8 rune"),
        ("query bad UTF-8 byte", Q, {"query": b"\xff"}, 400, bad, "1:1: parse error: unexpected character"),
        ("query too long", Q, {"query": "1" + "+1" * 40000}, 400, bad, "query too long"),
        ("query too deep parens", Q, {"query": "(" * 2000 + "1" + ")" * 2000}, 400, bad, "too deeply nested"),
        ("query too deep unary", Q, {"query": "-" * 5000 + "1"}, 400, bad, "too deeply nested"),
        ("query too deep calls", Q, {"query": "abs(" * 3000 + "1" + ")" * 3000}, 400, bad, "too deeply nested"),
        ("query deep but allowed", Q, {"query": "sum(" * 400 + "hostile_total" + ")" * 400}, 200, None, None),
        ("query long binop chain", Q, {"query": "sum(hostile_total{instance=\"i1\"})" + " + vector(1)" * 900}, 200, None, None),
        ("repeated query param", Q, {"query": ["1", "2"]}, 200, None, None),
        ("bad regex", Q, {"query": 'hostile_total{job=~"("}'}, 400, bad, "error parsing regexp: missing closing )"),
        ("regex backreference", Q, {"query": 'hostile_total{job=~"(a)\\\\1"}'}, 400, bad, "invalid escape sequence"),
        ("regex lookahead", Q, {"query": 'hostile_total{job=~"(?=a)a"}'}, 400, bad, "invalid or unsupported Perl syntax"),
        ("regex nested repeat", Q, {"query": 'hostile_total{job=~"a{1000}{1000}"}'}, 400, bad,
         "invalid nested repetition operator"),
        ("regex too large", Q, {"query": 'hostile_total{job=~"((a{100}){100}){100}"}'}, 400, bad, "error parsing regexp"),
        # catastrophic for backtracking engines: slod's PCRE2 has a match limit and RE2 semantics
        ("catastrophic regex 1", Q, {"query": 'count(hostile_total{path=~"(a+)+$"})'}, 200, None, None),
        ("catastrophic regex 2", Q, {"query": 'count(hostile_total{path=~"(a|aa)+$"})'}, 200, None, None),
        ("catastrophic regex 3", Q, {"query": 'count(hostile_total{path=~"(.*a){20}"})'}, 200, None, None),
        # Grafana's "All" of a 2,000-value variable: more than PCRE2 (64 KiB of code) can compile
        ("regex 2000 alternatives", Q, {"query": 'count(hostile_total{instance=~"%s"})' % "|".join(
            "i%d" % i for i in range(2000))}, 200, None, None),
        ("regex 2000 escaped alternatives", Q, {"query": 'count(hostile_total{path=~"%s"})' % "|".join(
            "host-%d\\\\.example\\\\.com:9100" % i for i in range(2000))}, 200, None, None),
        ("label_replace catastrophic", Q,
         {"query": 'count(label_replace(hostile_total, "x", "$1", "path", "(a+)+$"))'}, 200, None, None),
        ("label_replace bad regex", Q, {"query": 'label_replace(hostile_total, "a", "$1", "job", "(")'}, 422,
         "execution", "invalid regular expression in label_replace(): ("),
        ("topk huge k", Q, {"query": "topk(9e18, hostile_total)"}, 200, None, None),
        ("topk NaN", Q, {"query": "topk(NaN, hostile_total)"}, 422, "execution", "Parameter value is NaN"),
        ("count_values bad label", Q, {"query": 'count_values("\\xff", hostile_total)'}, 422, "execution",
         "invalid label name"),
        ("offset beyond 292y", Q, {"query": "hostile_total offset 300y"}, 400, bad, "duration out of range"),
        ("@ far future, offset", Q, {"query": "hostile_total offset -292y @ 9223372036854775"}, 200, None, None),
        ("@ far future subquery", Q,
         {"query": "max_over_time(hostile_total[292y:292y] offset -292y @ 9223372036854775)"}, 200, None, None),
        ("@ out of bounds", Q, {"query": "hostile_total @ 1e300"}, 400, bad, "timestamp out of bounds for @ modifier"),
        # too many samples (max-samples 20000; the last hour holds 36,000)
        ("too many samples range", Q, {"query": "hostile_total[1h]"}, 422, "execution",
         "query processing would load too many samples into memory in query execution"),
        ("too many samples subquery", Q, {"query": "max_over_time(max_over_time(hostile_total[1h:1s])[1h:1s])"},
         422, "execution", "query processing would load too many samples into memory"),
        ("too many samples range query", R, {"query": "hostile_total", "start": now - 3600, "end": now,
                                             "step": "1"}, 422, "execution", "too many samples"),
        # query timeout
        ("query timeout", R, {"query": 'count(label_replace(hostile_total{instance=~"i[0-4]"}, "x", "$1", "path", "(a|aa)+$"))',
                              "start": now - 10999,
                              "end": now, "step": "1", "timeout": "1ms"}, 503, "timeout",
         "query timed out in expression evaluation"),
    ]
    for name, path, params, status, etype, msg in cases:
        for method in ("GET", "POST"):
            check("%s %s" % (name, method), query(port, path, params, method), status, etype, msg)
            if status == 200 or name.startswith("query timeout"):
                break  # once is enough for the expensive or happy ones


def run_metadata_cases(port):
    bad = "bad_data"
    for path in ("/api/v1/series", "/api/v1/export", "/federate"):
        check(path + " no match[]", query(port, path, {}), 400, bad, "no match[] parameter provided")
        check(path + " bad match[]", query(port, path, {"match[]": "{"}), 400, bad,
              "invalid parameter \"match[]\": 1:2: parse error: unexpected end of input inside braces")
        check(path + " empty matchers", query(port, path, {"match[]": '{job=~".*"}'}), 400, bad,
              "match[] must contain at least one non-empty matcher")
        check(path + " NUL", query(port, path, {"match[]": "hostile_total\x00"}), 400, bad, "NUL byte")
    cases = [
        ("series huge limit", "/api/v1/series", {"match[]": "hostile_total", "limit": "9" * 30}, 400, bad,
         "invalid parameter \"limit\""),
        ("series negative limit", "/api/v1/series", {"match[]": "hostile_total", "limit": "-1"}, 400, bad, "limit"),
        ("series bad start", "/api/v1/series", {"match[]": "hostile_total", "start": "x"}, 400, bad,
         "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"x\" to a valid timestamp"),
        ("series NaN end", "/api/v1/series", {"match[]": "hostile_total", "end": "NaN"}, 400, bad, "'end'"),
        ("labels bad match[]", "/api/v1/labels", {"match[]": "{"}, 400, bad, "parse error"),
        ("label values bad name", "/api/v1/label/bad-name/values", {}, 400, bad, "invalid label name: \"bad-name\""),
        ("label values UTF-8 name", "/api/v1/label/%C3%A9/values", {}, 400, bad, "invalid label name"),
        ("label values bad escape", "/api/v1/label/%ZZ/values", {}, 400, bad, "invalid label name"),
        ("slo unknown", "/api/v1/slos/nope", {}, 404, "not_found", "SLO \"nope\" not found"),
        ("slo history step 0", "/api/v1/slos/checkout-requests-availability/history", {"step": "0"}, 400, bad,
         "step"),
        ("slo history 1ms", "/api/v1/slos/checkout-requests-availability/history", {"step": "0.001", "start": "0"},
         400, bad, "exceeded maximum resolution"),
        # was a signed overflow of end - start
        ("slo history whole int64", "/api/v1/slos/checkout-requests-availability/history",
         {"start": "-9.1e15", "end": "9.1e15"}, 400, bad, "out of range"),
        ("slo history end<start", "/api/v1/slos/checkout-requests-availability/history",
         {"start": "100", "end": "0"}, 400, bad, "invalid range"),
        ("rules bad type", "/api/v1/rules", {"type": "zzz"}, 400, bad,
         "invalid parameter \"type\": not supported value \"zzz\""),
        ("tsdb status bad limit", "/api/v1/status/tsdb", {"limit": "x"}, 400, bad, "limit"),
    ]
    for name, path, params, status, etype, msg in cases:
        check(name, query(port, path, params), status, etype, msg)
    for name, path, params in [
        ("series many match[]", "/api/v1/series", {"match[]": ['hostile_total{instance="i%d"}' % i for i in range(300)]}),
        ("series max limit", "/api/v1/series", {"match[]": "hostile_total", "limit": str(2**63 - 1)}),
        ("tsdb status huge limit", "/api/v1/status/tsdb", {"limit": "99999999999999"}),
        ("notifications bad UTF-8", "/api/v1/notifications", {"slo": b"\xff"}),
        ("exemplars garbage", "/api/v1/query_exemplars", {"query": "(("}),
    ]:
        check(name, query(port, path, params, "POST" if "many" in name else "GET"), 200)


def run_method_cases(port):
    for m, path in [("DELETE", "/api/v1/query"), ("PUT", "/api/v1/query"), ("PATCH", "/api/v1/series"),
                    ("GET", "/api/v1/write"), ("GET", "/-/reload"), ("FOO", "/api/v1/query"),
                    ("POST", "/api/v1/status/buildinfo"), ("GET", "/api/v1/import/prometheus")]:
        check("%s %s" % (m, path), req(port, m, path), 405, text="method not allowed")
    check("unknown path", req(port, "GET", "/api/v2/query"), 404, text="404 page not found")
    check("empty label name path", req(port, "GET", "/api/v1/label//values"), 404)
    check("path traversal", req(port, "GET", "/ui/../../../../etc/passwd"), 404)
    check("path traversal escaped", req(port, "GET", "/ui/%2e%2e/%2e%2e/etc/passwd"), 404)
    check("HEAD query", req(port, "HEAD", "/api/v1/query?query=1"), 200)
    check("form bad escape", req(port, "POST", "/api/v1/query", b"query=%zz",
                                 {"Content-Type": "application/x-www-form-urlencoded"}), 400, "bad_data",
          "error parsing form values")
    check("form with charset", req(port, "POST", "/api/v1/query", b"query=1",
                                   {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}), 200)
    check("form without content type", req(port, "POST", "/api/v1/query", b"query=1"), 400, "bad_data",
          "no expression found")
    check("form body NUL", req(port, "POST", "/api/v1/query", b"query=1%00",
                               {"Content-Type": "application/x-www-form-urlencoded"}), 400, "bad_data", "NUL byte")


def run_ingest_cases(port, now_ms):
    one = write_request([({"__name__": "hostile_rw", "a": "b"}, [(now_ms, 1.0)])])
    cases = [
        ("rw ok", rw(port, snappy(one)), 204, None),
        ("rw no headers", rw(port, snappy(one), {"Content-Type": None, "Content-Encoding": None,
                                                 "X-Prometheus-Remote-Write-Version": None}), 204, None),
        ("rw json", rw(port, snappy(one), {"Content-Type": "application/json"}), 415, "Content-Type"),
        ("rw unknown proto", rw(port, snappy(one), {"Content-Type": "application/x-protobuf;proto=foo.Bar"}), 415,
         None),
        ("rw gzip", rw(port, snappy(one), {"Content-Encoding": "gzip"}), 415, "snappy"),
        ("rw not compressed", rw(port, one), 400, "snappy"),
        ("rw empty body", rw(port, b""), 400, "snappy"),
        ("rw truncated snappy", rw(port, snappy(one)[:-3]), 400, "snappy"),
        ("rw truncated header", rw(port, b"\xff\xff"), 400, "snappy"),
        ("rw declares 4 GiB", rw(port, varint(2**32 - 1) + b"\x00" * 10), 413, "exceeds the limit"),
        ("rw bad copy offset", rw(port, varint(10) + b"\x00a" + bytes([0x01 | (5 << 2), 200])), 400, "snappy"),
        ("rw protobuf garbage", rw(port, snappy(bytes(range(256)) * 4)), 400, "protobuf"),
        ("rw protobuf truncated", rw(port, snappy(one[:-2])), 400, "protobuf"),
        ("rw bad UTF-8 value", rw(port, snappy(write_request([({"__name__": "hostile_rw", "a": b"\xff"},
                                                               [(now_ms, 1.0)])]))), 400, "invalid UTF-8"),
        ("rw NUL value", rw(port, snappy(write_request([({"__name__": "hostile_rw", "a": b"x\x00y"},
                                                         [(now_ms, 1.0)])]))), 400, "NUL"),
        ("rw bad metric name", rw(port, snappy(write_request([({"__name__": "a b"}, [(now_ms, 1.0)])]))), 400,
         "invalid metric name"),
        ("rw duplicate label", rw(port, snappy(write_request([([("__name__", "hostile_rw"), ("a", "b"), ("a", "c")],
                                                               [(now_ms, 1.0)])]))), 400, "duplicate label name"),
        ("rw value too long", rw(port, snappy(write_request([({"__name__": "hostile_rw", "a": "x" * 100000},
                                                              [(now_ms, 1.0)])]))), 400, "exceeds the limit"),
        ("rw name too long", rw(port, snappy(write_request([({"__name__": "hostile_rw", "a" * 2000: "b"},
                                                             [(now_ms, 1.0)])]))), 400, "exceeds the limit"),
        ("rw too many labels", rw(port, snappy(write_request([(dict([("__name__", "hostile_rw")] +
                                                                    [("l%03d" % i, "v") for i in range(200)]),
                                                               [(now_ms, 1.0)])]))), 400, "too many labels"),
        ("rw far future", rw(port, snappy(write_request([({"__name__": "hostile_rw", "a": "f"},
                                                          [(2**63 - 1, 1.0)])]))), 400, "future"),
        ("rw min int64 time", rw(port, snappy(write_request([({"__name__": "hostile_rw", "a": "o"},
                                                              [(-2**63, 1.0)])]))), 400, "too old"),
        ("rw too many series", rw(port, snappy(b"\x0a\x00" * 1_100_000)), 413, "exceed the limit"),
        ("import syntax error", req(port, "POST", "/api/v1/import/prometheus", b"up{a=\"b\" 1\n"), 400, "line 1:"),
        ("import NUL", req(port, "POST", "/api/v1/import/prometheus", b"up{a=\"\x00\"} 1\n"), 400, "NUL"),
        ("import bad UTF-8", req(port, "POST", "/api/v1/import/prometheus", b"up{a=\"\xff\"} 1\n"), 400, "UTF-8"),
        ("import huge timestamp", req(port, "POST", "/api/v1/import/prometheus", b"up 1 99999999999999999999\n"),
         400, "invalid timestamp"),
        ("import braces", req(port, "POST", "/api/v1/import/prometheus", b"up" + b"{" * 100000 + b"\n"), 400,
         "line 1:"),
    ]
    for name, got, status, text in cases:
        check(name, got, status, text=text)
    # announced body over the limit: 413 before the body is read (the client may see a reset)
    got = raw(port, b"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n")
    check("rw Content-Length over limit", got, 413)
    check("rw chunked over limit", raw(port, b"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                             b"Connection: close\r\n\r\n" + (b"100000\r\n" + b"\x00" * 0x100000 + b"\r\n") * 6
                                             + b"0\r\n\r\n"), 413, text="request body too large")
    for name, data in [("bad Content-Length", b"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n"),
                       ("negative Content-Length", b"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"),
                       ("bad chunk", b"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
                       ("garbage request line", b"\x00\x01\x02 \xff\xfe\r\n\r\n"),
                       ("no version", b"GET /-/healthy\r\n\r\n")]:
        st_ = raw(port, data, half_close=True)[0]
        if st_ not in (400, 505) and not (st_ is None and name.startswith("garbage")):
            failures.append("%s: status %s, want 400" % (name, st_))
    # nothing of the rejected requests is visible; the good ones are
    got = query(port, "/api/v1/series", {"match[]": "hostile_rw"})
    check("only valid series stored", got, 200)
    names = sorted(s.get("a", "") for s in json.loads(got[2])["data"])
    if names != ["b"]:
        failures.append("stored hostile_rw series: %r, want only a=b" % names)


def run_http_cases(port):
    check("URL over the header memory", req(port, "GET", "/api/v1/query?query=" + "a" * 300000), 414)
    check("huge header", req(port, "GET", "/api/v1/query?query=1", headers={"X-Big": "a" * 300000}), 431)
    check("10000 headers", raw(port, b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n" +
                               b"".join(b"X-%d: y\r\n" % i for i in range(10000)) + b"\r\n"), 431)
    # libmicrohttpd alone hung on these (no pool left for its own 431) until the 120 s timeout
    for n in (3000, 6000, 20000):
        check("GET with %d URL parameters" % n,
              req(port, "GET", "/api/v1/query?" + "&".join("p%d=1" % i for i in range(n)) + "&query=1", timeout=10),
              414, text="too many URL parameters")
    check("GET with 1000 URL parameters", req(port, "GET", "/api/v1/query?" + "&".join("p%d=1" % i for i in range(1000))
                                             + "&query=1"), 200)
    check("HTTP/1.0", raw(port, b"GET /-/healthy HTTP/1.0\r\n\r\n"), 200)
    check("HTTP/2 preface", raw(port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505)
    check("form 100k params", req(port, "POST", "/api/v1/series", b"&".join([b"match[]=hostile_total"] * 100000),
                                  {"Content-Type": "application/x-www-form-urlencoded"}, timeout=60), 200)


def run_load_cases(port, sp, now):
    # slow clients: partial headers and partial bodies that stall must not block anyone else
    socks = []
    for i in range(200):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /api/v1/query?query=1 HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    for i in range(30):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
        socks.append(s)
    t0 = time.monotonic()
    check("healthy while clients stall", req(port, "GET", "/-/healthy", timeout=10), 200)
    check("query while clients stall", query(port, "/api/v1/query", {"query": "sum(hostile_total)"}, timeout=10), 200)
    if time.monotonic() - t0 > 5:
        failures.append("answers took %.1f s while clients stalled" % (time.monotonic() - t0))
    for s in socks:
        s.close()

    # many concurrent clients, reloads during queries
    results = {}
    lock = threading.Lock()
    stop = time.monotonic() + 6

    def bump(k):
        with lock:
            results[k] = results.get(k, 0) + 1

    def querier():
        while time.monotonic() < stop:
            try:
                bump(("range", query(port, "/api/v1/query_range", {"query": "sum(rate(hostile_total{instance=~\"i[0-9]\"}[5m]))",
                                                                   "start": now - 3600, "end": now, "step": 15},
                                     timeout=30)[0]))
                bump(("slos", query(port, "/api/v1/slos", {}, timeout=30)[0]))
                bump(("rules", query(port, "/api/v1/rules", {}, timeout=30)[0]))
            except OSError as e:
                bump(("error", type(e).__name__))

    def reloader():
        while time.monotonic() < stop:
            try:
                bump(("reload", req(port, "POST", "/-/reload", timeout=30)[0]))
            except OSError as e:
                bump(("error", type(e).__name__))
            time.sleep(0.02)

    def burst():
        try:
            bump(("burst", query(port, "/api/v1/query", {"query": "count(hostile_total)"}, timeout=30)[0]))
        except OSError as e:
            bump(("error", type(e).__name__))

    threads = [threading.Thread(target=querier) for _ in range(4)] + [threading.Thread(target=reloader)]
    threads += [threading.Thread(target=burst) for _ in range(300)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("concurrent load:", results)
    bad = {k: v for k, v in results.items() if k[1] != 200}
    if bad or results.get(("reload", 200), 0) == 0 or results.get(("burst", 200), 0) != 300:
        failures.append("concurrent load: %r" % results)

    # memory stays bounded when large bodies and big queries repeat
    before = rss_kb(sp.pid)
    for _ in range(10):
        rw(port, b"\x00" * ((4 << 20) - 1024))
        req(port, "POST", "/api/v1/import/prometheus", b"up{a=\"" + b"x" * (3 << 20) + b"\"} 1\n")
        query(port, "/api/v1/query", {"query": "hostile_total[1h]"})
    grown = rss_kb(sp.pid) - before
    print("VmRSS growth over 30 large requests: %d KiB" % grown)
    if grown > 200 * 1024:
        failures.append("VmRSS grew by %d MiB over 30 large requests" % (grown // 1024))


def compare_with_prometheus(g, prom, port):
    """A few bad requests against a real Prometheus 2.42: same status, errorType and message."""
    pport = st.free_port()
    cfg = os.path.join(g.dir, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global: {}\n")
    p = g.spawn([prom, "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(g.dir, "prom"),
                 "--web.listen-address=127.0.0.1:%d" % pport], "prometheus")
    st.wait_for(lambda: st.http("GET", "http://127.0.0.1:%d/-/ready" % pport, timeout=2)[0] == 200, 30,
                "prometheus ready")
    Q, R = "/api/v1/query", "/api/v1/query_range"
    same = [
        (Q, {"query": "1", "time": "yesterday"}),
        (Q, {"query": "1", "timeout": "abc"}),
        (Q, {"query": "1", "timeout": "-1s"}),
        (Q, {"query": b"up{a=\"\xff\"}"}),
        (Q, {"query": "sum(up"}),
        (Q, {"query": 'label_replace(vector(1), "a", "$1", "b", "(")'}),
        (R, {"query": "1", "start": "0", "end": "10", "step": "0"}),
        (R, {"query": "1", "start": "10", "end": "0", "step": "1"}),
        (R, {"query": "1", "start": "0", "end": "100000", "step": "1"}),
        (R, {"query": "1", "start": "0", "end": "10"}),
        (R, {"query": "up[5m]", "start": "0", "end": "10", "step": "1"}),
        ("/api/v1/series", {"match[]": '{job=~".*"}'}),
        ("/api/v1/series", {"match[]": "up", "start": "x"}),
        ("/api/v1/label/bad-name/values", {}),
        ("/api/v1/rules", {"type": "zzz"}),
    ]
    for path, params in same:
        a, b = query(port, path, params), query(pport, path, params)
        ja, jb = json.loads(a[2]), json.loads(b[2])
        if (a[0], ja.get("errorType"), ja.get("error")) != (b[0], jb.get("errorType"), jb.get("error")):
            failures.append("differs from Prometheus 2.42 for %s %r:\n    slod: %s %s\n    prom: %s %s"
                            % (path, params, a[0], a[2][:200], b[0], b[2][:200]))
    # Deliberate differences (not asserted against Prometheus):
    # - time beyond 2^61 ms, or NaN: slod 400; 2.42 answers 200 with a wrapped-around timestamp.
    # - max-samples: slod holds the data of every selector of a query at once and counts it all, so
    #   `sum(x) + sum(x) + ...` (900 times) can fail where 2.42 (which counts per step) answers.
    # - topk(NaN, ...): slod "Parameter value is NaN" (3.x); 2.42 "Scalar value NaN overflows int64".
    # - query nesting: slod bounds the parse depth (400 "too deeply nested"); 2.42 has no bound.
    # - label_replace(..., "1a", ...): slod accepts UTF-8 label names (Prometheus 3.x); 2.42 says 422.
    # - limit=-1 or beyond int64 on metadata routes: slod 400; 2.42 has no limit parameter (ignores it).
    # - /federate without match[]: slod 400 "no match[] parameter provided"; 2.42 answers 200 empty.
    # - an empty query: slod "unknown position: parse error: ..." as Prometheus 3.x, 2.42 says "1:1: ...".
    # - a %00 in a parameter: slod 400 "NUL byte (%00) not allowed"; 2.42 parses the NUL.
    p.terminate()


if __name__ == "__main__":
    main()
