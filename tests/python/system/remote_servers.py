"""Real servers on loopback for the remote store tests: nginx serving a folder, a small
fault-injecting HTTP proxy (stdlib) in front of it, moto's S3 server, and a tiny sharded image
dataset to serve."""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import numpy as np


def nginx_binary() -> str | None:
    """nginx's path (Debian installs it in /usr/sbin, off a user's PATH), or None."""
    found = shutil.which("nginx")
    if found is None and os.access("/usr/sbin/nginx", os.X_OK):
        found = "/usr/sbin/nginx"
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, up: bool = True, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            if up:
                return
        except OSError:
            if not up:
                return
        time.sleep(0.02)
    raise TimeoutError(f"port {port} never went {'up' if up else 'down'}")


def file_entry(path: str) -> dict:
    data = open(path, "rb").read()
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def make_image_dataset(out: str, num_shards: int = 3, per_shard: int = 4, seed: int = 0) -> dict:
    """A sharded image dataset: each shard an ImageSet packed by nc.pack_images from random
    PNGs of varied sizes, plus a global labels.npy; returns the index."""
    import nocopy as nc
    from PIL import Image

    rng = np.random.default_rng(seed)
    os.makedirs(out)
    labels = []
    for k in range(num_shards):
        src = os.path.join(out, f".src-{k}")
        for i in range(per_shard):
            cls = f"c{i % 2}"
            os.makedirs(os.path.join(src, cls), exist_ok=True)
            h, w = int(rng.integers(20, 60)), int(rng.integers(20, 60))
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(
                os.path.join(src, cls, f"{k}-{i}.png"))
        nc.pack_images(src, os.path.join(out, f"shard-{k:05d}"))
        labels += [i % 2 for i in range(per_shard)]
        shutil.rmtree(src)
    np.save(os.path.join(out, "labels.npy"), np.array(labels, np.int64))
    index_shards = []
    for name in sorted(n for n in os.listdir(out) if n.startswith("shard-")):
        folder = os.path.join(out, name)
        files = {f: file_entry(os.path.join(folder, f)) for f in sorted(os.listdir(folder))}
        index_shards.append({"name": name, "num_samples": per_shard,
                             "bytes": sum(e["bytes"] for e in files.values()), "files": files})
    index = {"format_version": 1, "kind": "image", "num_samples": per_shard * num_shards,
             "classes": ["c0", "c1"], "shards": index_shards, "skipped": [],
             "files": {"labels.npy": file_entry(os.path.join(out, "labels.npy"))}}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f)
    return index


class Nginx:
    """nginx serving ``root`` on 127.0.0.1:port, one process (so kill -9 takes it all down);
    stop() and start() again on the same port."""

    def __init__(self, root: str, workdir: str):
        self.root, self.workdir, self.port = root, workdir, free_port()
        self.proc = None
        os.makedirs(os.path.join(workdir, "logs"), exist_ok=True)
        self.conf = os.path.join(workdir, "nginx.conf")
        user = "user root;\n" if os.geteuid() == 0 else ""
        with open(self.conf, "w") as f:
            f.write(f"""{user}daemon off;
master_process off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/logs/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{self.port};
        root {root};
    }}
}}
""")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([nginx_binary(), "-c", self.conf, "-p", self.workdir,
                                      "-e", os.path.join(self.workdir, "logs", "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_port(self.port)
        except TimeoutError:
            self.proc.kill()
            raise RuntimeError("nginx did not start: " + self.proc.stderr.read().decode())

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        wait_port(self.port, up=False)


def serving(root, workdir):
    """A started nginx serving ``root`` (a generator for a fixture: yields it, then kills it);
    skips the test when nginx is not installed."""
    import pytest

    if nginx_binary() is None:
        pytest.skip("nginx is not installed (make system-deps installs it)")
    server = Nginx(str(root), str(workdir))
    server.start()
    try:
        yield server
    finally:
        server.kill()


def opened_then_gone(root, workdir, open_dataset):
    """``open_dataset(url)`` of nginx serving ``root``, the server killed right after: a dataset
    whose shards can no longer be had (skips the test when nginx is not installed)."""
    served = serving(root, workdir)
    server = next(served)
    try:
        return open_dataset(server.url)
    finally:
        served.close()


def every_shard_fetched(remote, within: float = 20.0) -> bool:
    """Waits until ``remote`` (a remote dataset) has downloaded every shard; False if it has not
    within ``within`` seconds."""
    deadline = time.monotonic() + within
    while remote.stats()["shards_fetched"] < remote.num_shards and time.monotonic() < deadline:
        time.sleep(0.05)
    return remote.stats()["shards_fetched"] == remote.num_shards


def first_batch_error(loader, within: float = 30.0):
    """The nc.LoaderError naming a shard that the loader's first batch raises, checked to come
    within ``within`` seconds (never a hang)."""
    import pytest

    import nocopy as nc

    t0 = time.monotonic()
    with pytest.raises(nc.LoaderError, match="shard") as e:
        next(iter(loader))
    assert time.monotonic() - t0 < within
    return e.value


class FaultProxy:
    """An HTTP proxy in front of ``upstream`` (host, port) that counts GETs by path (and the
    most it answered at once: ``most_in_flight``) and can answer 503 to the next ``fail`` requests, cut the next ``truncate`` bodies in half, stall a
    body half way until ``release`` is set, or delay each answer by ``delay`` seconds."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.reset()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.gets: dict[str, int] = {}
            self.fail = 0
            self.fail_status = 503
            self.truncate = 0
            self.stall = False
            self.delay = 0.0
            self.stalled = threading.Event()
            self.release = threading.Event()
            self.in_flight = 0
            self.most_in_flight = 0  # requests answered at once, at most

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, suffix: str = "") -> int:
        with self.lock:
            return sum(n for p, n in self.gets.items() if p.endswith(suffix))

    def handle(self, h) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self._answer(h)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _answer(self, h) -> None:
        with self.lock:
            self.gets[h.path] = self.gets.get(h.path, 0) + 1
            fail = self.fail > 0
            self.fail -= fail
            truncate = not fail and self.truncate > 0 and not h.path.endswith("index.json")
            self.truncate -= truncate
            stall, delay = self.stall and not h.path.endswith("index.json"), self.delay
        time.sleep(delay)
        if fail:
            h.send_response(self.fail_status)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=10)
        headers = {k: v for k, v in h.headers.items() if k.lower() == "range"}
        conn.request("GET", h.path, headers=headers)
        r = conn.getresponse()
        body = r.read()
        conn.close()
        h.send_response(r.status)
        for k in ("Content-Length", "Content-Range", "Content-Type"):
            if r.getheader(k):
                h.send_header(k, r.getheader(k))
        h.send_header("Connection", "close")
        h.end_headers()
        if truncate or stall:
            h.wfile.write(body[:len(body) // 2])
            h.wfile.flush()
            if stall:
                self.stalled.set()
                self.release.wait(30)
            h.close_connection = True
            return
        h.wfile.write(body)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class MotoS3:
    """moto's S3 server on 127.0.0.1:port (a stand-in for S3)."""

    def __init__(self):
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        wait_port(self.port)

    @property
    def storage_options(self) -> dict:
        """nocopy's storage_options for this server (moto accepts any credentials)."""
        return {"endpoint_url": self.endpoint, "key": "testing", "secret": "testing",
                "region": "us-east-1"}

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="testing",
                            aws_secret_access_key="testing", region_name="us-east-1")

    def upload(self, folder: str, bucket: str, prefix: str) -> None:
        c = self.client()
        c.create_bucket(Bucket=bucket)
        for dirpath, _, files in os.walk(folder):
            for f in files:
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, folder)
                c.upload_file(path, bucket, f"{prefix}/{rel}")

    def stop(self) -> None:
        self.server.stop()
