#!/usr/bin/env python3
"""integration.kill9 — durability of acknowledged remote writes across kill -9.

rw_pusher sends remote-write batches to slod (default fsync policy: always) and records each batch
acknowledged with 2xx. Mid-stream slod is killed with SIGKILL; it is restarted on the same data
directory, and every sample of every acknowledged batch must be there, bit for bit (checked via
/api/v1/export). This is repeated for a few rounds, so replay of a WAL that already went through
a crash is covered too.
usage: test_kill9.py SLOD_BINARY RW_PUSHER
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402

SERIES = 50
SAMPLES = 4
ROUNDS = 3


def read_acks(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [int(x) for x in f.read().split()]


def main():
    slod, pusher = sys.argv[1], sys.argv[2]
    with st.ProcGroup("kill9") as g:
        data = os.path.join(g.dir, "data")
        port = st.free_port()
        base = int(time.time() * 1000) - 3600 * 1000
        acked = []
        next_batch = 0
        for rnd in range(ROUNDS):
            sp = st.start_slod(g, slod, port, data, name="slod-%d" % rnd)
            st.wait_ready(port, proc=sp)
            ack = os.path.join(g.dir, "acks-%d" % rnd)
            # batches continue where the previous round stopped (timestamps keep increasing)
            pu = subprocess.Popen([pusher, str(port), ack, "100000", str(SERIES), str(SAMPLES),
                                   str(base + next_batch * SAMPLES * 10)], stderr=subprocess.PIPE)
            st.wait_for(lambda: len(read_acks(ack)) >= 30 + 20 * rnd, 60, "acknowledged batches")
            os.kill(sp.pid, signal.SIGKILL)
            sp.wait(timeout=10)
            try:
                _, err = pu.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                pu.kill()
                raise
            assert pu.returncode == 0, err
            got = read_acks(ack)
            acked.extend((next_batch + b, b) for b in got)
            next_batch += (max(got) + 2) if got else 1  # skip the batch that may be half-written
            print("round %d: %d batches acknowledged before kill -9" % (rnd, len(got)))

        # restart and verify
        sp = st.start_slod(g, slod, port, data, name="slod-final")
        st.wait_ready(port, proc=sp)
        status, body = st.http("GET", "http://127.0.0.1:%d/api/v1/export?match[]=kill9_metric" % port,
                               timeout=60)
        assert status == 200, body[:500]
        have = {}
        for line in body.decode().splitlines():
            o = st.json.loads(line)
            k = int(o["metric"]["series"])
            have[k] = dict(zip(o["timestamps"], o["values"]))
        missing = 0
        wrong = 0
        for b, local in acked:  # global batch number (timestamps), pusher's own number (values)
            for k in range(SERIES):
                for j in range(SAMPLES):
                    t = base + (b * SAMPLES + j) * 10
                    want = local * 1e6 + k * 1e3 + j + 0.25
                    v = have.get(k, {}).get(t)
                    if v is None:
                        missing += 1
                    elif float(v) != want:
                        wrong += 1
        total = len(acked) * SERIES * SAMPLES
        print("checked %d acknowledged samples: %d missing, %d wrong" % (total, missing, wrong))
        assert total > 0
        assert missing == 0 and wrong == 0
        os.kill(sp.pid, signal.SIGTERM)
        assert sp.wait(timeout=30) == 0
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
