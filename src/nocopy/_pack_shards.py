"""Sharded packing (pack_images / pack_videos with shard_size, or one parallel part with
num_shards and shard_index) and nc.merge_shards, which indexes the parts once all are written.

A sharded pack lists the whole input (so every shard has the same classes and label values),
packs its samples as one set folder in a temporary folder, splits it into shards (see
_shard_split), hashes every file into the index and moves the result into place as a plain pack
does (see _pack_output). A part does the same for its slice [i*n//N, (i+1)*n//N) of the listing
inside OUT, moving its shards in first and its partial index last, so a partial index is only
ever seen complete. The format is described in _shards_format.
"""

from __future__ import annotations

import errno
import os
import shutil
from concurrent.futures import ThreadPoolExecutor

from . import _nocopy
from ._image_set import MANIFEST
from ._pack_steps import count_arg, list_inputs, progress_bar, skip_handler
from ._pack_inputs import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from ._pack_output import (image_set_problem, make_temp_folder, move_into_place, output_target,
                           remove_if_ours)
from ._shard_split import group_by_size, sample_bytes, write_shard
from ._shards_format import (INDEX, INDEX_FORMAT_VERSION, PART_INDEX_PATTERN, check_files,
                             part_index_name, part_shard_name, parse_size, read_index,
                             shard_entry, shard_name, write_json_atomic,
                             write_sample_arrays)

__all__ = ["pack_sharded", "merge_shards", "part_arg"]

_WHOLE = ".whole"  # the packed slice inside the temporary folder, before it is split


def part_arg(num_shards, shard_index) -> tuple[int, int] | None:
    """(i, N) checked, or None when neither is given: ValueError when only one is, or unless
    0 <= shard_index < num_shards."""
    if num_shards is None and shard_index is None:
        return None
    if num_shards is None or shard_index is None:
        raise ValueError("num_shards and shard_index go together (pack slice shard_index of "
                         "num_shards)")
    n = count_arg("num_shards", num_shards)
    if isinstance(shard_index, bool) or not hasattr(shard_index, "__index__"):
        raise TypeError(f"shard_index must be an integer, got {shard_index!r}")
    i = int(shard_index)
    if not 0 <= i < n:
        raise ValueError(f"shard_index {i} must be from 0 to num_shards - 1 ({n - 1})")
    return i, n


def pack_sharded(kind: str, src: str, out: str, write, *, shard_size, num_shards, shard_index,
                 threads: int, on_error: str, overwrite: bool, progress: bool):
    """Packs ``src`` (kind "image" or "video") into ``out`` as shards, or one part of it;
    ``write(folder, items, classes, pool, fail_or_skip, skipped, bar, num_classes)`` packs
    items as one set folder. Returns (samples, classes, data bytes, skipped, shards)."""
    size = None if shard_size is None else parse_size(shard_size)
    part = part_arg(num_shards, shard_index)
    skipped, fail_or_skip = skip_handler(on_error, f"cannot read {kind}")
    items, classes = list_inputs(src, IMAGE_EXTENSIONS if kind == "image" else VIDEO_EXTENSIONS,
                                 skipped, fail_or_skip)
    if not items:
        raise ValueError(f"{src}: no {kind}s found")
    num_classes = len(classes) if classes is not None else max(v for _, v in items) + 1
    names = shard_name
    if part is not None:
        i, n = part
        items = items[i * len(items) // n:(i + 1) * len(items) // n]
        if i != 0:  # what the listing skipped is reported once, by part 0
            del skipped[:]
        names = lambda k: part_shard_name(i, k)  # noqa: E731
        target = _part_folder(out)
    else:
        target = output_target(out, overwrite)
    tmp, tmp_id = make_temp_folder(os.path.join(target, f"part-{part[0]:05d}")
                                   if part else target)
    bar = progress_bar(progress, "img" if kind == "image" else "video")
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nocopy-pack")
    try:
        if bar:
            bar.start()
        shards, samples, nbytes = [], 0, 0
        if items:
            whole = os.path.join(tmp, _WHOLE)
            os.mkdir(whole, 0o755)
            samples, _, nbytes = write(whole, items, classes, pool, fail_or_skip, skipped, bar,
                                       num_classes)
            runs = group_by_size(sample_bytes(whole), size or float("inf"))
            for k, (a, b) in enumerate(runs):
                write_shard(whole, os.path.join(tmp, names(k)), a, b)
                shards.append(shard_entry(tmp, names(k), b - a))
            shutil.rmtree(whole)
        index = {"format_version": INDEX_FORMAT_VERSION, "kind": kind, "num_samples": samples,
                 "classes": classes, "num_classes": num_classes, "shards": shards,
                 "skipped": sorted(skipped, key=lambda s: s["path"])}
        if part is not None:
            index["part"] = {"index": part[0], "count": part[1]}
            write_json_atomic(os.path.join(tmp, part_index_name(part[0])), index)
            _publish_part(tmp, target, part[0], [s["name"] for s in shards], overwrite)
        else:
            write_sample_arrays(tmp, index)
            write_json_atomic(os.path.join(tmp, INDEX), index)
            move_into_place(tmp, tmp_id, target, overwrite, out)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        remove_if_ours(tmp, tmp_id)
        raise
    finally:
        pool.shutdown(wait=True)
        if bar:
            bar.stop()
    remove_if_ours(tmp, tmp_id)  # a part's emptied temporary folder
    return samples, num_classes, nbytes, index["skipped"], len(shards)


def _part_folder(out: str) -> str:
    """OUT for a part: made when missing (by whichever part comes first); FileExistsError when
    it is a file or a plain (unsharded) set folder."""
    try:
        os.makedirs(out, exist_ok=True)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "output exists and is not a folder", out) from None
    if os.path.exists(os.path.join(out, MANIFEST)):
        raise FileExistsError(errno.EEXIST, "output is an ImageSet or VideoSet folder, not a "
                                            "sharded dataset; refusing to add parts to it", out)
    return out


def _publish_part(tmp: str, out: str, i: int, names: list[str], overwrite: bool) -> None:
    """Moves part ``i``'s shards from ``tmp`` into ``out``, then its partial index. What an
    earlier pack of part i left (and an index.json merged from it) is FileExistsError unless
    ``overwrite``, and then removed first (only set folders and index files)."""
    prefix = part_shard_name(i, 0)[:-5]
    old = sorted(n for n in os.listdir(out) if n.startswith(prefix))
    old_index = [n for n in (part_index_name(i), INDEX) if os.path.lexists(os.path.join(out, n))]
    if (old or old_index) and not overwrite:
        raise FileExistsError(errno.EEXIST, f"part {i} (or an index merged from it) is already "
                                            "there (pass overwrite=True / --overwrite)",
                              os.path.join(out, (old_index or old)[0]))
    for n in old:
        problem = image_set_problem(os.path.join(out, n), sharded=False)
        if problem:
            raise FileExistsError(errno.EEXIST, f"{problem}; refusing to replace it",
                                  os.path.join(out, n))
    for n in old_index:  # the indexes go first: none is left naming a removed shard
        os.unlink(os.path.join(out, n))
    for n in old:
        shutil.rmtree(os.path.join(out, n))
    for n in names:
        _nocopy._rename_no_replace(os.path.join(tmp, n), os.path.join(out, n))
    os.replace(os.path.join(tmp, part_index_name(i)), os.path.join(out, part_index_name(i)))


def merge_shards(out) -> dict:
    """Writes ``out``/index.json from the partial indexes that ``pack_images`` / ``pack_videos``
    with ``num_shards=N, shard_index=i`` wrote there, once all N parts are: the shards in part
    order, their sample counts, sizes and hashes as the parts recorded them. Checks that every
    part is present (ValueError naming the missing ones), that all parts agree on N, the kind
    and the classes, and that every listed file is there with its size. The index is written
    atomically (a temporary file renamed over it). Returns the index.

    >>> nc.merge_shards("train.nc")                 # after parts 0..N-1 are packed
    """
    out = os.fspath(out)
    if not os.path.isdir(out):
        raise FileNotFoundError(errno.ENOENT, "no such sharded dataset folder", out)
    found = {}
    for name in os.listdir(out):
        m = PART_INDEX_PATTERN.match(name)
        if m:
            found[int(m.group(1))] = read_index(os.path.join(out, name))
    if not found:
        raise ValueError(f"{out}: no partial indexes (index.part-NNNNN.json): pack the parts "
                         "with num_shards and shard_index first")
    counts = sorted({p.get("part", {}).get("count") for p in found.values()}, key=str)
    if len(counts) != 1 or not isinstance(counts[0], int):
        raise ValueError(f"{out}: the parts disagree on num_shards ({counts})")
    n = counts[0]
    missing = [i for i in range(n) if i not in found]
    if missing:
        shown = ", ".join(part_index_name(i) for i in missing[:5])
        raise ValueError(f"{out}: {len(missing)} of {n} parts missing ({shown}"
                         f"{' ...' if len(missing) > 5 else ''}): pack them, then merge again")
    extra = sorted(i for i in found if i >= n)
    if extra:
        raise ValueError(f"{out}: {part_index_name(extra[0])} is not one of {n} parts")
    parts = [found[i] for i in range(n)]
    for i, p in enumerate(parts):
        if p["part"].get("index") != i:
            raise ValueError(f"{out}: {part_index_name(i)} says it is part {p['part']}")
        for key in ("kind", "classes", "num_classes"):
            if p.get(key) != parts[0].get(key):
                raise ValueError(f"{out}: part {i}'s {key} {p.get(key)!r} differs from part "
                                 f"0's {parts[0].get(key)!r} (were they packed from one input?)")
        check_files(out, p)
    index = {"format_version": INDEX_FORMAT_VERSION, "kind": parts[0]["kind"],
             "num_samples": sum(p["num_samples"] for p in parts),
             "classes": parts[0]["classes"], "num_classes": parts[0].get("num_classes"),
             "shards": [s for p in parts for s in p["shards"]],
             "skipped": sorted((s for p in parts for s in p.get("skipped", [])),
                               key=lambda s: str(s.get("path")))}
    write_sample_arrays(out, index)
    write_json_atomic(os.path.join(out, INDEX), index)
    return index
