"""Remote data: a JPEG image set and a token set served by nginx on loopback, read by nocopy
(cold cache, warm cache, local) and by litdata's StreamingDataset and WebDataset in a torch
DataLoader, side by side in one run. Optionally with added round-trip time: ``tc netem`` inside
a network namespace the benchmark creates where the kernel has sch_netem, else (or with
``--rtt-mode proxy``) a userspace delay proxy in front of each server (bench/remote_net.py
DelayProxy: every chunk sent rtt/2 after it arrived, in each direction), which every reader goes
through; such rounds are labelled "emulated by a userspace delay proxy" in the JSON and tables.

Images: synthetic ImageNet-like JPEGs (Pillow, quality 90), the same bytes in every format
(nocopy ``pack_images(format="keep")``, WebDataset tar shards, litdata ``optimize`` chunks), all
sharded at ``--shard-mb``. The recipe for every reader: RandomResizedCrop(224) + horizontal flip
+ ToDtype(float32, scale) + Normalize, batch 64, 2 threads (nocopy) or 2 workers (torch).
The peers decode with torchvision.io.decode_jpeg (libjpeg-turbo, as nocopy).

- nocopy cold: a fresh cache folder, ``nc.ImageSet.open(url)`` + ``nc.Loader`` (shard by shard
  through the verified cache, ``shuffle="block"``); warm: the cache already full; local: the
  packed folder itself.
- WebDataset: ``wds.WebDataset(http url pattern)`` (curl, streamed, no cache) + shuffle buffer.
- litdata: StreamingDataset cannot read http(s) (its providers are s3, gs, r2), so it reads an
  S3 bucket served by moto's S3 server (a separate process on loopback); nocopy reads the same
  bucket too (``nocopy-s3 cold``) so the store is like for like.
- Tokens: a uint16 token set (``nc.pack_tokens``) read by nc.SequenceLoader locally and from
  the server: ``tokens cold`` streams it (``nc.open_tokens(url)``, a fresh cache: each shard
  downloaded when a worker first reads a window of it, the next ``fetch_ahead`` batches'
  shards in the background); ``tokens cold whole`` fetches every shard into the cache first
  (nc.RemoteShards.fetch) and then opens the cache folder, for comparison; ``tokens warm``
  streams from a full cache.

Each reader's epoch is timed per round: time to first batch (from creating the dataset object)
and img/s after the first batch (the whole epoch's rate is in the JSON too); medians of the
rounds. Progress goes to stderr, the JSON result to stdout (or --json FILE).

    .venv/bin/python bench/bench_remote.py                      # the full run, 0 and 10 ms
    .venv/bin/python bench/bench_remote.py --quick --json out.json
    .venv/bin/python bench/bench_remote.py --quick --rtt 0,10 --rtt-mode proxy
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine  # noqa: E402
from remote_data import make_jpegs, write_litdata, write_wds  # noqa: E402
from remote_net import (NETNS, NS_IP, PROXY_LABEL, DelayProxy, MotoS3, Nginx,  # noqa: E402
                        measured_request_ms, measured_rtt_ms, netem_in_kernel, netns_down,
                        netns_up)
from remote_readers import (litdata_loader, nocopy_loader, time_epoch,  # noqa: E402
                            wds_loader)


def log(*args) -> None:
    print("[bench_remote]", *args, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- runs

def fresh(path: str) -> str:
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def image_methods(args, work: str, paths: dict, http_url: str, s3_endpoint: str | None) -> dict:
    """{name: callable returning one epoch's timing}; cold methods empty their cache first.
    http_url and s3_endpoint are what the readers connect to (the servers or their proxies)."""
    import nocopy as nc

    cache = os.path.join(work, "cache")
    warm_cache = os.path.join(work, "warm-cache")
    methods = {}

    def local():
        return time_epoch(lambda: nocopy_loader(nc.ImageSet.open(paths["nocopy"]), args, True))

    def cold():
        fresh(cache)
        return time_epoch(lambda: nocopy_loader(
            nc.ImageSet.open(f"{http_url}/nocopy", cache_dir=cache), args, True))

    def warm():
        return time_epoch(lambda: nocopy_loader(
            nc.ImageSet.open(f"{http_url}/nocopy", cache_dir=warm_cache), args, True))

    fresh(warm_cache)
    time_epoch(lambda: nocopy_loader(nc.ImageSet.open(f"{http_url}/nocopy",
                                                      cache_dir=warm_cache), args, True))
    methods.update({"nocopy local": local, "nocopy warm": warm, "nocopy cold": cold})
    if s3_endpoint is not None:
        s3_opts = {"endpoint_url": s3_endpoint, "key": "testing", "secret": "testing",
                   "region": "us-east-1"}

        def s3_cold():
            fresh(cache)
            return time_epoch(lambda: nocopy_loader(
                nc.ImageSet.open("s3://bench/nocopy", cache_dir=cache, storage_options=s3_opts),
                args, True))

        methods["nocopy-s3 cold"] = s3_cold
    if "webdataset" in args.peers:
        last = paths["wds_shards"] - 1
        http = f"{http_url}/wds/shard-{{00000..{last:05d}}}.tar"
        local_urls = os.path.join(paths["wds"], f"shard-{{00000..{last:05d}}}.tar")
        methods["webdataset http"] = lambda: time_epoch(lambda: wds_loader(http, args))
        methods["webdataset local"] = lambda: time_epoch(lambda: wds_loader(local_urls, args))
    if "litdata" in args.peers:
        lit_cache = os.path.join(work, "lit-cache")
        if s3_endpoint is not None:
            opts = {"endpoint_url": s3_endpoint, **MotoS3.OPTIONS}

            def lit_cold():
                fresh(lit_cache)
                return time_epoch(lambda: litdata_loader("s3://bench/litdata", lit_cache, args,
                                                         opts))

            methods["litdata-s3 cold"] = lit_cold
        methods["litdata local"] = lambda: time_epoch(
            lambda: litdata_loader(paths["litdata"], "", args, None))
    return methods


def token_methods(args, work: str, tok_local: str, http_url: str) -> dict:
    import nocopy as nc

    cache = os.path.join(work, "tok-cache")
    warm_cache = os.path.join(work, "tok-warm-cache")

    def loader(tokens):
        return nc.SequenceLoader(tokens, args.seq_len, args.token_batch,
                                 dtype="int64", num_threads=args.threads)

    def streamed(cache_dir):
        return loader(nc.open_tokens(f"{http_url}/tokens", cache_dir=cache_dir))

    def whole(cache_dir):
        shards = nc.RemoteShards(f"{http_url}/tokens", cache_dir=cache_dir)
        for k in range(shards.num_shards):
            shards.prefetch(k)
        for k in range(shards.num_shards):
            shards.fetch(k)
        return loader(nc.open_tokens(shards.root))

    def cold():
        fresh(cache)
        return time_epoch(lambda: streamed(cache))

    def cold_whole():
        fresh(cache)
        return time_epoch(lambda: whole(cache))

    fresh(warm_cache)
    whole(warm_cache)
    return {"tokens local": lambda: time_epoch(lambda: loader(nc.open_tokens(tok_local))),
            "tokens warm": lambda: time_epoch(lambda: streamed(warm_cache)),
            "tokens cold": cold, "tokens cold whole": cold_whole}


def run_rounds(methods: dict, rounds: int, label: str) -> dict:
    """Runs every method once per round, interleaved; medians per method."""
    runs = {n: [] for n in methods}
    for r in range(rounds):
        for name, fn in methods.items():
            try:
                res = fn()
            except Exception as e:  # a peer that fails is recorded, not fatal
                why = f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:300]}"
                log(f"{label} {name}: FAILED: {why}")
                runs[name].append({"error": why})
                continue
            runs[name].append(res)
            log(f"{label} round {r + 1}/{rounds} {name:18s} ttfb {res['ttfb_s'] * 1e3:7.1f} ms"
                f"  {res['img_s']:8.1f} /s  ({res['samples']} in {res['epoch_s']:.2f} s)")
    out = {}
    for name, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        if not ok:
            out[name] = {"error": rs[0]["error"]}
            continue
        out[name] = {k: statistics.median(r[k] for r in ok)
                     for k in ("ttfb_s", "img_s", "epoch_img_s", "epoch_s")}
        out[name]["samples"] = ok[0]["samples"]
        out[name]["img_s_range"] = [min(r["img_s"] for r in ok), max(r["img_s"] for r in ok)]
        out[name]["ttfb_s_range"] = [min(r["ttfb_s"] for r in ok), max(r["ttfb_s"] for r in ok)]
        out[name]["rounds"] = len(ok)
    return out


def with_ratios(res: dict, local: str) -> dict:
    """Adds each reader's rate over the local reader's: after the first batch (vs_local) and
    over the whole epoch, first batch included (epoch_vs_local)."""
    base = res.get(local, {})
    for v in res.values():
        if "img_s" in v and base.get("img_s"):
            v["vs_local"] = v["img_s"] / base["img_s"]
            v["epoch_vs_local"] = v["epoch_img_s"] / base["epoch_img_s"]
    return res


def load() -> dict:
    """The machine's load average and CPU pressure (other work sharing the cores)."""
    out = {"loadavg_1m": os.getloadavg()[0]}
    try:
        with open("/proc/pressure/cpu") as f:
            some = f.readline().split()
        out["cpu_pressure_avg60"] = float(some[2].split("=")[1])
    except (OSError, IndexError, ValueError):
        pass
    return out


def markdown(result: dict) -> str:
    """The result as Markdown tables, one per RTT and kind of data: one row per reader."""
    lines = []
    for part, unit, scale in (("images", "img/s", 1), ("tokens", "Mtok/s", 1e6)):
        for key, rows in result[part].items():
            how = result.get("rtt_emulation", {}).get(key, {})
            seen = result.get("measured", {}).get(key)
            title = f"{part}, {key} added RTT"
            if how.get("mode", "none") != "none":
                title += f", {how['label']}"
            if seen:
                title += (f" (measured: request round trip {seen['request_ms']:.1f} ms, new "
                          f"connection + request {seen['new_connection_request_ms']:.1f} ms)")
            lines += [title + ":", "",
                      f"| reader | first batch ms | {unit} after it | vs local | "
                      f"epoch {unit} | epoch vs local |", "|---|---:|---:|---:|---:|---:|"]
            for name, v in rows.items():
                if "error" in v:
                    lines.append(f"| {name} | failed: {v['error'][:80]} | | | | |")
                    continue
                rate = v.get("img_s", v.get("windows_s", 0)) * (
                    1 if part == "images" else result["config"]["seq_len"]) / scale
                epoch = v["samples"] / v["epoch_s"] * (
                    1 if part == "images" else result["config"]["seq_len"]) / scale
                lines.append(f"| {name} | {v['ttfb_s'] * 1e3:.0f} | {rate:.0f} | "
                             f"{v.get('vs_local', float('nan')):.2f} | {epoch:.0f} | "
                             f"{v.get('epoch_vs_local', float('nan')):.2f} |")
            lines.append("")
    for k, why in result["not_run"].items():
        lines.append(f"not run: {k}: {why}")
    return "\n".join(lines)


def add_rtt(rtt: float, mode: str) -> dict:
    """Sets up ``rtt`` ms of added round-trip time the ``mode`` way (auto, netem, proxy): a dict
    with the mode used ("none", "netem" with the namespace up, or "proxy") and its label, or
    {"not_run": why} when mode is netem and netem cannot be had."""
    if mode == "proxy":
        return {"mode": "proxy", "label": f"{PROXY_LABEL} (--rtt-mode proxy)"}
    if rtt <= 0:
        return {"mode": "none", "label": "loopback, nothing added"}
    try:
        netns_up(rtt)
        return {"mode": "netem", "label": f"netem, {rtt / 2:g} ms on each end of a veth pair"}
    except RuntimeError as e:
        config = netem_in_kernel()
        why = f"{e} (kernel config: {config})" if config else str(e)
    if mode == "netem":
        log(f"{rtt:g}ms: cannot add round-trip time: {why}")
        return {"not_run": f"netem/netns setup failed: {why}"}
    log(f"{rtt:g}ms: no netem ({why}); every reader goes through a userspace delay proxy")
    return {"mode": "proxy", "label": f"{PROXY_LABEL} (no netem in this kernel)",
            "netem_error": why}


def measured(host: str, port: int) -> dict:
    """What a reader sees of the round trip to host:port: TCP connect time, one HTTP request's
    round trip on an open connection, and a new connection plus its first request (about two
    round trips on a real link; the proxy's handshake shows there, not in connect)."""
    first, again = measured_request_ms(host, port)
    return {"connect_ms": measured_rtt_ms(host, port), "request_ms": again,
            "new_connection_request_ms": first}


def prepare(args, work: str) -> dict:
    import nocopy as nc

    served = os.path.join(work, "served")
    os.makedirs(served)
    paths = {"served": served}
    t0 = time.perf_counter()
    files = make_jpegs(os.path.join(work, "src"), args.images, args.classes, seed=0)
    mb = sum(os.path.getsize(p) for p, _ in files) / 1e6
    log(f"{args.images} JPEGs, {mb:.1f} MB ({mb * 1e3 / args.images:.0f} kB each), "
        f"{time.perf_counter() - t0:.1f} s")
    paths["nocopy"] = os.path.join(served, "nocopy")
    nc.pack_images(os.path.join(work, "src"), paths["nocopy"], format="keep",
                   shard_size=f"{args.shard_mb}MB")
    if "webdataset" in args.peers:
        paths["wds"] = os.path.join(served, "wds")
        paths["wds_shards"] = write_wds(files, paths["wds"], args.shard_mb * 10**6)
    if "litdata" in args.peers:
        paths["litdata"] = os.path.join(served, "litdata")
        try:
            write_litdata(files, paths["litdata"], args.shard_mb)
        except Exception as e:
            log(f"litdata optimize FAILED: {type(e).__name__}: {e}")
            args.peers.remove("litdata")
    tokens = np.random.default_rng(1).integers(0, 50257, args.tokens, dtype=np.uint16)
    paths["tokens"] = os.path.join(served, "tokens")
    nc.pack_tokens(tokens, paths["tokens"], "uint16", shard_size=f"{args.shard_mb}MB")
    log(f"packed: {', '.join(n for n in os.listdir(served))} in {time.perf_counter() - t0:.1f} s")
    return paths


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--tokens", type=int, default=50_000_000)
    p.add_argument("--seq-len", type=int, default=2048)
    p.add_argument("--token-batch", type=int, default=32)
    p.add_argument("--shard-mb", type=int, default=16)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rtt", default=None,
                   help="added round-trip times in ms, comma separated (default 0,10; --quick: 0)")
    p.add_argument("--rtt-mode", choices=("auto", "netem", "proxy"), default="auto",
                   help="how round-trip time is added: netem in a network namespace; a userspace "
                   "delay proxy in front of each server (with proxy, the 0 ms rounds go through "
                   "a 0 ms proxy too, to show its own cost); auto: netem where the kernel has "
                   "it, else the proxy")
    p.add_argument("--peers", default="litdata,webdataset",
                   help="comma separated: litdata, webdataset (empty: none)")
    p.add_argument("--no-s3", action="store_true", help="skip moto's S3 server")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes, one round, 0 ms only (a smoke run)")
    p.add_argument("--workdir", default=None)
    p.add_argument("--json", default=None, help="write the result here (else stdout)")
    p.add_argument("--table", default=None, metavar="JSON",
                   help="print the Markdown tables of an earlier run's JSON and exit")
    args = p.parse_args(argv)
    if args.table:
        with open(args.table) as f:
            print(markdown(json.load(f)))
        return {}
    if args.quick:
        args.images, args.tokens, args.rounds = 96, 400_000, 1
        args.shard_mb, args.batch, args.seq_len = 1, 16, 256
    args.peers = [s for s in args.peers.split(",") if s]
    if args.rtt is None:
        args.rtt = "0" if args.quick else "0,10"
    rtts = [float(r) for r in args.rtt.split(",") if r]

    work = tempfile.mkdtemp(prefix="bench_remote-", dir=args.workdir)
    result = {"machine": machine(), "config": {k: v for k, v in vars(args).items()},
              "images": {}, "tokens": {}, "rtt_emulation": {}, "measured_rtt_ms": {},
              "measured": {}, "load": {}, "not_run": {}}
    try:
        paths = prepare(args, work)
        result["config"]["image_mb"] = round(sum(
            os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(paths["nocopy"])
            for f in fs) / 1e6, 1)
        for rtt in rtts:
            key = f"{rtt:g}ms"
            how = add_rtt(rtt, args.rtt_mode)
            if "not_run" in how:
                result["not_run"][key] = how["not_run"]
                continue
            result["rtt_emulation"][key] = how
            host, netns = (NS_IP, NETNS) if how["mode"] == "netem" else ("127.0.0.1", None)
            nginx = s3 = None
            proxies = []
            try:
                nginx = Nginx(paths["served"], os.path.join(work, f"nginx-{key}"), host, netns)
                if not args.no_s3:
                    try:
                        s3 = MotoS3(host, netns)
                        s3.upload(paths["nocopy"], "bench", "nocopy")
                        if "litdata" in args.peers:
                            s3.upload(paths["litdata"], "bench", "litdata")
                    except Exception as e:
                        log(f"moto S3 FAILED: {type(e).__name__}: {e}")
                        result["not_run"][f"s3 {key}"] = f"{type(e).__name__}: {e}"
                        s3 = None
                front, s3_front = nginx, s3  # what the readers connect to
                if how["mode"] == "proxy":  # every reader goes through a proxy per server
                    front = DelayProxy(nginx.host, nginx.port, rtt)
                    proxies.append(front)
                    if s3 is not None:
                        s3_front = DelayProxy(s3.host, s3.port, rtt)
                        proxies.append(s3_front)
                seen = measured(front.host, front.port)
                result["measured"][key] = seen
                result["load"][f"{key} start"] = load()
                log(f"{key}: readers connect to {front.url} ({how['label']}); measured: "
                    f"connect {seen['connect_ms']:.2f} ms, request round trip "
                    f"{seen['request_ms']:.2f} ms, new connection + request "
                    f"{seen['new_connection_request_ms']:.2f} ms")
                http_url = front.url
                s3_endpoint = s3_front.endpoint if s3_front is not None else None
                imgs = run_rounds(image_methods(args, work, paths, http_url, s3_endpoint),
                                  args.rounds, f"{key} images")
                toks = run_rounds(token_methods(args, work, paths["tokens"], http_url),
                                  args.rounds, f"{key} tokens")
                result["images"][key] = with_ratios(imgs, "nocopy local")
                result["tokens"][key] = with_ratios(toks, "tokens local")
                for v in toks.values():  # a token "sample" is one window of seq_len tokens
                    if "img_s" in v:
                        v["windows_s"] = v.pop("img_s")
                        v["windows_s_range"] = v.pop("img_s_range")
                        v["tokens_s"] = v["windows_s"] * args.seq_len
                        v["epoch_tokens_s"] = v.pop("epoch_img_s") * args.seq_len
                result["measured_rtt_ms"][key] = seen["request_ms"]
                result["load"][f"{key} end"] = load()
            finally:
                for proxy in proxies:
                    proxy.stop()
                if nginx is not None:
                    nginx.stop()
                if s3 is not None:
                    s3.stop()
                if netns:
                    netns_down()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log("\n" + markdown(result))
    text = json.dumps(result, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    else:
        print(text)
    return result


if __name__ == "__main__":
    main()
