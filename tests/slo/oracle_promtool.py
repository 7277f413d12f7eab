#!/usr/bin/env python3
"""slo.eval_promtool — slod's SLI window ratios against real Prometheus (promtool test rules).

oracle_fast (C) computes every window ratio of a Sloth SLO as slod does — the fast path for 1h..3d
and the 30d period rule, the PromQL engine for 5m/30m — at four times of a scenario with counter resets and an error burst,
and writes the rules `slod generate` exports plus a promtool unit test over the same samples whose
expectations are 0. promtool prints what Prometheus computed ("got"); every value must match
slod's within a relative error of 1e-9.
usage: oracle_promtool.py ORACLE_BINARY PROMTOOL
"""
import re
import subprocess
import sys
import tempfile


def main():
    oracle, promtool = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="slo-oracle-") as d:
        out = subprocess.run([oracle, d], check=True, capture_output=True, text=True).stdout
        ours = {}
        for line in out.splitlines():
            rec, t, v, how = line.split()
            ours[(rec, int(t))] = (float(v), how)
        if len(ours) != 4 * 8:
            print("expected 32 values from the harness, got %d" % len(ours))
            return 1
        pt = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=d, capture_output=True, text=True)
        text = pt.stdout + pt.stderr
    got = {}
    cur = None
    for line in text.splitlines():
        m = re.search(r'expr: "([^{"]+)\{.*", time: (\S+),', line)
        if m:
            rec, ts = m.group(1), m.group(2)
            ms = 0.0
            for num, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", ts):
                ms += float(num) * {"h": 3600e3, "m": 60e3, "s": 1e3, "ms": 1}[unit]
            cur = (rec, int(round(ms)))
            continue
        m = re.search(r"got: \{.*\} (\S+)$", line)
        if m and cur:
            got[cur] = float(m.group(1))
            cur = None
    bad = 0
    for key, (v, how) in sorted(ours.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if key not in got:
            print("no Prometheus value for %s at %dms" % key)
            bad += 1
            continue
        p = got[key]
        rel = abs(v - p) / abs(p) if p else abs(v)
        flag = "ok" if rel <= 1e-9 else "MISMATCH"
        print("%-28s t=%8dms slod=%.17g prometheus=%.17g rel=%.2g (%s) %s" % (key[0], key[1], v, p, rel, how, flag))
        if rel > 1e-9:
            bad += 1
    if bad:
        print("%d of %d values differ" % (bad, len(ours)))
        return 1
    print("all %d window ratios match Prometheus within 1e-9" % len(ours))
    return 0


if __name__ == "__main__":
    sys.exit(main())
