"""Where nc.pack_images writes and how its folder takes OUT's name. The pack is built in a
temporary folder beside the target and then moved onto the name only while it is free
(renameat2 RENAME_NOREPLACE: what another process put there meanwhile is never replaced), or,
with overwrite, atomically exchanged with the ImageSet folder there, which is checked again
after the swap (swapped back if it changed) and only then removed. Nothing is ever removed
that the pack did not create or was not asked to replace."""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor

from . import _nocopy
from ._image_set import MANIFEST
from ._shards_format import INDEX, PART_INDEX_PATTERN

__all__ = ["output_target", "make_temp_folder", "move_into_place", "remove_if_ours",
           "write_into_place"]

# renameat2 errors that mean "this file system or kernel cannot exchange".
_NO_EXCHANGE = (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)


def _is_image_set_file(name: str) -> bool:
    """True for the names pack_images writes into an ImageSet folder."""
    return name == MANIFEST or name.endswith(".npy")


def _is_sharded_file(name: str) -> bool:
    """True for the files a sharded pack writes beside its shards (the index, partial indexes,
    token shards)."""
    return (name == INDEX or PART_INDEX_PATTERN.match(name) is not None
            or name.endswith((".bin", ".npy")))


def image_set_problem(path: str, sharded: bool = True) -> str | None:
    """None when ``path`` is an ImageSet folder (not a link) holding only ImageSet files (the
    manifest and .npy files), or (``sharded``) a sharded dataset folder holding only its index
    files, token shards and such set folders; else why it may not be replaced."""
    try:
        if os.path.islink(path) or not os.path.isdir(path):
            return "is not an ImageSet folder"
        names = os.listdir(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if sharded and MANIFEST not in names and any(
            n == INDEX or PART_INDEX_PATTERN.match(n) for n in names):
        return _sharded_problem(path, names)
    if MANIFEST not in names:
        return "is not an ImageSet folder"
    foreign = sorted(n for n in names if not _is_image_set_file(n)
                     or not os.path.isfile(os.path.join(path, n))
                     or os.path.islink(os.path.join(path, n)))
    if foreign:
        shown = ", ".join(repr(n) for n in foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        return f"holds files that are not part of an ImageSet ({shown})"
    return None


def _sharded_problem(path: str, names: list[str]) -> str | None:
    foreign = []
    for n in sorted(names):
        full = os.path.join(path, n)
        if os.path.islink(full):
            foreign.append(n)
        elif os.path.isdir(full):
            if image_set_problem(full, sharded=False):
                foreign.append(n)
        elif not (os.path.isfile(full) and _is_sharded_file(n)):
            foreign.append(n)
    if foreign:
        shown = ", ".join(repr(n) for n in foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        return f"holds files that are not part of a sharded dataset ({shown})"
    return None


def output_target(out: str, overwrite: bool) -> str:
    """The path the pack will take: ``out``, or, when ``out`` is a symbolic link, the folder it
    names (the link is kept). FileExistsError when ``out`` exists, unless ``overwrite`` and it
    is (or links to) an ImageSet folder; FileNotFoundError when the folder it goes in does not
    exist."""
    if not os.path.lexists(out):
        parent = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(parent):
            raise FileNotFoundError(errno.ENOENT, "the folder the output goes in does not exist",
                                    parent)
        return out
    if not overwrite:
        raise FileExistsError(errno.EEXIST, "output exists (pass overwrite=True / --overwrite)",
                              out)
    target = os.path.realpath(out) if os.path.islink(out) else out
    problem = image_set_problem(target)
    if problem:
        raise FileExistsError(errno.EEXIST, f"output exists and {problem}; refusing to replace "
                                            "it", out)
    return target


def _hidden_name(target: str, what: str) -> str:
    parent, base = os.path.split(os.path.abspath(target))
    return os.path.join(parent, f".{base[:200]}.{what}-{os.getpid()}-{secrets.token_hex(4)}")


def make_temp_folder(target: str) -> tuple[str, tuple[int, int]]:
    """A new, hidden folder beside ``target`` (same file system, so it can be renamed there) and
    its (device, inode), by which it is recognized before anything removes it."""
    tmp = _hidden_name(target, "tmp")
    os.mkdir(tmp, 0o755)
    st = os.lstat(tmp)
    return tmp, (st.st_dev, st.st_ino)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def remove_if_ours(path: str, ident: tuple[int, int]) -> None:
    """Removes the folder at ``path`` (and what is in it) only when it is the one with this
    (device, inode): the pack's own temporary folder."""
    if _identity(path) == ident:
        shutil.rmtree(path, ignore_errors=True)


def _remove_image_set(path: str, shard: bool = False) -> None:
    """Removes a replaced ImageSet folder: its ImageSet files, then the folder once empty.
    Anything else (a file that appeared since the check, a file that cannot be removed) is
    kept with the folder, and a warning names it: the new ImageSet is in place either way."""
    try:
        names = os.listdir(path)
        sharded = not shard and MANIFEST not in names  # a sharded dataset's folder
        for name in names:
            full = os.path.join(path, name)
            if os.path.islink(full):
                continue
            if sharded and os.path.isdir(full):
                _remove_image_set(full, shard=True)  # a shard: a set folder of its own
            elif (_is_sharded_file(name) if sharded else _is_image_set_file(name)) \
                    and os.path.isfile(full):
                os.unlink(full)
        os.rmdir(path)
    except OSError as exc:
        warnings.warn(f"the replaced ImageSet folder could not be removed completely "
                      f"({exc.strerror or exc}); what is left is in {path}", RuntimeWarning,
                      stacklevel=3)


def _swap_back(tmp: str, target: str, ident: tuple[int, int], out: str, problem: str):
    """After an exchange brought something that may not be replaced into ``tmp``: puts it
    back at ``target`` and raises FileExistsError."""
    try:
        _nocopy._exchange_paths(tmp, target)
    except OSError:
        pass
    if _identity(tmp) != ident:  # target changed again: keep both, remove nothing
        raise FileExistsError(errno.EEXIST, f"output changed while packing and {problem}; it "
                                            f"is kept at {tmp}", out)
    raise FileExistsError(errno.EEXIST, f"output changed while packing and {problem}; nothing "
                                        "was replaced", out)


def _replace_without_exchange(tmp: str, target: str, out: str) -> bool:
    """overwrite on a file system without RENAME_EXCHANGE: the ImageSet at ``target`` is moved
    aside, checked, and the new one moved onto the free name (OUT is briefly missing). False
    when nothing was at ``target`` any more."""
    aside = _hidden_name(target, "old")
    try:
        _nocopy._rename_no_replace(target, aside)
    except FileNotFoundError:
        return False
    problem = image_set_problem(aside)
    if problem:
        _nocopy._rename_no_replace(aside, target)
        raise FileExistsError(errno.EEXIST, f"output changed while packing and {problem}; "
                                            "nothing was replaced", out)
    try:
        _nocopy._rename_no_replace(tmp, target)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "output was taken by another process while it was "
                                            f"being replaced; the old ImageSet is at {aside}",
                              out) from None
    _remove_image_set(aside)
    return True


def move_into_place(tmp: str, ident: tuple[int, int], target: str, overwrite: bool,
                    out: str) -> None:
    """Gives the finished folder ``tmp`` the name ``target`` (``out`` as the user wrote it, for
    messages). A free name is taken atomically; a taken one is FileExistsError unless
    ``overwrite`` and it is an ImageSet folder, which is then exchanged atomically with ``tmp``
    and removed once the swap shows it is still one; otherwise it is swapped back."""
    for _ in range(3):  # the name may be freed and taken again while this runs
        try:
            _nocopy._rename_no_replace(tmp, target)
            return
        except FileExistsError:
            if not overwrite:
                raise FileExistsError(errno.EEXIST, "output was created by another process "
                                                    "while packing; nothing was replaced", out)
        try:
            _nocopy._exchange_paths(tmp, target)
        except FileNotFoundError:
            continue  # removed meanwhile: the name is free again
        except OSError as exc:
            if exc.errno not in _NO_EXCHANGE:
                raise
            if _replace_without_exchange(tmp, target, out):
                return
            continue
        problem = image_set_problem(tmp)  # what was at target, now under the temporary name
        if problem:
            _swap_back(tmp, target, ident, out, problem)
        _remove_image_set(tmp)
        return
    raise FileExistsError(errno.EEXIST, "output kept changing while packing; nothing was "
                                        "replaced", out)


def write_into_place(out: str, target: str, overwrite: bool, threads: int, bar, write):
    """Runs ``write(tmp, pool)`` on a new temporary folder beside ``target`` with a thread pool
    of ``threads`` (and the progress ``bar`` started, or None), then moves the folder onto
    ``target`` (move_into_place); returns what ``write`` returns. On any failure the pool's
    queued work is cancelled and the temporary folder removed; the bar is always stopped."""
    tmp, tmp_id = None, None
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="nocopy-pack")
    try:
        if bar:
            bar.start()
        tmp, tmp_id = make_temp_folder(target)
        result = write(tmp, pool)
        move_into_place(tmp, tmp_id, target, overwrite, out)
        return result
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        if tmp is not None:
            remove_if_ours(tmp, tmp_id)
        raise
    finally:
        pool.shutdown(wait=True)
        if bar:
            bar.stop()
