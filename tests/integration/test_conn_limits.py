#!/usr/bin/env python3
"""integration.conn_limits — slod's connection limits: --web.max-connections-per-ip caps the open
connections one client address may hold (slowloris from one address cannot take every slot), a
connection over the cap is closed at once without an answer, and a slot freed by a client is usable
again; --web.max-connections caps all connections (clients over it wait in the accept backlog
until slots free up). Idle connections hold no handler thread, so the
server keeps answering meanwhile.
usage: test_conn_limits.py SLOD_BINARY
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import slodtest as st  # noqa: E402


def try_request(port, timeout=5):
    """A GET /-/healthy on a fresh connection: the status code, None if the server closed the
    connection unanswered, "timeout" if nothing came back in time (the connection was left waiting
    in the kernel's accept backlog)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        data = b""
    except socket.timeout:
        return "timeout"
    finally:
        s.close()
    if not data.startswith(b"HTTP/1.1 "):
        return None
    return int(data[9:12])


def hold(port, n):
    """n idle connections (connected, nothing sent), each one accepted by the server."""
    socks = []
    for _ in range(n):
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    time.sleep(0.5)  # let the server accept them
    return socks


def main():
    slod = sys.argv[1]
    with st.ProcGroup("conn_limits") as g:
        port = st.free_port()
        sp = st.start_slod(g, slod, port, os.path.join(g.dir, "data"), "--slo.files=none",
                           "--web.max-connections-per-ip=8")
        st.wait_ready(port, proc=sp)
        assert try_request(port) == 200
        idle = hold(port, 8)
        got = try_request(port)
        assert got is None, "a 9th connection from the same address was answered (%r)" % got
        idle.pop().close()
        time.sleep(0.5)
        got = st.wait_for(lambda: try_request(port) == 200, 10, "a freed slot to be usable again")
        for s in idle:
            s.close()
        st.stop_clean(g, sp)

        port = st.free_port()
        sp = st.start_slod(g, slod, port, os.path.join(g.dir, "data2"), "--slo.files=none",
                           "--web.max-connections=40", "--web.max-connections-per-ip=0")
        st.wait_ready(port, proc=sp)
        idle = hold(port, 60)
        # over the total limit libmicrohttpd stops accepting: a new client waits in the backlog
        got = try_request(port, timeout=2)
        assert got == "timeout", "a connection over --web.max-connections was served (%r)" % (got,)
        for s in idle:
            s.close()
        st.wait_for(lambda: try_request(port) == 200, 10, "answers after the idle clients left")
        st.stop_clean(g, sp)
    print("connection limits: per address and in total enforced, freed slots reused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
