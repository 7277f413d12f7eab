"""slodtest.py — helpers for slod's integration tests (standard library only).

Each test starts its own processes on free 127.0.0.1 ports inside a temporary directory and kills
them at the end (ProcGroup is a context manager; its exit kills whatever is still running).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=10):
    """Returns (status, body bytes); never raises for HTTP error statuses."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_json(url, params=None, timeout=10):
    if params:
        url += "?" + urllib.parse.urlencode(params, doseq=True)
    status, body = http("GET", url, timeout=timeout)
    if status != 200:
        raise AssertionError("GET %s -> %d %s" % (url, status, body[:300]))
    return json.loads(body)


def wait_for(pred, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # not up yet
            last = e
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))


def wait_ready(port, timeout=30, proc=None):
    def ready():
        if proc is not None and proc.poll() is not None:
            raise SystemExit("slod exited with status %s before becoming ready" % proc.returncode)
        return http("GET", "http://127.0.0.1:%d/-/ready" % port, timeout=2)[0] == 200
    wait_for(ready, timeout, "slod on port %d to be ready" % port)


class ProcGroup:
    """Owns a temp dir and child processes; kills them (SIGKILL) on exit."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="slod-it-%s-" % name)
        self.procs = []
        self.keep = os.environ.get("SLOD_KEEP_TMP") == "1"

    def __enter__(self):
        return self

    def spawn(self, args, name):
        out = open(os.path.join(self.dir, name + ".log"), "ab")
        args = [os.path.abspath(args[0]) if os.path.exists(args[0]) else args[0]] + list(args[1:])
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=self.dir)
        p.log_path = out.name
        self.procs.append(p)
        return p

    def log(self, p):
        try:
            with open(p.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def __exit__(self, typ, val, tb):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        if typ is not None:
            for p in self.procs:
                sys.stderr.write("---- log of %s ----\n%s\n" % (" ".join(p.args[:1]), self.log(p)))
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


def start_slod(group, binary, port, datadir, *extra, name="slod"):
    args = [os.path.abspath(binary), "serve", "--web.listen-address=127.0.0.1:%d" % port, "--storage.path=" + datadir,
            "--log.level=info"] + list(extra)
    return group.spawn(args, name)


def stop_clean(group, p, timeout=30):
    """Stops a slod with SIGTERM and checks that it shut down cleanly: exit status 0 and no
    sanitizer report (ASan/LSan/UBSan) anywhere in its log. Raises AssertionError otherwise."""
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("slod did not stop within %ss of SIGTERM" % timeout)
    with open(p.log_path, "rb") as f:
        log = f.read().decode(errors="replace")
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        i = log.find(marker)
        assert i < 0, "sanitizer report in the slod log:\n" + log[max(0, i - 200):i + 3000]
    assert rc == 0, "slod exited with status %s after SIGTERM:\n%s" % (rc, log[-3000:])
