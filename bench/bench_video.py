"""nc.VideoLoader against torchcodec, PyAV and the bare decode rate, side by side in one run.

Synthetic H.264 videos (bench/video_sources.py: --videos per set, --width x --height, --frames
frames at 25 fps, yuv420p, one set with a keyframe every 12 frames and one every 250), packed
with nc.pack_videos and cached under --cache. Clips of --clip-len frames, --frame-step apart,
random start; the recipe RandomResizedCrop(112) + RandomHorizontalFlip + ToDtype(float32,
scale=True) + Normalize, drawn once per clip; (B, T, C, H, W) float32 batches of --batch clips.

Every method reads the same clips: nocopy's plan(i) (video and frame numbers) for batch 0 (the
warm-up) and the --batches timed batches after it. Methods, interleaved round by round
(--rounds), medians of clips/s:
  - nocopy-2t / nocopy-1t: nc.VideoLoader(num_threads=--threads / 1);
  - torchcodec-N / pyav-N: a torch Dataset + DataLoader (batch --batch, num_workers N = 0 and
    2) whose __getitem__ decodes one clip, then applies torchvision.transforms.v2's same recipe
    to the (T, C, H, W) uint8 tensor. torchcodec: VideoDecoder(path).get_frames_at(frames)
    (one FFmpeg thread, its default). PyAV: open the file, seek to the keyframe at or before
    the clip's first frame, decode forward (one codec thread), to_ndarray("rgb24") on the
    clip's frames;
  - bare-1t: libavcodec decoding exactly each clip's frames from the keyframe before it, one
    decoder per clip, one thread, no colour conversion (nocopy._nocopy._video_decode_only):
    the decode work of nocopy's own decoder, without conversion or transforms;
  - bare-2t: the same on 2 Python threads (the call releases the GIL): what two cores decode
    at that moment, which shows whether the machine had both to give;
  - dali-cpu: DALI's video decoder on the CPU, when this DALI version decodes H.264 there
    (checked each run; the reason it is left out goes into the output).
Goals: nocopy-2t >= 2x the best DataLoader recipe, and >= 85% of 2x bare-1t (two threads at
the single-thread bare rate each). Progress goes to stderr, a Markdown table to stdout, all
rates to --json. Usage: python bench/bench_video.py [--videos 200] [--rounds 3] [--json FILE]"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import nocopy as nc  # noqa: E402
import nocopy.transforms as T  # noqa: E402
from common import machine, table  # noqa: E402
from nocopy import _nocopy  # noqa: E402
from video_sources import video_set  # noqa: E402

MEAN, STD = [0.43216, 0.394666, 0.37645], [0.22803, 0.22145, 0.216989]
CROP = 112
LABELS = {"bare-1t": "bare decode, 1 thread (no conversion, no transforms)",
          "bare-2t": "bare decode, 2 threads (clips shared out)",
          "nocopy-2t": "nocopy VideoLoader, 2 threads", "nocopy-1t": "nocopy VideoLoader, 1 thread",
          "torchcodec-0": "torchcodec + DataLoader, 0 workers",
          "torchcodec-2": "torchcodec + DataLoader, 2 workers",
          "pyav-0": "PyAV + DataLoader, 0 workers", "pyav-2": "PyAV + DataLoader, 2 workers",
          "dali-cpu": "DALI video decoder, CPU"}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tv_recipe():
    """The recipe in torchvision.transforms.v2, for a (T, C, H, W) uint8 tensor (one draw)."""
    import torch
    import torchvision.transforms.v2 as tv

    return tv.Compose([tv.RandomResizedCrop(CROP), tv.RandomHorizontalFlip(),
                       tv.ToDtype(torch.float32, scale=True), tv.Normalize(MEAN, STD)])


def nc_recipe():
    import torch

    return [T.RandomResizedCrop(CROP), T.RandomHorizontalFlip(),
            T.ToDtype(torch.float32, scale=True), T.Normalize(MEAN, STD)]


def nocopy_loader(vs, args, threads: int):
    return nc.VideoLoader(vs, batch_size=args.batch, clip_len=args.clip_len,
                          frame_step=args.frame_step, clip_sampling="random",
                          transforms=nc_recipe(), layout="TCHW", num_threads=threads,
                          output="torch", seed=args.seed)


class Clips:
    """The planned clips, in batch order, as (path, video, frame numbers, index of the keyframe
    at or before the first frame, that keyframe's pts, the frames' pts): what the DataLoader
    recipes and the bare decode read."""

    def __init__(self, vs, paths, plans):
        self.items = []
        for plan in plans:
            for v, frames in zip(plan.indices.tolist(), plan.frames.tolist()):
                pts = vs.timestamps(v)
                keys = np.flatnonzero(vs.keyframes(v))
                key = int(keys[keys <= min(frames)].max())
                self.items.append((paths[v], v, frames, key, int(pts[key]),
                                   [int(pts[f]) for f in frames]))

    def decoded_per_clip(self) -> float:
        """Mean frames decoded per clip: from the keyframe to the clip's last frame."""
        return statistics.mean(max(frames) - key + 1 for _, _, frames, key, _, _ in self.items)


def pyav_clip(path: str, key_pts: int, pts: list[int]):
    """(T, H, W, 3) uint8 frames `pts` of `path`: seek to the keyframe, decode forward."""
    import av

    wanted = set(pts)
    got = {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        container.seek(key_pts, stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.pts in wanted and frame.pts not in got:
                got[frame.pts] = frame.to_ndarray(format="rgb24")
                if len(got) == len(wanted):
                    break
            elif frame.pts is not None and frame.pts > max(wanted):
                break
    missing = wanted.difference(got)
    if missing:
        raise RuntimeError(f"{path}: frames with pts {sorted(missing)[:4]} not decoded")
    return np.stack([got[p] for p in pts])


class ClipDataset:
    """A torch Dataset over the planned clips: decode with `decoder`, then the v2 recipe."""

    def __init__(self, clips: Clips, labels, decoder: str):
        self.items, self.labels, self.decoder = clips.items, labels, decoder
        self.recipe = tv_recipe()

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        import torch

        path, video, frames, _, key_pts, pts = self.items[i]
        if self.decoder == "pyav":
            clip = torch.from_numpy(pyav_clip(path, key_pts, pts)).permute(0, 3, 1, 2)
        else:
            from torchcodec.decoders import VideoDecoder

            clip = VideoDecoder(path, num_ffmpeg_threads=1).get_frames_at(frames).data
        return self.recipe(clip), int(self.labels[video])


def dataloader_method(clips, labels, args, decoder: str, workers: int):
    import torch
    from torch.utils.data import DataLoader, Dataset

    class Samples(ClipDataset, Dataset):
        pass

    torch.set_num_threads(1)
    loader = DataLoader(Samples(clips, labels, decoder), batch_size=args.batch, shuffle=False,
                        num_workers=workers)
    it = iter(loader)
    return _Workers(it), lambda: next(it)


class _Workers:
    """close() stops a DataLoader iterator's worker processes now, not at garbage collection."""

    def __init__(self, it):
        self.it = it

    def close(self):
        stop = getattr(self.it, "_shutdown_workers", None)
        if stop:
            stop()


def nocopy_method(vs, args, threads: int, plans):
    """nc.VideoLoader over the planned batches (checked: the same seed plans the same clips)."""
    loader = nocopy_loader(vs, args, threads)
    if not np.array_equal(loader.plan(len(plans) - 1).frames, plans[-1].frames):
        raise RuntimeError("the measured loader plans other clips than the planner")
    it = iter(loader)
    return loader, lambda: next(it)


def bare_method(vs, clips: Clips, args, threads: int = 1):
    """next_batch() decoding one batch of the planned clips with _video_decode_only (one
    decoder and one thread per clip); with `threads` > 1 the clips are shared out to that many
    Python threads (the call releases the GIL): what the machine's cores give at that moment."""
    inputs = {}
    for _, v, *_ in clips.items:
        if v not in inputs:
            inputs[v] = (vs.encoded(v), vs.timestamps(v).tolist(),
                         vs.keyframes(v).astype(np.int64).tolist())
    requests = [(inputs[v], sorted(set(frames))) for _, v, frames, *_ in clips.items]
    state = {"pos": 0}

    def decode(request):
        (data, pts, keys), frames = request
        _nocopy._video_decode_only(data, pts, keys, [frames])

    pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def next_batch():
        batch = requests[state["pos"]:state["pos"] + args.batch]
        state["pos"] += args.batch
        if pool is None:
            for request in batch:
                decode(request)
        else:
            list(pool.map(decode, batch))

    return _Pool(pool), next_batch


class _Pool:
    """close() stops the bare decode's thread pool, if any."""

    def __init__(self, pool):
        self.pool = pool

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()


def dali_status(path: str) -> str | None:
    """None when DALI decodes this H.264 file on the CPU, else why not (the first error line)."""
    try:
        from nvidia.dali import fn, pipeline_def, types
    except ImportError as e:
        return f"not installed ({e})"
    data = np.fromfile(path, np.uint8)

    @pipeline_def(batch_size=1, num_threads=1, device_id=None)
    def pipe():
        x = fn.external_source(source=lambda: [data], dtype=types.UINT8)
        return fn.decoders.video(x, device="cpu")

    # DALI's C++ side logs the reason to file descriptor 2: caught there, put in the message.
    log = tempfile.TemporaryFile()
    saved = os.dup(2)
    os.dup2(log.fileno(), 2)
    try:
        p = pipe()
        p.build()
        p.run()
        return None
    except Exception as e:  # DALI raises RuntimeError with its C++ message
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        detail = next((ln for ln in lines if "failed" in ln.lower()), lines[-1] if lines else "")
        return f"fn.decoders.video(device='cpu'): {type(e).__name__}: {detail}{_logged(log)}"
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _logged(log) -> str:
    log.seek(0)
    lines = [ln.strip() for ln in log.read().decode(errors="replace").splitlines() if ln.strip()]
    return f" (DALI's log: {lines[0]})" if lines else ""


def torchcodec_status() -> str | None:
    try:
        import torchcodec
        from torchcodec.decoders import VideoDecoder  # noqa: F401

        return None if torchcodec.__version__ else "no version"
    except Exception as e:  # a missing FFmpeg library is an OSError or RuntimeError
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300]}"


def machine_load() -> dict:
    """The load average and the CPU pressure (the share of time runnable work waited for a
    core, /proc/pressure/cpu), to tell an idle machine's run from a shared one's."""
    load = {"loadavg_1m": round(os.getloadavg()[0], 2)}
    try:
        with open("/proc/pressure/cpu") as f:
            some = f.readline().split()
        load["cpu_pressure_avg60"] = float(some[2].split("=")[1])
    except (OSError, IndexError, ValueError):
        pass
    return load


def timed(next_batch, batches: int, batch: int) -> float:
    next_batch()  # warm-up batch 0: threads, worker processes, first decode
    t0 = time.perf_counter()
    for _ in range(batches):
        next_batch()
    return batches * batch / (time.perf_counter() - t0)


def run_set(args, gop: int, skipped: dict) -> dict:
    vs, paths = video_set(args.cache, args.videos, width=args.width, height=args.height,
                          frames=args.frames, gop=gop, progress=progress)
    planner = nocopy_loader(vs, args, 1)
    needed = args.batches + 1
    if len(planner) < needed or args.videos < args.batch * needed:
        raise SystemExit(f"--videos {args.videos} holds {len(planner)} batches of {args.batch}; "
                         f"{needed} full batches are needed (--batches + the warm-up)")
    plans = [planner.plan(i) for i in range(needed)]
    planner.close()
    clips = Clips(vs, paths, plans)
    labels = vs.labels
    methods = {"bare-1t": lambda: bare_method(vs, clips, args),
               "bare-2t": lambda: bare_method(vs, clips, args, 2),
               "nocopy-2t": lambda: nocopy_method(vs, args, args.threads, plans),
               "nocopy-1t": lambda: nocopy_method(vs, args, 1, plans)}
    peers = []
    if "torch" not in skipped:
        if "pyav" not in skipped:
            peers.append("pyav")
        if "torchcodec" not in skipped:
            peers.append("torchcodec")
    for decoder in peers:
        for workers in (0, 2):
            methods[f"{decoder}-{workers}"] = (
                lambda d=decoder, w=workers: dataloader_method(clips, labels, args, d, w))
    rates: dict[str, list[float]] = {m: [] for m in methods}
    for r in range(args.rounds):
        for name, make in methods.items():
            progress(f"GOP {gop}, round {r + 1}/{args.rounds}: {name}...")
            owner, next_batch = make()
            rates[name].append(timed(next_batch, args.batches, args.batch))
            if hasattr(owner, "close"):
                owner.close()
            del owner, next_batch
    med = {m: statistics.median(v) for m, v in rates.items()}
    dataloaders = {m: v for m, v in med.items() if m.split("-")[0] in ("pyav", "torchcodec")}
    best = max(dataloaders, key=dataloaders.get) if dataloaders else None
    two = args.threads * med["bare-1t"]
    goals = {
        "best_dataloader": best,
        "nocopy_2t_over_best_dataloader": med["nocopy-2t"] / dataloaders[best] if best else None,
        "nocopy_2t_over_2x_bare_1t": med["nocopy-2t"] / two,
        "nocopy_1t_over_bare_1t": med["nocopy-1t"] / med["bare-1t"],
    }
    goals["goal_2x_dataloader_met"] = (None if best is None
                                       else goals["nocopy_2t_over_best_dataloader"] >= 2.0)
    goals["goal_85pct_bare_met"] = goals["nocopy_2t_over_2x_bare_1t"] >= 0.85
    return {"gop": gop, "videos": len(vs), "clips_timed": args.batches * args.batch,
            "frames_decoded_per_clip": clips.decoded_per_clip(), "rates": rates,
            "median_clips_per_s": med, "goals": goals}


def report(args, results: list[dict], skipped: dict, load: dict) -> str:
    lines = [f"machine: {machine()}",
             f"load before / after the run: {load['before']} / {load['after']} (an idle "
             f"machine shows a load average below 1 and a CPU pressure near 0)",
             f"{args.videos} videos per set, {args.width}x{args.height}, {args.frames} frames at "
             f"25 fps; clips of {args.clip_len} frames, step {args.frame_step}; batch "
             f"{args.batch}; RandomResizedCrop {CROP} + flip + ToDtype float32 + Normalize; "
             f"{args.rounds} rounds of {args.batches} batches; medians of clips/s", ""]
    names = list(results[0]["median_clips_per_s"])
    headers = ["method"]
    for res in results:
        headers += [f"GOP {res['gop']} clips/s", f"GOP {res['gop']} / bare-1t"]
    rows = []
    for name in names:
        row = [name]
        for res in results:
            med = res["median_clips_per_s"]
            row += [f"{med[name]:.1f}", f"{med[name] / med['bare-1t']:.2f}"]
        rows.append(row)
    lines.append(table(headers, rows))
    lines.append("")
    goal_rows = []
    for res in results:
        g = res["goals"]
        best = g["best_dataloader"]
        vs_best = ("n/a" if best is None else
                   f"{g['nocopy_2t_over_best_dataloader']:.2f}x ({best}): "
                   f"{'met' if g['goal_2x_dataloader_met'] else 'NOT met'}")
        goal_rows.append([
            f"GOP {res['gop']}", f"{res['frames_decoded_per_clip']:.0f}", vs_best,
            f"{100 * g['nocopy_2t_over_2x_bare_1t']:.0f}%: "
            f"{'met' if g['goal_85pct_bare_met'] else 'NOT met'}",
            f"{100 * g['nocopy_1t_over_bare_1t']:.0f}%"])
    lines.append(table(["set", "frames decoded / clip", "nocopy-2t / best DataLoader (goal >= 2x)",
                        f"nocopy-2t / ({args.threads} x bare-1t) (goal >= 85%)",
                        "nocopy-1t / bare-1t"], goal_rows))
    if skipped:
        lines.append("")
        lines += [f"not run: {name}: {why}" for name, why in skipped.items()]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--videos", type=int, default=200, help="videos per GOP set")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--frames", type=int, default=250, help="frames per video (25 fps)")
    p.add_argument("--gops", default="12,250", help="keyframe intervals, one set each")
    p.add_argument("--clip-len", type=int, default=16)
    p.add_argument("--frame-step", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--batches", type=int, default=10, help="timed batches per method and round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=os.path.join("build", "bench_video"),
                   help="where the generated videos and packed sets are kept")
    p.add_argument("--json", help="write every rate here (default CACHE/results.json)")
    args = p.parse_args()
    skipped: dict[str, str] = {}
    for module, key in (("torch", "torch"), ("torchvision", "torch"), ("av", "pyav")):
        try:
            __import__(module)
        except ImportError as e:
            skipped.setdefault(key, f"not installed ({e})")
    why = torchcodec_status()
    if why:
        skipped["torchcodec"] = why
    results = []
    load_before = machine_load()
    for gop in (int(g) for g in args.gops.split(",")):
        if "dali-cpu" not in skipped:
            _, paths = video_set(args.cache, 1, width=args.width, height=args.height,
                                 frames=args.frames, gop=gop, progress=progress)
            skipped["dali-cpu"] = dali_status(paths[0]) or (
                "DALI decodes H.264 on the CPU in this version; not yet measured here")
        results.append(run_set(args, gop, skipped))
    load = {"before": load_before, "after": machine_load()}
    text = report(args, results, skipped, load)
    print(text)
    path = args.json or os.path.join(args.cache, "results.json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"machine": machine(), "command": " ".join([os.path.basename(sys.argv[0])]
                                                              + sys.argv[1:]),
                   "args": vars(args), "load": load, "not_run": skipped, "sets": results,
                   "labels": LABELS}, f, indent=1)
    progress(f"wrote {path}")


if __name__ == "__main__":
    main()
