"""test_promql_diff.py — differential PromQL test: slod against a real Prometheus 2.42.

usage: test_promql_diff.py SLOD [PROMETHEUS [PROMTOOL]]   (env PDIFF_SEED, PDIFF_QUERIES, PDIFF_VERBOSE=1,
       PDIFF_ONLY=<query>: run one query and print both answers)

* A seeded data set (about 50 series, 2 h at 15 s spacing, varied job/instance/code/method/le labels):
  counters with resets (one le bucket resets alone), gauges with negative values, NaN and +-Inf samples, le buckets, series that stop
  half way (staleness by absence; the text formats carry no stale markers). Prometheus gets it through
  `promtool tsdb create-blocks-from openmetrics` into its --storage.tsdb.path before it starts; slod
  through POST /api/v1/import/prometheus with millisecond timestamps. The raw samples are checked first.
* A seeded grammar generates 500 valid queries (selectors with = != =~ !~, the range functions,
  aggregations with by/without incl. topk/bottomk/quantile/count_values/stddev, binary operators with
  on/ignoring/group_left/bool, and/or/unless, histogram_quantile, label_replace, clamp, subqueries,
  offset (negative too), @ (timestamps, start(), end()), math and date functions, absent*, scalar()/
  vector(), unary minus, atan2, group_right). Each one runs as an instant query at three evaluation times
  and as a 10-minute range query (step 15 s, 37 s, 1 m or 2 m) on both HTTP APIs; the results must agree: error vs success, result
  type, the set of label sets and every value to a relative 1e-9 (NaN == NaN).

Deliberate Prometheus 2.x vs 3.x differences (slod follows 3.x) are AVOIDED, not papered over:
  1. Range windows: 3.x is left-open, 2.42 left-closed. No window edge may coincide with a sample:
     samples sit at t0 + k*15 s + D ms (D chosen so promtool's float-seconds parsing keeps every
     timestamp exact), top-level evaluation times at a sample time + 7 ms (range queries step whole
     seconds from such a start), and subquery inner steps at whole multiples of their step (whole
     seconds, never + D ms). Offsets are whole minutes, so they keep that property.
  2. Delayed __name__ removal (3.x keeps __name__ through some functions until the end): when two answers
     differ ONLY in __name__, they are compared without __name__ and counted as "name-only"; the count is
     reported and such pairs are not failures. The ones seen are vector/vector comparison filters over a
     name-dropping function, e.g. `rate(x[5m]) < ignoring(code) group_left sum without(code)(...)`:
     2.42 drops __name__ in rate(); 3.x with delayed name removal keeps it, because its VectorBinop
     marks comparison results DropName only for `bool` (promql/engine.go), and slod does the same.
  3. rate()/increase() extrapolation near a series' first samples (3.x changed the zero-point clamp):
     every series starts at t0 and every window (range <= 30m, offset <= 10m, subquery <= 30m) ends at
     least 1h after t0, so no window ever reaches a series start. A subquery's inner series can still
     start inside a window when the inner expression filters (`(x > 2)[10m:2m]`): there 2.42 clamps
     the start extrapolation to the zero point BEFORE applying the 1.1 x average-interval threshold
     and 3.x after it (prometheus/prometheus#13725; measured: 0.0316758 vs 0.0313938), so rate()
     over a subquery only gets a raw selector or rate() as its inner expression.
  4. holt_winters (renamed double_exponential_smoothing in 3.x) is never generated.
  5. The order of result series is ignored (sort()/sort_desc() included).
  6. topk/bottomk only see tie-free inputs (raw gauges, rate() and deriv() of random-walk series):
     which of several equal-valued series is kept is unspecified in PromQL (it falls out of Prometheus's
     heap and input order), so e.g. topk over `x ^ big` (+Inf everywhere) or over `bool` outputs would
     compare implementation accidents.
  7. stddev/stdvar aggregations only see finite inputs (`(expr) > -Inf < +Inf`): Prometheus 3.0 (PR
     prometheus/prometheus#14941, "Fix stddev/stdvar when aggregating histograms, NaNs, and
     infinities") returns NaN for a group holding a single NaN or Inf where 2.42 returns 0; slod follows
     3.x.
  8. predict_linear over an @-pinned range is not generated: in a range query Prometheus 2.42 feeds
     it a window that shrinks from step to step (values drift, then the series ends after about
     range/step points; prometheus/prometheus#11708, "increasingly nonsensical results", tracked by
     PR #13504). slod evaluates the pinned window at every step.
  9. exp/sinh/cosh only see arguments clamped to [-700, 700]: Prometheus inherits Go's math.Exp, whose
     amd64 assembly overflows to +Inf early (measured: exp(709.5) = +Inf, cosh(709.69) = +Inf in 2.42;
     Go documents "very large values overflow to 0 or +Inf", golang/go#14932), while libm stays finite
     up to 709.78 (exp) / 710.47 (cosh). A toolchain/platform artifact, not PromQL semantics.
  10. No subquery inside another subquery: inner evaluation times are whole multiples of the outer
     step, so an inner subquery's window edge (t - range) lands exactly on one of its own grid points,
     which 2.42 includes (`startTimestamp < start - range` then step on) and 3.x excludes
     (`<=`, left-open windows; visible side by side in promql/engine.go of both versions).
  11. sin/cos/tan only see arguments clamped to [-1000, 1000]: for a huge argument (tan(sinh(50)),
     ~2.6e21) a one-ulp difference between libm and Go's math in the function below (here sinh) is
     ~5e5 in absolute terms, so the two answers are unrelated; that is conditioning, not semantics.
  12. label_replace/label_join with a destination name that is invalid only under the legacy scheme
     ("bad-name") are not generated: 3.x validates label names as UTF-8 and accepts them
     (prometheus/prometheus#16479, prometheus/compliance#181); "\\xff" (invalid in both) is used.
  13. A filter comparison (no `bool`) whose matching would fail only for pairs the filter drops is
     not generated (group_left(x) over an x the left side is grouped by): 2.42 checks matching only
     for surviving pairs, 3.x since prometheus/prometheus#17668 ("Fix insufficient cardinality
     checking for filter ops") for every pair, as slod does (conformance operators.test:329).
  14. count_values only over raw samples or floor(clamp(x, -1e9, 1e9)) values: a computed value (avg_over_time,
     stddev, ...) may differ in its last ulp between summation algorithms (2.42 keeps an incremental
     mean in avg_over_time, 3.x sums with Kahan compensation and divides), harmless within 1e-9 as a
     value but a different label value once count_values formats it.
  15. Date functions (hour(), day_of_month(), ...) only see values within +-1e10 s (`x > -1e10 <
     1e10`, which also drops NaN): for NaN or a value like 5e303 Go converts float64 -> int64 with an
     unspecified result (amd64: the minimum int64) before time.Unix, so the "date" is an accident of
     the platform.
  16. `%` only takes a raw selector as its vector operand: `time() % cos(x)` divides ~1.8e9 by a
     small computed value, so a one-ulp difference between libm's and Go's cos moves the remainder
     by ~1e-6 relative (conditioning, as in 11).
  17. deriv()/predict_linear() never see the temperature gauges (the ones holding +-Inf): 2.42's
     Kahan-Neumaier sum turns an infinite term into a NaN compensation, so the regression is NaN,
     where later engines reset the compensation once the sum is infinite (`case math.IsInf(t, 0):
     c = 0` in kahanSumInc) and slod, like them, returns +-Inf (measured: predict_linear over a
     window holding -Inf: slod -Inf, 2.42 NaN).

Real slod bugs this test found (fixed, each with a unit test in tests/promql/test_engine.c):
  * a subquery written without a step (`x[10m:]`) used the RANGE QUERY's step instead of the default
    evaluation interval (1m), so every step-less subquery in a range query with another step
    disagreed (test_stepless_subquery_in_range_query).
  * count_values wrote label values past 40 characters with an exponent ("5.07e+303") where
    Prometheus writes strconv.FormatFloat(v, 'f', -1, 64), i.e. every digit
    (test_count_values_full_decimal).
"""
import datetime
import json
import math
import os
import random
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402

SEED = int(os.environ.get("PDIFF_SEED", "424242"))
NQUERIES = int(os.environ.get("PDIFF_QUERIES", "500"))
VERBOSE = os.environ.get("PDIFF_VERBOSE") == "1"
STEP_MS = 15000
SPAN_MS = 2 * 3600 * 1000
TOL = 1e-9
OFF_MS = 7  # evaluation times sit 7 ms after a sample time


# ---------------------------------------------------------------- data set
def make_data(t0):
    """Returns [(labels dict incl. __name__, [(ms, value)])]. Every series starts at t0."""
    rnd = random.Random(SEED)
    n = SPAN_MS // STEP_MS + 1
    stamps = [t0 + i * STEP_MS for i in range(n)]
    out = []

    def counter(labels, rate, resets=0, stop=None):
        v = rnd.uniform(0, 100)
        reset_at = set(rnd.randrange(n // 4, n) for _ in range(resets))
        pts = []
        for i, t in enumerate(stamps):
            if stop is not None and i >= stop:
                break
            if i in reset_at:
                v = rnd.uniform(0, 3)
            else:
                v += rate * 15 * rnd.uniform(0.2, 1.8)
            pts.append((t, round(v, 6)))
        out.append((labels, pts))

    def gauge(labels, base, amp, specials=(), stop=None):
        pts = []
        phase = rnd.uniform(0, 6.28)
        for i, t in enumerate(stamps):
            if stop is not None and i >= stop:
                break
            v = base + amp * math.sin(phase + i / 37.0) + rnd.uniform(-amp / 5, amp / 5)
            pts.append((t, round(v, 6)))
        for idx, sv in specials:
            if idx < len(pts):
                pts[idx] = (pts[idx][0], sv)
        out.append((labels, pts))

    # 16 request counters, a few with resets, two stop after 90 minutes
    k = 0
    for job in ("api", "web"):
        for inst in ("a:80", "b:80"):
            for code in ("200", "500"):
                for method in ("get", "post"):
                    base = 5.0 if code == "200" else 0.3
                    counter({"__name__": "http_requests_total", "job": job, "instance": inst, "code": code,
                             "method": method}, base * rnd.uniform(0.5, 2),
                            resets=1 if k % 5 == 2 else 0, stop=360 if k in (3, 11) else None)
                    k += 1
    # 10 histogram buckets (cumulative counters over le), two jobs
    for job in ("api", "web"):
        tot = 0.0
        incs = []
        for le in ("0.1", "0.25", "0.5", "1", "+Inf"):
            incs.append((le, rnd.uniform(0.2, 2.0)))
        vals = {le: rnd.uniform(0, 10) for le, _ in incs}
        series = {le: [] for le, _ in incs}
        for t in stamps:
            cum = 0.0
            for le, r in incs:
                cum += r * 15 * rnd.uniform(0.5, 1.5)
                vals[le] = vals.get(le, 0) + 0  # placeholder (keep deterministic draw order)
                series[le].append(cum)
            tot += 0
        # make them cumulative over time as well as over le
        acc = {le: 0.0 for le, _ in incs}
        for le, _ in incs:
            pts = []
            for i, t in enumerate(stamps):
                acc[le] += series[le][i]
                if job == "web" and le == "0.25" and i == 380:
                    acc[le] = series[le][i]  # one bucket resets alone: non-monotonic buckets in rate()
                pts.append((t, round(acc[le], 6)))
            out.append(({"__name__": "req_duration_seconds_bucket", "job": job, "le": le}, pts))
    # 8 gauges, negative values, NaN / +Inf / -Inf samples, one stops
    for i, (inst, sensor) in enumerate([("a:80", "cpu"), ("a:80", "disk"), ("b:80", "cpu"), ("b:80", "disk"),
                                        ("c:80", "cpu"), ("c:80", "disk"), ("d:80", "cpu"), ("d:80", "disk")]):
        specials = ()
        if i == 1:
            specials = ((300, float("nan")), (301, float("nan")))
        if i == 2:
            specials = ((410, float("inf")),)
        if i == 5:
            specials = ((455, float("-inf")), (200, float("nan")))
        gauge({"__name__": "temperature_celsius", "job": "node", "instance": inst, "sensor": sensor},
              rnd.uniform(-20, 20), rnd.uniform(1, 30), specials, stop=400 if i == 6 else None)
    # 6 cpu counters
    for inst in ("a:80", "b:80", "c:80"):
        for mode in ("user", "idle"):
            counter({"__name__": "node_cpu_seconds_total", "job": "node", "instance": inst, "mode": mode},
                    rnd.uniform(0.1, 1.0), resets=1 if inst == "c:80" and mode == "idle" else 0)
    # 4 queue gauges, two stop (absence)
    for i, inst in enumerate(("a:80", "b:80", "c:80", "d:80")):
        gauge({"__name__": "queue_depth", "job": "worker", "instance": inst}, rnd.uniform(0, 50),
              rnd.uniform(5, 40), stop=(330, 430, None, None)[i])
    # 4 memory gauges with large values
    for inst in ("a:80", "b:80", "c:80", "d:80"):
        gauge({"__name__": "mem_used_bytes", "job": "node", "instance": inst}, 4e9, 1e9)
    # 2 info-ish series with value 1 and 2 version-labelled series
    for inst in ("a:80", "b:80"):
        out.append(({"__name__": "up", "job": "api", "instance": inst}, [(t, 1.0) for t in stamps]))
    for ver in ("1.0", "2.0"):
        out.append(({"__name__": "build_info", "job": "api", "version": ver}, [(t, 1.0) for t in stamps]))
    return out


def fmt_val(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def label_str(labels):
    name = labels["__name__"]
    rest = ",".join('%s="%s"' % (k, v) for k, v in sorted(labels.items()) if k != "__name__")
    return "%s{%s}" % (name, rest)


# ---------------------------------------------------------------- query grammar
class Gen:
    """Random but valid PromQL. Each method returns an expression string of one type."""

    METRICS = {
        "counter": ["http_requests_total", "node_cpu_seconds_total", "req_duration_seconds_bucket"],
        "gauge": ["temperature_celsius", "queue_depth", "mem_used_bytes", "up"],
    }
    LABELS = {
        "http_requests_total": {"job": ["api", "web"], "instance": ["a:80", "b:80"], "code": ["200", "500"],
                                "method": ["get", "post"]},
        "node_cpu_seconds_total": {"instance": ["a:80", "b:80", "c:80"], "mode": ["user", "idle"]},
        "req_duration_seconds_bucket": {"job": ["api", "web"], "le": ["0.1", "0.5", "+Inf"]},
        "temperature_celsius": {"instance": ["a:80", "b:80", "c:80", "d:80"], "sensor": ["cpu", "disk"]},
        "queue_depth": {"instance": ["a:80", "b:80", "c:80", "d:80"]},
        "mem_used_bytes": {"instance": ["a:80", "c:80"]},
        "up": {"instance": ["a:80", "b:80"]},
    }
    GROUP = ["job", "instance", "code", "method", "sensor", "mode", "le"]

    def __init__(self, seed, t0=None):
        self.r = random.Random(seed)
        self.t0 = t0

    def pick(self, xs):
        return self.r.choice(xs)

    def matcher(self, metric):
        lab = self.LABELS[metric]
        k = self.pick(sorted(lab))
        v = self.pick(lab[k])
        op = self.pick(["=", "!=", "=~", "!~"])
        if op in ("=~", "!~"):
            v = self.pick([v, v[:1] + ".*", "|".join(lab[k][:2]), ".+"])
            v = v.replace("+Inf", "\\\\+Inf")
        return '%s%s"%s"' % (k, op, v)

    def selector(self, kind=None):
        kind = kind or self.pick(["counter", "gauge"])
        m = self.pick(self.METRICS[kind])
        ms = [self.matcher(m) for _ in range(self.r.randint(0, 2))]
        s = m + ("{%s}" % ",".join(ms) if ms else "")
        c = self.r.random()
        if c < 0.12:
            s += " offset %dm" % self.r.randint(1, 10)
        elif c < 0.15:
            s += " offset -%dm" % self.r.randint(1, 5)
        elif c < 0.19 and self.t0 is not None:
            s += self.pick([" @ end()", " @ start()",
                            " @ %.3f" % ((self.t0 + 3600000 + self.r.randrange(0, 240) * STEP_MS + OFF_MS) / 1000.0)])
        return s

    def rng(self):
        return self.pick(["1m", "2m", "5m", "10m", "30m"])

    def range_sel(self, kind):
        s = self.selector(kind)
        for mod in (" offset ", " @ "):
            if mod in s:
                base, off = s.split(mod)
                return "%s[%s]%s%s" % (base, self.rng(), mod, off)
        return "%s[%s]" % (s, self.rng())

    def grouping(self):
        labs = self.r.sample(self.GROUP, self.r.randint(0, 2))
        if self.r.random() < 0.5:
            return " by (%s)" % ",".join(labs)
        return " without (%s)" % ",".join(labs)

    def scalar(self, depth):
        c = self.r.random()
        if c < 0.6 or depth <= 0:
            return self.pick(["0", "1", "2", "0.5", "-3", "100", "1e-3"])
        if c < 0.8:
            return "scalar(%s)" % self.vector(depth - 1)
        return "time()" if self.r.random() < 0.3 else "(%s %s %s)" % (
            self.scalar(depth - 1), self.pick(["+", "-", "*", "/"]), self.scalar(depth - 1))

    def range_fn(self):
        c = self.r.random()
        if c < 0.45:
            fn = self.pick(["rate", "increase", "irate", "resets", "changes", "delta", "idelta", "deriv"])
            kind = "counter" if fn in ("rate", "increase", "irate") else self.pick(["counter", "gauge"])
            sel = self.range_sel(kind)
            if fn == "deriv":  # exclusion 17
                sel = sel.replace("temperature_celsius", "queue_depth")
            return "%s(%s)" % (fn, sel)
        if c < 0.85:
            fn = self.pick(["avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
                            "last_over_time", "stddev_over_time", "stdvar_over_time", "present_over_time",
                            "absent_over_time"])
            return "%s(%s)" % (fn, self.range_sel(self.pick(["counter", "gauge"])))
        if c < 0.92:
            return "quantile_over_time(%s, %s)" % (self.pick(["0", "0.25", "0.5", "0.9", "1"]),
                                                   self.range_sel("gauge"))
        sel = self.range_sel("gauge").replace("temperature_celsius", "queue_depth")  # exclusion 17
        if " @ " in sel:  # exclusion 8
            sel = sel.split(" @ ")[0]
        return "predict_linear(%s, %s)" % (sel, self.pick(["60", "600", "-300"]))

    def subquery(self, depth):
        base = [self.selector("gauge"), "rate(%s[5m])" % self.selector("counter").split(" ")[0]]
        inner = self.pick(base)
        if depth > 1 and self.r.random() < 0.3:
            inner = self.vector(depth - 1)
            if re.search(r"\[\d+m:", inner):  # exclusion 10: no subquery inside a subquery
                inner = self.selector("gauge")
        fn = self.pick(["max_over_time", "avg_over_time", "min_over_time", "count_over_time", "sum_over_time",
                        "rate", "deriv", "changes", "last_over_time", "quantile_over_time"])
        if fn == "rate" and inner not in base:  # exclusion 3: only always-present inner series
            inner = base[0]
        if fn == "deriv":  # exclusion 17
            inner = inner.replace("temperature_celsius", "queue_depth")
        step = self.pick(["30s", "1m", "2m", ""])
        off = self.pick(["", "", " offset 2m"])
        if fn == "quantile_over_time":
            return "%s(0.3, (%s)[%s:%s]%s)" % (fn, inner, self.pick(["5m", "10m", "30m"]), step, off)
        return "%s((%s)[%s:%s]%s)" % (fn, inner, self.pick(["5m", "10m", "30m"]), step, off)

    def vector(self, depth):
        c = self.r.random()
        if depth <= 0 or c < 0.2:
            return self.selector()
        if c < 0.4:
            return self.range_fn()
        if c < 0.55:
            return self.aggregate(depth)
        if c < 0.7:
            return self.binop(depth)
        if c < 0.76:
            return self.subquery(depth)
        if c < 0.8:
            return self.hq(depth)
        return self.func(depth)

    def aggregate(self, depth):
        op = self.pick(["sum", "avg", "min", "max", "count", "stddev", "stdvar", "group", "topk", "bottomk",
                        "quantile", "count_values"])
        inner = self.vector(depth - 1)
        g = self.grouping()
        if op in ("topk", "bottomk"):  # tie-free inputs only (exclusion 6)
            inner = self.pick([self.selector("gauge").replace("up", "mem_used_bytes"),
                               "rate(%s[5m])" % self.selector("counter").split(" ")[0],
                               "deriv(%s[10m])" % self.selector("gauge").split(" ")[0].replace("up", "queue_depth")])
            return "%s%s (%s, %s)" % (op, g, self.pick(["1", "2", "3"]), inner)
        if op in ("stddev", "stdvar"):  # finite inputs only (exclusion 7)
            return "%s%s ((%s) > -Inf < +Inf)" % (op, g, inner)
        if op == "quantile":
            return "quantile%s (%s, %s)" % (g, self.pick(["0", "0.1", "0.5", "0.99", "1", "-0.5", "1.5", "NaN"]), inner)
        if op == "count_values":
            return 'count_values%s ("%s", floor(clamp(%s, -1e9, 1e9)))' % (  # exclusion 14
                g, self.pick(["val", "instance", "le"]), inner)
        return "%s%s (%s)" % (op, g, inner)

    def binop(self, depth):
        c = self.r.random()
        if c < 0.3:
            op = self.pick(["+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<="])
            b = " bool" if op in ("==", "!=", ">", "<", ">=", "<=") and self.r.random() < 0.5 else ""
            v = self.vector(depth - 1) if op != "%" else self.selector()  # exclusion 16
            if self.r.random() < 0.5:
                return "(%s %s%s %s)" % (v, op, b, self.scalar(depth - 1))
            return "(%s %s%s %s)" % (self.scalar(depth - 1), op, b, v)
        if c < 0.38:
            return self.pick(["-", "+"]) + "(%s)" % self.vector(depth - 1)
        if c < 0.45:
            lhs = "sum by (instance) (%s)" % self.vector(depth - 1)
            rhs = "sum by (instance, %s) (%s)" % (self.pick(["job", "mode", "sensor"]), self.vector(depth - 1))
            op = self.pick(["+", "/", "atan2", "<", ">="])
            return "(%s %s on (instance) group_right %s)" % (lhs, op, rhs)
        if c < 0.55:
            op = self.pick(["and", "or", "unless"])
            mod = self.pick(["", " on (instance)", " ignoring (code, method)", " on (job, instance)"])
            return "(%s %s%s %s)" % (self.vector(depth - 1), op, mod, self.vector(depth - 1))
        # vector/vector arithmetic with sane matching: aggregate both sides down to known labels
        op = self.pick(["+", "-", "*", "/", ">", "<", "=="])
        b = " bool" if op in (">", "<", "==") and self.r.random() < 0.5 else ""
        shape = self.r.random()
        if shape < 0.4:
            lhs = "sum by (instance) (%s)" % self.vector(depth - 1)
            rhs = "sum by (instance) (%s)" % self.vector(depth - 1)
            return "(%s %s%s %s)" % (lhs, op, b, rhs)
        if shape < 0.7:
            x = self.pick(["job", "code", "mode", "sensor"])
            lhs = "sum by (instance, %s) (%s)" % (x, self.vector(depth - 1))
            rhs = "sum by (instance) (%s)" % self.vector(depth - 1)
            inc = self.pick(["", "", "(job)", "(mode, sensor)"])
            if op in (">", "<", "==") and not b and x in inc:  # exclusion 13
                inc = ""
            if inc:
                rhs = "max by (instance, %s) (%s)" % (inc[1:-1], self.pick(["temperature_celsius", "node_cpu_seconds_total",
                                                                            "up", "queue_depth"]))
            return "(%s %s%s on (instance) group_left%s %s)" % (lhs, op, b, inc, rhs)
        m = self.pick(["http_requests_total", "node_cpu_seconds_total"])
        lab = "code" if m == "http_requests_total" else "mode"
        lhs = "rate(%s[5m])" % m
        rhs = "sum without (%s) (rate(%s[5m]))" % (lab, m)
        return "(%s %s%s ignoring (%s) group_left %s)" % (lhs, op, b, lab, rhs)

    def hq(self, depth):
        g = self.pick(["job", "le", "job, le"])
        if "le" not in g:
            g = g + ", le"
        return "histogram_quantile(%s, sum by (%s) (rate(req_duration_seconds_bucket%s[%s])))" % (
            self.pick(["0", "0.5", "0.9", "0.99", "1", "-1", "2"]), g,
            self.pick(["", '{job="api"}', '{le!="0.25"}']), self.pick(["1m", "5m", "10m"]))

    def func(self, depth):
        c = self.r.random()
        inner = self.vector(depth - 1)
        if c < 0.35:
            fn = self.pick(["abs", "ceil", "floor", "exp", "ln", "log2", "log10", "sqrt", "sgn", "round",
                            "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
                            "acosh", "atanh", "deg", "rad", "timestamp"])
            if fn in ("exp", "sinh", "cosh"):  # exclusion 9
                inner = "clamp(%s, -700, 700)" % inner
            if fn in ("sin", "cos", "tan"):  # exclusion 11
                inner = "clamp(%s, -1000, 1000)" % inner
            return "%s(%s)" % (fn, inner)
        if c < 0.45:
            return "round(%s, %s)" % (inner, self.pick(["0.1", "5", "1"]))
        if c < 0.6:
            fn = self.pick(["clamp_min", "clamp_max"])
            return "%s(%s, %s)" % (fn, inner, self.pick(["0", "-5", "10"]))
        if c < 0.68:
            return "clamp(%s, %s, %s)" % (inner, self.pick(["-10", "0", "5"]), self.pick(["-20", "10", "1e9"]))
        if c < 0.8:
            return 'label_replace(%s, "%s", "$1-x", "%s", "%s")' % (
                inner, self.pick(["dst", "instance", "job"]), self.pick(["instance", "job", "code"]),
                self.pick(["(.*):80", "(.*)", "([a-z]+)", "z(.*)"]))
        if c < 0.86:
            return 'label_join(%s, "joined", "-", "instance", "job")' % inner
        if c < 0.92:
            return "vector(%s)" % self.scalar(depth - 1)
        if c < 0.94:
            return "absent(%s)" % inner
        if c < 0.96:
            return "%s(%s)" % (self.pick(["hour", "minute", "day_of_week", "day_of_month", "days_in_month",
                                           "month", "year", "day_of_year"]),
                               self.pick(["", "(%s > -1e10 < 1e10)" % inner, "timestamp(%s)" % inner]))  # excl. 15
        return self.pick(["sort", "sort_desc"]) + "(%s)" % inner

    def extra(self):
        """Odd corners: float formatting in labels, errors, literals, absent(), raw histogram_quantile."""
        v = self.vector(1)
        return self.pick([
            'count_values("v", %s)' % self.selector(),  # raw sample values: float formatting
            'count_values without (instance) ("v", floor(clamp(%s, -1e9, 1e9)))' % v,  # exclusion 14
            "histogram_quantile(%s, rate(req_duration_seconds_bucket[%s]))" % (
                self.pick(["0.5", "0.75", "NaN"]), self.pick(["5m", "10m"])),
            'histogram_quantile(0.5, label_replace(rate(req_duration_seconds_bucket[5m]), "le", "0.3", "le", "0.5"))',
            "histogram_quantile(0.9, %s)" % v,
            "histogram_quantile(%s, req_duration_seconds_bucket%s)" % (  # non-monotonic after the reset
                self.pick(["0.1", "0.5", "0.95"]), self.pick(["", '{job="web"}', " offset 10m"])),
            "absent(nonexistent_metric{job=\"x\",instance=~\"y\"})",
            "absent_over_time(nonexistent_metric{job=\"x\"}[5m])",
            "absent(%s)" % self.selector(),
            "topk(scalar(count(up)), %s)" % self.pick(["mem_used_bytes", "rate(http_requests_total[5m])"]),
            "quantile(scalar(up{instance=\"a:80\"}) / 3, %s)" % v,
            "time() - timestamp(%s)" % self.selector(),
            "%s %s bool %s" % (self.scalar(1), self.pick([">", "==", "<="]), self.scalar(1)),
            self.pick(["0x1F", "1e3", "Inf", "-Inf", "NaN", "+5", "-(-2)", "2 ^ 3 ^ 2", "5 % -3", "-7 % 3"]),
            '"a string"',
            "%s + on (instance) group_left %s" % (self.selector("counter"), self.selector("gauge")),
            "%s * %s" % (self.selector(), self.selector()),
            "%s or on () %s" % (v, self.vector(1)),
            "sum by (__name__) (%s)" % self.selector(),
            "count by (le) (%s)" % self.selector("counter"),
            "max_over_time(%s[1h30m])" % self.selector("gauge").split(" ")[0],
            "rate(%s[90s])" % self.selector("counter").split(" ")[0],
            "label_replace(%s, \"__name__\", \"renamed_$1\", \"instance\", \"(.)(.*)\")" % self.selector(),
            "label_replace(%s, \"\\xff\", \"x\", \"job\", \".*\")" % self.selector(),  # exclusion 12
            "label_replace(%s, \"dst\", \"x\", \"job\", \"(.*\")" % self.selector(),
            "round(%s, 0.3)" % v,
            "-%s" % self.selector(),
            "%s unless on (instance) %s" % (self.selector(), self.selector()),
            "sgn(%s) * abs(%s)" % (self.selector("gauge"), self.selector("gauge")),
        ])

    def query(self):
        c = self.r.random()
        if c < 0.12:
            return self.extra()
        if c < 0.16:
            return self.scalar(2)
        return self.vector(self.r.randint(1, 3))


# ---------------------------------------------------------------- comparison
def parse_val(s):
    return float(s)  # Python parses "NaN", "+Inf", "-Inf"


def close(a, b):
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return False
    return abs(a - b) <= TOL * max(abs(a), abs(b))


def canon(resp, drop_name):
    """Returns ('error', None) or (resultType, {labelkey: [(ts_ms, value)]})."""
    if resp.get("status") != "success":
        return ("error", None)
    d = resp["data"]
    rt = d["resultType"]
    if rt in ("scalar", "string"):
        t, v = d["result"]
        return (rt, {"": [(round(float(t) * 1000), parse_val(v) if rt == "scalar" else v)]})
    out = {}
    for s in d["result"]:
        m = dict(s["metric"])
        if drop_name:
            m.pop("__name__", None)
        key = json.dumps(m, sort_keys=True)
        if "value" in s:
            pts = [(round(float(s["value"][0]) * 1000), parse_val(s["value"][1]))]
        else:
            pts = [(round(float(t) * 1000), parse_val(v)) for t, v in s["values"]]
        out.setdefault(key, []).extend(pts)
    return (rt, out)


def diff(a, b):
    """None when the canonical answers agree, else a short description."""
    if a[0] != b[0]:
        return "result type %s vs %s" % (a[0], b[0])
    if a[0] == "error":
        return None
    if set(a[1]) != set(b[1]):
        only_a = sorted(set(a[1]) - set(b[1]))[:3]
        only_b = sorted(set(b[1]) - set(a[1]))[:3]
        return "label sets differ: slod-only %s prom-only %s" % (only_a, only_b)
    for k in a[1]:
        pa, pb = a[1][k], b[1][k]
        if len(pa) != len(pb):
            return "%s: %d vs %d points" % (k, len(pa), len(pb))
        for (ta, va), (tb, vb) in zip(pa, pb):
            if ta != tb or (va != vb if isinstance(va, str) or isinstance(vb, str) else not close(va, vb)):
                return "%s @%d: slod %r (t=%d) vs prom %r" % (k, tb, va, ta, vb)
    return None


def rfc(ms):
    return "%.3f" % (ms / 1000.0)


def post(base, path, params):
    import urllib.parse
    body = urllib.parse.urlencode(params).encode()
    status, raw = st.http("POST", base + path, body, {"Content-Type": "application/x-www-form-urlencoded"},
                          timeout=30)
    try:
        return json.loads(raw)
    except ValueError:
        return {"status": "error", "error": "HTTP %d %r" % (status, raw[:200])}


def main():
    slod = sys.argv[1]
    prom = sys.argv[2] if len(sys.argv) > 2 else "/usr/bin/prometheus"
    promtool = sys.argv[3] if len(sys.argv) > 3 else "/usr/bin/promtool"
    if not (os.path.exists(prom) and os.path.exists(promtool)):
        print("SKIP: no prometheus/promtool")
        return 0
    now_ms = int(time.time() * 1000)
    t0 = (now_ms - SPAN_MS - 10 * 60000) // 60000 * 60000  # whole minute, data ends 10 min ago
    for dms in range(3, 1000):  # sample times off whole seconds, exact through float seconds
        if all(int(float("%d.%03d" % (t // 1000, t % 1000)) * 1000) == t
               for t in range(t0 + dms, t0 + dms + SPAN_MS + 1, STEP_MS)):
            t0 += dms
            break
    data = make_data(t0)
    nsamples = sum(len(p) for _, p in data)
    with st.ProcGroup("pdiff") as g:
        om = os.path.join(g.dir, "data.om")
        by_name = {}
        for labels, pts in data:
            by_name.setdefault(labels["__name__"], []).append((labels, pts))
        with open(om, "w") as f:
            for name, ss in by_name.items():
                f.write("# TYPE %s unknown\n" % name)
                for labels, pts in ss:
                    ls = label_str(labels)
                    for t, v in pts:
                        f.write("%s %s %d.%03d\n" % (ls, fmt_val(v), t // 1000, t % 1000))
            f.write("# EOF\n")
        pdata = os.path.join(g.dir, "prom-data")
        subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", om, pdata], check=True,
                       stdout=subprocess.DEVNULL)

        ps = st.free_port()
        # a subquery without a step uses the evaluation interval, in Prometheus (its default 1m here)
        # as in slod: give both the same
        sp = st.start_slod(g, slod, ps, os.path.join(g.dir, "slod-data"), "--slo.files=none",
                           "--storage.wal-fsync=never", "--evaluation.interval=1m")
        st.wait_ready(ps, proc=sp)
        S = "http://127.0.0.1:%d" % ps
        lines = ["%s %s %d" % (label_str(l), fmt_val(v), t) for l, pts in data for t, v in pts]
        status, body = st.http("POST", S + "/api/v1/import/prometheus", ("\n".join(lines) + "\n").encode(),
                               timeout=60)
        assert status == 204, (status, body)

        pp = st.free_port()
        cfg = os.path.join(g.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1h\n")
        pr = g.spawn([prom, "--config.file=" + cfg, "--storage.tsdb.path=" + pdata,
                      "--web.listen-address=127.0.0.1:%d" % pp, "--log.level=warn"], "prometheus")
        P = "http://127.0.0.1:%d" % pp
        st.wait_for(lambda: pr.poll() is None and st.http("GET", P + "/-/ready", timeout=2)[0] == 200, 60,
                    "Prometheus to be ready")

        # raw samples must be identical before any query is compared
        end = t0 + SPAN_MS + 1
        for name in by_name:
            q = {"query": "%s[%ds]" % (name, SPAN_MS // 1000 + 1), "time": rfc(end)}
            a = canon(post(S, "/api/v1/query", q), False)
            b = canon(post(P, "/api/v1/query", q), False)
            d = diff(a, b)
            assert d is None, "raw samples of %s differ: %s" % (name, d)
        print("raw data: %d series, %d samples, identical in slod and Prometheus" % (len(data), nsamples))

        # evaluation times: 1h..2h06m after t0 (past the data end, for staleness), 7 ms after a sample time
        rnd = random.Random(SEED + 1)
        gen = Gen(SEED + 2, t0)
        queries = []
        seen = set()
        while len(queries) < NQUERIES:
            q = gen.query()
            if q not in seen and len(q) < 900:
                seen.add(q)
                queries.append(q)
        if os.environ.get("PDIFF_ONLY"):  # debugging: one query, both answers printed
            queries = [os.environ["PDIFF_ONLY"]]
            t = int(os.environ.get("PDIFF_AT", t0 + 5400000 + OFF_MS))
            for base in (S, P):
                print(json.dumps(post(base, "/api/v1/query", {"query": queries[0], "time": rfc(t)}))[:4000])
                print(json.dumps(post(base, "/api/v1/query_range", {"query": queries[0], "start": rfc(t),
                                                                     "end": rfc(t + 600000), "step": os.environ.get("PDIFF_STEP", "15")}))[:4000])
        agree = name_only = 0
        fails = []
        for q in queries:
            times = [t0 + 3600000 + rnd.randrange(0, 265) * STEP_MS + OFF_MS for _ in range(3)]
            rs = t0 + 3600000 + rnd.randrange(0, 225) * STEP_MS + OFF_MS
            reqs = [("/api/v1/query", {"query": q, "time": rfc(t)}) for t in times]
            reqs.append(("/api/v1/query_range", {"query": q, "start": rfc(rs), "end": rfc(rs + 600000),
                                                 "step": rnd.choice(["15", "37", "60", "120"])}))
            qbad = None
            qname = False
            for path, params in reqs:
                ra, rb = post(S, path, params), post(P, path, params)
                d = diff(canon(ra, False), canon(rb, False))
                if d is not None and diff(canon(ra, True), canon(rb, True)) is None:
                    qname = True
                    d = None
                if d is not None:
                    if ra.get("status") != "success" or rb.get("status") != "success":
                        d += " [slod: %s | prom: %s]" % (ra.get("error"), rb.get("error"))
                    qbad = "%s %s: %s" % (path.split("/")[-1], params.get("time", params.get("start")), d)
                    if VERBOSE:
                        print("slod:", json.dumps(ra)[:3000], "\nprom:", json.dumps(rb)[:3000])
                    break
            if qbad:
                fails.append((q, qbad))
            else:
                agree += 1
                name_only += qname
                if qname and VERBOSE:
                    print("name-only:", q)
        print("%d queries: %d agree (%d of them only after ignoring __name__), %d differ" % (
            len(queries), agree, name_only, len(fails)))
        for q, d in fails:
            print("MISMATCH: %s\n    %s" % (q, d[:600]))
        st.stop_clean(g, sp)
        return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
