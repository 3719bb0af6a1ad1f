"""nc.RemoteShards against real servers on loopback: nginx for HTTP, moto's server standing in
for S3, and a fault-injecting proxy (503s, cut bodies, stalls) in front of nginx; the cache
checked for what a process killed mid-download leaves, for two processes racing for a shard,
for eviction under a limit and the readers' shared lock, and for a full disk."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import nocopy as nc
from nocopy._remote import download as download_module
from nocopy._remote.cache import META
from nocopy._remote.index import parse_index

from remote_servers import FaultProxy, MotoS3, file_entry, make_image_dataset, serving

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """The folder nginx serves: data/ (a sharded image dataset), replaced/ (one shard file
    changed after indexing), missing/ (one shard file gone), badindex/ (format_version 2)."""
    root = tmp_path_factory.mktemp("served")
    index = make_image_dataset(str(root / "data"))
    shutil.copytree(root / "data", root / "replaced")
    images = root / "replaced" / "shard-00001" / "pixels.npy"
    raw = bytearray(images.read_bytes())
    raw[-1] ^= 0xFF
    images.write_bytes(bytes(raw))
    shutil.copytree(root / "data", root / "missing")
    os.unlink(root / "missing" / "shard-00002" / "pixels.npy")
    tokens = root / "tokens"
    tokens.mkdir()
    token_shards = []
    for k in range(2):
        name = f"shard-{k:05d}.npy"
        np.save(tokens / name, np.arange(100 * k, 100 * k + 100, dtype=np.uint16))
        e = file_entry(str(tokens / name))
        token_shards.append({"name": name, "num_samples": 100, "bytes": e["bytes"],
                             "files": {name: e}})
    (tokens / "index.json").write_text(json.dumps(
        {"format_version": 1, "kind": "tokens", "num_samples": 200, "classes": None,
         "dtype": "uint16", "format": "npy", "shards": token_shards, "skipped": []}))
    (root / "badindex").mkdir()
    (root / "badindex" / "index.json").write_text(json.dumps(dict(index, format_version=2)))
    return root, index


@pytest.fixture(scope="session")
def nginx(served, tmp_path_factory):
    yield from serving(served[0], tmp_path_factory.mktemp("nginx"))


@pytest.fixture
def proxy(nginx):
    p = FaultProxy(nginx.port)
    yield p
    p.close()


@pytest.fixture(scope="session")
def moto(served):
    pytest.importorskip("boto3", reason="the S3 tests need boto3 (requirements-dev.txt)")
    pytest.importorskip("moto", reason="the S3 tests need moto[server] (requirements-dev.txt)")
    s3 = MotoS3()
    s3.upload(str(served[0] / "data"), "bucket", "datasets/tiny")
    s3.upload(str(served[0] / "missing"), "bucket", "datasets/missing")
    yield s3
    s3.stop()


def same_files(local: str, source) -> None:
    """The fetched shard folder holds exactly the source's files, byte for byte."""
    assert sorted(os.listdir(local)) == sorted(os.listdir(source))
    for f in os.listdir(source):
        assert open(os.path.join(local, f), "rb").read() == (source / f).read_bytes(), f


def options(s3) -> dict:
    return {"endpoint_url": s3.endpoint, "key": "testing", "secret": "testing",
            "region": "us-east-1"}


# --- HTTP: fetch, verify, cache ------------------------------------------------------------------
def test_http_shards_arrive_verified_open_as_image_sets_and_are_cached(nginx, served, tmp_path):
    root, index = served
    shards = nc.RemoteShards(f"{nginx.url}/data", cache_dir=tmp_path)
    assert shards.index == index and shards.num_shards == 3
    assert shards.shard_names == ["shard-00000", "shard-00001", "shard-00002"]
    assert np.array_equal(np.load(shards.files["labels.npy"]),
                          np.load(root / "data" / "labels.npy"))
    for k, name in enumerate(shards.shard_names):
        path = shards.fetch(k)
        assert path == os.path.join(shards.root, name)
        same_files(path, root / "data" / name)
        images = nc.ImageSet.open(path)
        source = nc.ImageSet.open(str(root / "data" / name))
        assert len(images) == len(source) == 4
        for i in range(len(images)):
            assert np.array_equal(np.asarray(images[i]), np.asarray(source[i]))
    stats = shards.stats()
    shard_bytes = sum(s["bytes"] for s in index["shards"])
    assert stats["shards_fetched"] == 3 and stats["cache_hits"] == 0 and stats["retries"] == 0
    assert stats["bytes_downloaded"] >= shard_bytes
    again = nc.RemoteShards(f"{nginx.url}/data/", cache_dir=tmp_path)  # same dataset, same key
    assert again.root == shards.root
    assert [again.fetch(k) for k in range(3)] == [shards.fetch(k) for k in range(3)]
    assert again.stats()["shards_fetched"] == 0 and again.stats()["cache_hits"] == 3
    assert os.listdir(os.path.join(shards.root, META, "tmp")) == []
    with open(os.path.join(shards.root, "index.json")) as f:
        assert json.load(f) == index  # the cache folder is itself a sharded dataset


def test_two_urls_never_share_a_cache_folder(nginx, proxy, tmp_path):
    a = nc.RemoteShards(f"{nginx.url}/data", cache_dir=tmp_path)
    b = nc.RemoteShards(f"{proxy.url}/data", cache_dir=tmp_path)
    assert a.root != b.root and os.path.dirname(a.root) == os.path.dirname(b.root)
    assert "data" in os.path.basename(a.root)


def test_a_changed_index_refetches_a_shard_the_cache_holds_in_an_older_version(
        nginx, served, tmp_path):
    shards = nc.RemoteShards(f"{nginx.url}/data", cache_dir=tmp_path)
    shards.fetch(0)
    entry = os.path.join(shards.root, META, "entries", "shard-00000.json")
    rec = json.load(open(entry))
    rec["files"]["manifest.json"]["sha256"] = "0" * 64
    json.dump(rec, open(entry, "w"))
    again = nc.RemoteShards(f"{nginx.url}/data", cache_dir=tmp_path)
    same_files(again.fetch(0), served[0] / "data" / "shard-00000")
    assert again.stats()["shards_fetched"] == 1


def test_a_token_shard_is_one_file(nginx, served, tmp_path):
    shards = nc.RemoteShards(f"{nginx.url}/tokens", cache_dir=tmp_path, cache_limit=400)
    for k in range(2):
        path = shards.fetch(k)
        assert path == os.path.join(shards.root, f"shard-{k:05d}.npy") and os.path.isfile(path)
        assert np.array_equal(np.load(path), np.arange(100 * k, 100 * k + 100, dtype=np.uint16))
    assert shards.stats()["evicted"] == 1  # each file is 328 bytes: one fits in 400
    assert sorted(n for n in os.listdir(shards.root) if n.startswith("shard")) == [
        "shard-00001.npy"]


GOOD = {"format_version": 1, "kind": "image", "num_samples": 2, "classes": None,
        "shards": [{"name": "s0", "num_samples": 2, "bytes": 3,
                    "files": {"a.npy": {"bytes": 3, "sha256": "ab" * 32}}}], "skipped": []}


def edited(**fields):
    return json.dumps({**GOOD, **fields}).encode()


def one_shard(**fields):
    return edited(shards=[{**GOOD["shards"][0], **fields}])


@pytest.mark.parametrize("data, match", [
    (b"<html>", "not a JSON index"),
    (b"[]", "not a JSON object"),
    (edited(kind="audio"), "kind 'audio' is not one of image, video, tokens"),
    (edited(num_samples=-1), "num_samples -1 is not a count"),
    (edited(num_samples=3), r"num_samples 3 is not the sum of the shards' \(2\)"),
    (edited(shards={}), "shards must be a list"),
    (one_shard(name="../etc"), r"shard '\.\./etc' has no valid name"),
    (one_shard(name="index.json"), "shard 'index.json' has no valid name"),
    (one_shard(bytes="3"), "shard s0: num_samples and bytes must be counts"),
    (one_shard(files={}), "shard s0: files must name the files"),
    (one_shard(files={"a/b": {"bytes": 1, "sha256": "ab" * 32}}), "file entry 'a/b'"),
    (one_shard(files={"a": {"bytes": 1, "sha256": "xyz"}}), "file entry 'a'"),
    (edited(shards=[GOOD["shards"][0]] * 2, num_samples=4), "two shards have the same name"),
    (edited(kind="tokens"), "a token shard is one file listed under its own name"),
    (edited(files={"s0": {"bytes": 1, "sha256": "ab" * 32}}), "dataset file 's0' has a shard"),
])
def test_index_checks_name_the_problem(data, match):
    assert parse_index(edited(), "u")["shards"][0]["name"] == "s0"
    with pytest.raises(ValueError, match="^u: .*" + match):
        parse_index(data, "u")


# --- faults ---------------------------------------------------------------------------------------
def test_503s_are_retried_with_backoff_then_the_fetch_succeeds(proxy, served, tmp_path):
    shards = nc.RemoteShards(f"{proxy.url}/data", cache_dir=tmp_path)
    proxy.fail = 3
    same_files(shards.fetch(0), served[0] / "data" / "shard-00000")
    assert shards.stats()["retries"] == 3


def test_503s_past_the_retries_raise_remote_error_naming_shard_url_and_cause(proxy, tmp_path):
    shards = nc.RemoteShards(f"{proxy.url}/data", cache_dir=tmp_path, retries=2)
    proxy.fail = 100
    with pytest.raises(nc.RemoteError, match=r"shard shard-00001.*http://127\.0\.0\.1:\d+/data/"
                                             r"shard-00001/.*3 tries failed.*HTTP 503"):
        shards.fetch(1)
    assert isinstance(nc.RemoteError("x"), OSError)
    assert not os.path.exists(os.path.join(shards.root, "shard-00001"))
    assert os.listdir(os.path.join(shards.root, META, "tmp")) == []


def test_a_cut_body_is_resumed_with_a_range_request(proxy, served, tmp_path):
    shards = nc.RemoteShards(f"{proxy.url}/data", cache_dir=tmp_path)
    proxy.truncate = 2
    same_files(shards.fetch(2), served[0] / "data" / "shard-00002")
    stats = shards.stats()
    assert stats["retries"] == 2
    # resumed, not restarted: the cut halves were not downloaded twice
    assert stats["bytes_downloaded"] < os.path.getsize(
        os.path.join(shards.root, "index.json")) + served[1]["shards"][2]["bytes"] + \
        served[1]["files"]["labels.npy"]["bytes"] + 1


def test_404_fails_at_once(proxy, tmp_path):
    shards = nc.RemoteShards(f"{proxy.url}/missing", cache_dir=tmp_path, timeout=30)
    t0 = time.monotonic()
    with pytest.raises(nc.RemoteError, match=r"shard shard-00002, file shard-00002/pixels\.npy"
                                             r".*HTTP 404"):
        shards.fetch(2)
    assert time.monotonic() - t0 < 1.0
    assert proxy.count("/shard-00002/pixels.npy") == 1
    assert not os.path.exists(os.path.join(shards.root, "shard-00002"))


def test_a_replaced_file_is_retried_then_a_remote_error_naming_it(nginx, tmp_path):
    shards = nc.RemoteShards(f"{nginx.url}/replaced", cache_dir=tmp_path, retries=2)
    shards.fetch(0)
    with pytest.raises(nc.RemoteError, match=r"file shard-00001/pixels\.npy.*SHA-256 .* "
                                             r"differs from the index"):
        shards.fetch(1)
    assert shards.stats()["retries"] == 2
    assert not os.path.exists(os.path.join(shards.root, "shard-00001"))


def test_a_bad_index_is_a_value_error_naming_the_problem(nginx, tmp_path):
    with pytest.raises(ValueError, match=r"badindex/index\.json: format_version 2"):
        nc.RemoteShards(f"{nginx.url}/badindex", cache_dir=tmp_path)
    with pytest.raises(nc.RemoteError, match=r"index.*HTTP 404"):
        nc.RemoteShards(f"{nginx.url}/nothing-here", cache_dir=tmp_path)


def test_the_server_killed_mid_epoch_and_restarted(nginx, served, tmp_path):
    shards = nc.RemoteShards(nginx.url + "/data", cache_dir=tmp_path, timeout=20, retries=10)
    short = nc.RemoteShards(nginx.url + "/data", cache_dir=tmp_path, timeout=2.0, retries=10)
    shards.fetch(0)
    nginx.kill()
    restart = threading.Timer(1.0, nginx.start)
    restart.start()
    try:
        same_files(shards.fetch(1), served[0] / "data" / "shard-00001")
    finally:
        restart.join()
    assert shards.stats()["retries"] >= 1
    # down for good: a RemoteError once the timeout is spent, never a hang
    nginx.kill()
    try:
        t0 = time.monotonic()
        with pytest.raises(nc.RemoteError, match=r"shard shard-00002.*(timed out|tries failed)"
                                                 r".*Connection ?[Rr]efused"):
            short.fetch(2)
        assert time.monotonic() - t0 < 2.0 + 1.0
    finally:
        nginx.start()


# --- processes sharing a cache -----------------------------------------------------------------
CHILD = textwrap.dedent("""
    import sys, time, nocopy as nc
    url, cache, k, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    shards = nc.RemoteShards(url, cache_dir=cache)
    time.sleep(max(0.0, start - time.time()))
    print(shards.fetch(k), shards.stats()["shards_fetched"], flush=True)
""")


def child(url, cache, k, start=0.0):
    return subprocess.Popen([sys.executable, "-c", CHILD, url, str(cache), str(k), str(start)],
                            stdout=subprocess.PIPE, text=True)


def test_two_processes_racing_for_a_shard_download_it_once(proxy, served, tmp_path):
    proxy.delay = 0.1
    start = time.time() + 2.0
    procs = [child(f"{proxy.url}/data", tmp_path, 0, start) for _ in range(2)]
    outs = [p.communicate(timeout=30)[0].split() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs[0][0] == outs[1][0]
    assert sorted(int(o[1]) for o in outs) == [0, 1]  # one downloaded, the other found it
    for f in served[1]["shards"][0]["files"]:
        assert proxy.count(f"/data/shard-00000/{f}") == 1, f
    same_files(outs[0][0], served[0] / "data" / "shard-00000")


def test_the_files_of_a_shard_download_at_once(proxy, served, tmp_path):
    from nocopy._remote.shards import FILE_THREADS

    shards = nc.RemoteShards(f"{proxy.url}/data", cache_dir=tmp_path)
    proxy.reset()
    proxy.delay = 0.2  # each answer waits: files fetched one by one would never overlap
    files = served[1]["shards"][0]["files"]
    assert len(files) > 2
    same_files(shards.fetch(0), served[0] / "data" / "shard-00000")
    assert proxy.most_in_flight == min(len(files), FILE_THREADS)
    shards.close()


def test_kill_9_mid_download_leaves_nothing_that_looks_complete(proxy, served, tmp_path):
    proxy.stall = True
    p = child(f"{proxy.url}/data", tmp_path, 1)
    assert proxy.stalled.wait(20), "the child never started downloading"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    (root,) = [os.path.join(tmp_path, d) for d in os.listdir(tmp_path)]
    assert not os.path.exists(os.path.join(root, "shard-00001"))
    assert not os.path.exists(os.path.join(root, META, "entries", "shard-00001.json"))
    assert os.listdir(os.path.join(root, META, "tmp")) != []  # the dead process's staging
    proxy.stall = False
    proxy.release.set()
    shards = nc.RemoteShards(f"{proxy.url}/data", cache_dir=tmp_path)
    assert os.listdir(os.path.join(root, META, "tmp")) == []  # stale temps cleaned
    same_files(shards.fetch(1), served[0] / "data" / "shard-00001")


# --- eviction -------------------------------------------------------------------------------------
def test_least_recently_used_shards_are_evicted_under_the_limit(nginx, served, tmp_path):
    sizes = [s["bytes"] for s in served[1]["shards"]]
    shards = nc.RemoteShards(f"{nginx.url}/data", cache_dir=tmp_path,
                             cache_limit=str(max(sizes[0] + sizes[1], sizes[0] + sizes[2],
                                                 sizes[1] + sizes[2])))
    for k in (0, 1, 0):  # shard 0 used last
        shards.fetch(k)
        time.sleep(0.01)
    shards.fetch(2)
    assert sorted(n for n in os.listdir(shards.root) if n.startswith("shard")) == [
        "shard-00000", "shard-00002"]
    assert shards.stats()["evicted"] == 1
    same_files(shards.fetch(1), served[0] / "data" / "shard-00001")  # fetched again
    with pytest.raises(ValueError, match="cache_limit 'lots'"):
        nc.RemoteShards(f"{nginx.url}/data", cache_dir=tmp_path, cache_limit="lots")


def test_a_shard_held_by_open_lock_is_never_evicted(nginx, served, tmp_path):
    shards = nc.RemoteShards(f"{nginx.url}/data", cache_dir=tmp_path, cache_limit=1)
    with shards.open_lock(0) as path:
        images = nc.ImageSet.open(path)
        time.sleep(0.01)
        shards.fetch(1)  # over the limit: shard 0 is older but held, shard 1 just fetched
        assert sorted(n for n in os.listdir(shards.root) if n.startswith("shard")) == [
            "shard-00000", "shard-00001"]
        assert shards.stats()["evicted"] == 0 and len(images) == 4
    shards.fetch(2)  # now 0 and 1 go
    assert shards.stats()["evicted"] == 2
    assert sorted(n for n in os.listdir(shards.root) if n.startswith("shard")) == ["shard-00002"]


# --- a full cache disk ----------------------------------------------------------------------------
def test_a_full_cache_disk_is_enospc_naming_the_cache_and_leaves_no_temp(nginx, tmp_path,
                                                                          monkeypatch):
    """The writer made to fail as a full disk does (see the next test for a real one)."""
    shards = nc.RemoteShards(f"{nginx.url}/data", cache_dir=tmp_path)

    class Full:
        def __init__(self, f):
            self.f = f

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    real_open = open
    monkeypatch.setattr(download_module, "open", lambda *a, **k: Full(real_open(*a, **k)),
                        raising=False)
    with pytest.raises(OSError) as info:
        shards.fetch(0)
    assert info.value.errno == errno.ENOSPC and not isinstance(info.value, nc.RemoteError)
    assert str(tmp_path) in str(info.value) and "shard-00000" in str(info.value)
    assert os.listdir(os.path.join(shards.root, META, "tmp")) == []
    assert not os.path.exists(os.path.join(shards.root, "shard-00000"))


FULL_DISK = textwrap.dedent("""
    import errno, os, sys, nocopy as nc
    url, cache = sys.argv[1], sys.argv[2]
    shards = nc.RemoteShards(url, cache_dir=cache)
    try:
        shards.fetch(0)
    except OSError as exc:
        tmp = os.path.join(shards.root, ".nocopy", "tmp")
        print(exc.errno == errno.ENOSPC, cache in str(exc), os.listdir(tmp) == [],
              os.path.exists(os.path.join(shards.root, "shard-00000")))
""")


def test_a_real_tiny_filesystem_fills_up(nginx, tmp_path):
    """A 24 KiB tmpfs mounted in a private mount namespace (unshare) as the cache."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare is not installed")
    cache = tmp_path / "tiny"
    cache.mkdir()
    cmd = (f"mount -t tmpfs -o size=24k tmpfs {cache} && exec {sys.executable} -c "
           f"\"$0\" {nginx.url}/data {cache}")
    flags = ["-m"] if os.geteuid() == 0 else ["-r", "-m"]
    probe = subprocess.run([unshare, *flags, "sh", "-c", f"mount -t tmpfs -o size=24k tmpfs "
                            f"{cache}"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"no private tmpfs here: {probe.stderr.strip()}")
    r = subprocess.run([unshare, *flags, "sh", "-c", cmd, FULL_DISK], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True", "True", "False"]


# --- prefetch -------------------------------------------------------------------------------------
def test_prefetch_downloads_in_the_background_once_and_fetch_joins_it(proxy, served, tmp_path):
    shards = nc.RemoteShards(f"{proxy.url}/data", cache_dir=tmp_path)
    proxy.delay = 0.05
    for k in (0, 1, 2, 0, 1):
        shards.prefetch(k)
    paths = [shards.fetch(k) for k in range(3)]
    for k, path in enumerate(paths):
        same_files(path, served[0] / "data" / f"shard-{k:05d}")
    for s in served[1]["shards"]:
        for f in s["files"]:
            assert proxy.count(f"/data/{s['name']}/{f}") == 1
    assert shards.stats()["shards_fetched"] == 3
    shards.close()


def test_a_prefetch_error_surfaces_at_fetch(proxy, tmp_path):
    with nc.RemoteShards(f"{proxy.url}/missing", cache_dir=tmp_path) as shards:
        shards.prefetch(2)
        with pytest.raises(nc.RemoteError, match="HTTP 404"):
            shards.fetch(2)


# --- S3 (moto's server) ---------------------------------------------------------------------------
def test_s3_with_storage_options(moto, served, tmp_path):
    shards = nc.RemoteShards("s3://bucket/datasets/tiny", cache_dir=tmp_path,
                             storage_options=options(moto))
    assert shards.index == served[1]
    for k, name in enumerate(shards.shard_names):
        same_files(shards.fetch(k), served[0] / "data" / name)
    assert np.array_equal(np.load(shards.files["labels.npy"]),
                          np.load(served[0] / "data" / "labels.npy"))


def test_s3_with_the_aws_environment(moto, served, tmp_path, monkeypatch):
    for k, v in {"AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                 "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    shards = nc.RemoteShards("s3://bucket/datasets/tiny/", cache_dir=tmp_path)
    same_files(shards.fetch(1), served[0] / "data" / "shard-00001")


def test_s3_missing_object_fails_at_once(moto, tmp_path):
    shards = nc.RemoteShards("s3://bucket/datasets/missing", cache_dir=tmp_path,
                             storage_options=options(moto), timeout=30)
    t0 = time.monotonic()
    with pytest.raises(nc.RemoteError, match=r"s3://bucket/datasets/missing/shard-00002/"
                                             r"pixels\.npy.*HTTP 404 NoSuchKey"):
        shards.fetch(2)
    assert time.monotonic() - t0 < 2.0
    with pytest.raises(nc.RemoteError, match="HTTP 404 NoSuchBucket"):
        nc.RemoteShards("s3://nobucket/x", cache_dir=tmp_path, storage_options=options(moto))


def test_s3_without_boto3_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ImportError, match=r"pip install nocopy\[remote\]"):
        nc.RemoteShards("s3://bucket/x", cache_dir=tmp_path)


# --- local folders and bad arguments --------------------------------------------------------------
def test_a_local_folder_is_read_in_place(served):
    shards = nc.RemoteShards(str(served[0] / "data"))
    assert shards.fetch(1) == str(served[0] / "data" / "shard-00001")
    with shards.open_lock(2) as path:
        assert path == str(served[0] / "data" / "shard-00002")
    assert shards.files["labels.npy"] == str(served[0] / "data" / "labels.npy")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"url": "ftp://host/data"}, ValueError, "scheme 'ftp' is not supported"),
    ({"url": 3}, TypeError, "url must be"),
    ({"timeout": 0}, ValueError, "timeout must be positive"),
    ({"timeout": float("nan")}, ValueError, "timeout must be positive"),
    ({"timeout": "1"}, TypeError, "timeout must be a number"),
    ({"retries": -1}, ValueError, "retries must be 0 or more"),
    ({"retries": 1.0}, TypeError, "retries must be an integer"),
    ({"cache_limit": 0}, ValueError, "at least 1 byte"),
    ({"cache_limit": 1.5}, TypeError, "cache_limit must be bytes"),
    ({"storage_options": {"endpoint": "x"}}, ValueError, r"storage_options \['endpoint'\]"),
    ({"storage_options": "x"}, TypeError, "storage_options must be a dict"),
])
def test_bad_arguments_are_clear_errors(kwargs, error, match, tmp_path):
    args = {"url": "http://127.0.0.1:9/data", "cache_dir": tmp_path, **kwargs}
    with pytest.raises(error, match=match):
        nc.RemoteShards(**args)


def test_shard_numbers_are_checked(served):
    shards = nc.RemoteShards(str(served[0] / "data"))
    with pytest.raises(IndexError, match="shard 3 out of range"):
        shards.fetch(3)
    with pytest.raises(TypeError, match="integer"):
        shards.fetch("0")
