"""bench/remote_net.py's DelayProxy, the added round-trip time of bench_remote.py where the
kernel has no netem: against a small HTTP server in this process, a request on an open
connection takes about one round trip more than direct and a new connection about two (the
handshake, then the request), bytes pass through unchanged both ways, the delay does not cap a
large download's throughput (chunks are delayed, not serialised), the window does, and a dead
server closes the client's connection."""

import http.client
import http.server
import os
import socket
import statistics
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from remote_net import DelayProxy, free_port  # noqa: E402

PAYLOAD = os.urandom(16 << 20)


class _Handler(http.server.BaseHTTPRequestHandler):
    """GET /small: 5 bytes; GET /big: PAYLOAD; POST: the body back."""

    protocol_version = "HTTP/1.1"  # keeps connections open
    disable_nagle_algorithm = True  # headers and body are two writes

    def _reply(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        self._reply(PAYLOAD if self.path == "/big" else b"small")

    def do_POST(self):  # noqa: N802
        self._reply(self.rfile.read(int(self.headers["Content-Length"])))

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def proxy():
    made = []

    def make(host, port, rtt_ms, **kw):
        made.append(DelayProxy(host, port, rtt_ms, **kw))
        return made[-1]

    yield make
    for p in made:
        p.stop()


def _timed_gets(host, port, path="/small", again=5):
    """(seconds for a new connection's GET, median seconds of the GETs after it on the same
    connection, the first body)."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    t0 = time.perf_counter()
    conn.request("GET", path)
    body = conn.getresponse().read()
    first = time.perf_counter() - t0
    times = []
    for _ in range(again):
        t0 = time.perf_counter()
        conn.request("GET", path)
        conn.getresponse().read()
        times.append(time.perf_counter() - t0)
    conn.close()
    return first, statistics.median(times) if times else None, body


@pytest.mark.parametrize("rtt_ms", [20, 50])
def test_a_get_takes_about_one_round_trip_more(server, proxy, rtt_ms):
    _, direct, _ = _timed_gets(*server)
    p = proxy(*server, rtt_ms)
    first, again, body = _timed_gets(p.host, p.port)
    rtt = rtt_ms / 1e3
    assert body == b"small"
    assert 0.95 * rtt <= again <= rtt + direct + 0.03, (again, direct)
    assert 1.95 * rtt <= first <= 2 * rtt + 2 * direct + 0.05, (first, direct)  # + handshake


@pytest.mark.parametrize("rtt_ms", [0, 10])
def test_bytes_pass_through_unchanged_both_ways(server, proxy, rtt_ms):
    p = proxy(*server, rtt_ms)
    body = os.urandom(3 << 20) + b"\0\r\n\r\n"
    conn = http.client.HTTPConnection(p.host, p.port, timeout=10)
    conn.request("POST", "/echo", body=body)
    assert conn.getresponse().read() == body
    conn.request("GET", "/big")
    assert conn.getresponse().read() == PAYLOAD
    conn.close()


def test_the_delay_does_not_cap_throughput(server, proxy):
    """16 MiB in 256 KiB reads: a proxy that slept rtt/2 per chunk would take 64 x 25 ms."""
    t0 = time.perf_counter()
    _timed_gets(*server, path="/big", again=0)
    direct = time.perf_counter() - t0
    p = proxy(*server, 50, window=64 << 20)
    first, _, body = _timed_gets(p.host, p.port, path="/big", again=0)
    assert body == PAYLOAD
    assert first < direct + 0.1 + 0.4, (first, direct)  # two round trips + slack


def test_the_window_caps_bytes_in_flight(server, proxy):
    """At most 1 MiB unacknowledged per 40 ms round trip: 16 MiB takes >= 15 round trips."""
    p = proxy(*server, 40, window=1 << 20)
    first, _, body = _timed_gets(p.host, p.port, path="/big", again=0)
    assert body == PAYLOAD
    assert first >= 15 * 0.04, first


def test_a_dead_server_closes_the_client(proxy):
    p = proxy("127.0.0.1", free_port(), 10)  # nothing listens there
    with socket.create_connection((p.host, p.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert s.recv(100) == b""
