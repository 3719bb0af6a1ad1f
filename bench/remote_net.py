"""The servers of bench/bench_remote.py: nginx and moto's S3 server, each in its own process,
optionally inside a network namespace joined by a veth pair with netem round-trip time."""

from __future__ import annotations

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
