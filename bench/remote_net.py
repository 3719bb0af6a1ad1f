"""The servers of bench/bench_remote.py: nginx and moto's S3 server, each in its own process,
optionally inside a network namespace joined by a veth pair with netem round-trip time; where
the kernel has no netem, DelayProxy adds the round-trip time in userspace instead.

    python bench/remote_net.py proxy --listen PORT --target HOST:PORT --rtt-ms 10
    python bench/remote_net.py check --rtt-ms 10     # the proxy's RTT and throughput vs direct
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

NETNS, VETH_HOST, VETH_NS = "ncbench", "ncb0", "ncb1"
HOST_IP, NS_IP = "10.77.0.1", "10.77.0.2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(host: str, port: int, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{host}:{port} never came up")


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                      else None)
    if found is None:
        raise RuntimeError("nginx is not installed (make system-deps installs it)")
    return found


class Nginx:
    """nginx serving ``root`` on host:port, optionally inside a network namespace."""

    def __init__(self, root: str, workdir: str, host: str = "127.0.0.1", netns: str | None = None):
        self.host, self.port, self.netns, self.workdir = host, free_port(), netns, workdir
        os.makedirs(os.path.join(workdir, "logs"), exist_ok=True)
        self.conf = os.path.join(workdir, "nginx.conf")
        user = "user root;\n" if os.geteuid() == 0 else ""
        with open(self.conf, "w") as f:
            f.write(f"""{user}daemon off;
worker_processes 2;
pid {workdir}/nginx.pid;
error_log {workdir}/logs/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    default_type application/octet-stream;
    server {{ listen {host}:{self.port}; root {root}; }}
}}
""")
        cmd = [nginx_binary(), "-c", self.conf, "-p", workdir, "-e",
               os.path.join(workdir, "logs", "error.log")]
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_port(host, self.port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait()


class MotoS3:
    """moto's S3 server in its own process (so it does not share the benchmark's GIL)."""

    OPTIONS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
               "region_name": "us-east-1"}

    def __init__(self, host: str = "127.0.0.1", netns: str | None = None):
        self.host, self.port = host, free_port()
        cmd = [sys.executable, "-m", "moto.server", "-H", host, "-p", str(self.port)]
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_port(host, self.port, timeout=60)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def upload(self, folder: str, bucket: str, prefix: str) -> None:
        import boto3

        c = boto3.client("s3", endpoint_url=self.endpoint, **self.OPTIONS)
        try:
            c.create_bucket(Bucket=bucket)
        except c.exceptions.BucketAlreadyOwnedByYou:
            pass
        for dirpath, _, names in os.walk(folder):
            for name in names:
                path = os.path.join(dirpath, name)
                c.upload_file(path, bucket, f"{prefix}/{os.path.relpath(path, folder)}")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait()


def _sh(*cmd: str) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}`: {(r.stderr or r.stdout).strip()}")


def netns_down() -> None:
    subprocess.run(["ip", "link", "del", VETH_HOST], capture_output=True)
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)


def netns_up(rtt_ms: float) -> None:
    """A network namespace joined to this one by a veth pair, ``rtt_ms / 2`` of netem delay on
    each end; the servers run inside it at NS_IP. Raises RuntimeError naming the failing
    command (and leaves nothing behind)."""
    netns_down()
    try:
        _sh("ip", "netns", "add", NETNS)
        _sh("ip", "link", "add", VETH_HOST, "type", "veth", "peer", "name", VETH_NS)
        _sh("ip", "link", "set", VETH_NS, "netns", NETNS)
        _sh("ip", "addr", "add", f"{HOST_IP}/24", "dev", VETH_HOST)
        _sh("ip", "link", "set", VETH_HOST, "up")
        _sh("ip", "netns", "exec", NETNS, "ip", "addr", "add", f"{NS_IP}/24", "dev", VETH_NS)
        _sh("ip", "netns", "exec", NETNS, "ip", "link", "set", VETH_NS, "up")
        _sh("ip", "netns", "exec", NETNS, "ip", "link", "set", "lo", "up")
        half = f"{rtt_ms / 2:g}ms"
        _sh("tc", "qdisc", "add", "dev", VETH_HOST, "root", "netem", "delay", half)
        _sh("ip", "netns", "exec", NETNS, "tc", "qdisc", "add", "dev", VETH_NS, "root",
            "netem", "delay", half)
    except Exception:
        netns_down()
        raise


def netem_in_kernel() -> str:
    """The kernel configuration's netem line ("" when /proc/config.gz is not there)."""
    import gzip

    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            return next((line.strip() for line in f if "CONFIG_NET_SCH_NETEM" in line), "")
    except OSError:
        return ""


def measured_rtt_ms(host: str, port: int, n: int = 20) -> float:
    """Median TCP connect time to host:port (one round trip), in ms."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        socket.create_connection((host, port), timeout=5).close()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def measured_request_ms(host: str, port: int, n: int = 20) -> tuple[float, float]:
    """HTTP HEAD requests to host:port: (median ms from connecting to the first response's
    last header byte, one connection per try; median ms of one request's round trip on a
    connection already open). Over a link with round-trip time R the first is about 2 R (the
    handshake, then the request), the second about R."""
    head = f"HEAD / HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()

    def ask(s: socket.socket) -> None:
        s.sendall(head)
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError(f"{host}:{port} closed the connection")
            got += chunk

    first, again = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        with socket.create_connection((host, port), timeout=5) as s:
            ask(s)
            t1 = time.perf_counter()
            ask(s)
            t2 = time.perf_counter()
        first.append((t1 - t0) * 1e3)
        again.append((t2 - t1) * 1e3)
    return statistics.median(first), statistics.median(again)


# ----------------------------------------------------------------------------- delay proxy

PROXY_LABEL = "emulated by a userspace delay proxy"


def tcp_window() -> int:
    """The largest TCP receive window this kernel lets a connection grow to: half of
    net.ipv4.tcp_rmem's maximum (tcp_adv_win_scale 1), 3 MiB where it cannot be read."""
    try:
        with open("/proc/sys/net/ipv4/tcp_rmem") as f:
            return int(f.read().split()[2]) // 2
    except (OSError, IndexError, ValueError):
        return 3 << 20


class DelayProxy:
    """A TCP proxy on 127.0.0.1 in front of host:port, in its own process, that adds
    ``rtt_ms`` of round-trip time the way netem's delay does: every chunk is stamped when it
    arrives and sent on ``rtt_ms / 2`` later in each direction, while the chunks behind it keep
    arriving (a delay, not a throughput cap). A new connection's first bytes to the server wait
    one more round trip (the SYN / SYN-ACK a real link would take before the client could send).
    Bytes in flight per direction are capped at ``window`` until their acknowledgement would be
    back (one round trip after they arrived), like the largest TCP receive window the kernel
    allows (``tcp_window()``); slow start and loss are not emulated."""

    def __init__(self, host: str, port: int, rtt_ms: float, window: int | None = None):
        window = tcp_window() if window is None else window
        self.host, self.port, self.rtt_ms = "127.0.0.1", free_port(), rtt_ms
        cmd = [sys.executable, os.path.abspath(__file__), "proxy", "--listen", str(self.port),
               "--target", f"{host}:{port}", "--rtt-ms", f"{rtt_ms:g}", "--window", str(window)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True)
        wait_port(self.host, self.port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    endpoint = url  # in front of an S3 server

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float,
                ready: float, window: int) -> None:
    """Copies reader to writer, each chunk sent ``delay`` s after it arrived (not before
    ``ready`` + delay), the end of the stream too; at most ``window`` bytes unacknowledged."""
    loop = asyncio.get_running_loop()
    pending: collections.deque = collections.deque()  # (due time, chunk); b"" is the end
    arrived, room = asyncio.Event(), asyncio.Event()
    room.set()
    in_flight = 0

    def acknowledged(n: int) -> None:
        nonlocal in_flight
        in_flight -= n
        if in_flight < window:
            room.set()

    async def send() -> None:
        while True:
            while not pending:
                arrived.clear()
                await arrived.wait()
            wait = pending[0][0] - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            chunks = [pending.popleft()[1]]
            now = loop.time()
            while chunks[-1] and pending and pending[0][0] <= now:
                chunks.append(pending.popleft()[1])  # every chunk already due in one write
            out = b"".join(chunks)
            if out:
                writer.write(out)
                await writer.drain()
                loop.call_at(max(now, loop.time()) + delay, acknowledged, len(out))
            if not chunks[-1]:
                if writer.can_write_eof():
                    writer.write_eof()
                return

    sender = asyncio.create_task(send())
    try:
        while True:
            await room.wait()
            data = await reader.read(1 << 18)
            pending.append((max(loop.time(), ready) + delay, data))
            arrived.set()
            if not data:
                break
            in_flight += len(data)
            if in_flight >= window:
                room.clear()
        await sender
    finally:
        sender.cancel()


async def _proxy(listen: int, host: str, port: int, rtt_ms: float, window: int) -> None:
    delay = rtt_ms / 2e3

    async def connection(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        ready = asyncio.get_running_loop().time() + 2 * delay  # after the handshake
        try:
            server_r, server_w = await asyncio.open_connection(host, port)
        except OSError:
            client_w.close()
            return
        pipes = [asyncio.create_task(_pipe(client_r, server_w, delay, ready, window)),
                 asyncio.create_task(_pipe(server_r, client_w, delay, 0.0, window))]
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in pipes:
                task.cancel()
            for w in (client_w, server_w):
                w.close()

    server = await asyncio.start_server(connection, "127.0.0.1", listen, backlog=1024)
    async with server:
        await server.serve_forever()


def _check(rtt_ms: float, mb: int) -> None:
    """Prints the request round trips and one large download's throughput, direct from nginx
    and through DelayProxy at 0 ms and at ``rtt_ms``."""
    import tempfile
    import urllib.request

    with tempfile.TemporaryDirectory(prefix="remote_net-") as work:
        os.makedirs(os.path.join(work, "root"))
        with open(os.path.join(work, "root", "big.bin"), "wb") as f:
            f.write(os.urandom(mb << 20))
        nginx = Nginx(os.path.join(work, "root"), os.path.join(work, "nginx"))
        try:
            for name, rtt in (("direct", None), ("proxy 0 ms", 0.0), (f"proxy {rtt_ms:g} ms",
                                                                       rtt_ms)):
                proxy = DelayProxy(nginx.host, nginx.port, rtt) if rtt is not None else None
                host, port = (proxy or nginx).host, (proxy or nginx).port
                try:
                    connect = measured_rtt_ms(host, port)
                    first, again = measured_request_ms(host, port)
                    rates = []
                    for _ in range(3):
                        t0 = time.perf_counter()
                        with urllib.request.urlopen(f"http://{host}:{port}/big.bin") as r:
                            n = len(r.read())
                        rates.append(n / 1e6 / (time.perf_counter() - t0))
                    print(f"{name:14s} connect {connect:6.2f} ms  new connection + HEAD "
                          f"{first:6.2f} ms  HEAD again {again:6.2f} ms  GET {mb} MiB "
                          f"{statistics.median(rates):7.0f} MB/s (median of 3)", flush=True)
                finally:
                    if proxy is not None:
                        proxy.stop()
        finally:
            nginx.stop()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    proxy = sub.add_parser("proxy", help="run a DelayProxy in this process")
    proxy.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1")
    proxy.add_argument("--target", required=True, help="HOST:PORT of the server")
    proxy.add_argument("--rtt-ms", type=float, required=True)
    proxy.add_argument("--window", type=int, default=None,
                       help="bytes in flight per direction (default: tcp_window())")
    check = sub.add_parser("check", help="measure the proxy against a direct nginx")
    check.add_argument("--rtt-ms", type=float, default=10.0)
    check.add_argument("--mb", type=int, default=256, help="size of the download")
    args = p.parse_args(argv)
    if args.command == "check":
        _check(args.rtt_ms, args.mb)
        return
    host, _, port = args.target.rpartition(":")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))  # nothing to flush or clean
    window = tcp_window() if args.window is None else args.window
    asyncio.run(_proxy(args.listen, host, int(port), args.rtt_ms, window))


if __name__ == "__main__":
    main()
