"""What nc.pack_images reads: the images of an ImageFolder tree (each real folder walked once,
however many symbolic links lead to it, and each file packed once), the rows of a CSV, and
each input opened only when it is a regular file (a FIFO or device never blocks the pack)."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import stat

__all__ = ["IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "image_folder", "csv_items", "open_regular", "open_image"]

#: File endings packed from an ImageFolder tree (torchvision's IMG_EXTENSIONS).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
#: File endings packed from a folder tree of videos (nc.pack_videos).
VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov")

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str):
    """``path`` opened for binary reading when it is a regular file (symbolic links followed);
    ValueError naming what it is otherwise. The open cannot block: a FIFO is refused before it
    is opened and, should one replace the file meanwhile, by the descriptor's own fstat."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise ValueError(f"it is {_kind(mode)}, not a regular file")

    def opener(name, flags):
        fd = os.open(name, flags | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise ValueError(f"it is {_kind(mode)}, not a regular file")
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        return fd

    return open(path, "rb", opener=opener)  # noqa: SIM115 - the caller closes it


@contextlib.contextmanager
def open_image(path: str):
    """(file, Pillow image) of ``path`` opened with open_regular; a file Pillow cannot identify
    is an UnidentifiedImageError naming the path."""
    from PIL import Image, UnidentifiedImageError

    with open_regular(path) as f:
        try:
            im = Image.open(f)
        except UnidentifiedImageError:
            raise UnidentifiedImageError(f"cannot identify image file {path!r}") from None
        with im:
            yield f, im


def _scan(folder: str):
    """The entries of ``folder`` sorted by name: (files, subfolders), links followed."""
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    dirs, files = [], []
    for e in entries:
        try:
            is_dir = e.is_dir()
        except OSError:
            is_dir = False
        (dirs if is_dir else files).append(e)
    return files, dirs


def image_folder(root: str, extensions: tuple = IMAGE_EXTENSIONS):
    """The files ending in one of ``extensions`` (images by default) under ``root`` (``root/<class>/...``, classes by sorted name, dot folders left
    out) in os.walk's top-down order. Returns (items as (path, label), classes, notes): each
    real folder (device, inode) is walked once and each file packed once; a second way to one
    (a symbolic link loop, two links to one folder or file) is a note (path, reason, False)
    instead, and a folder that cannot be listed a note (path, reason, True), an error."""
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise ValueError(f"{root}: no class folders (an ImageFolder tree is SRC/<class>/<file>)")
    items, notes = [], []
    seen_dirs: dict[tuple[int, int], str] = {}
    seen_files: dict[tuple[int, int], str] = {}
    # The root and each class folder belong to themselves, whatever link reaches them first.
    for folder in [root] + [os.path.join(root, name) for name in classes]:
        try:
            st = os.stat(folder)
            seen_dirs.setdefault((st.st_dev, st.st_ino), folder)
        except OSError:
            pass
    for label, name in enumerate(classes):
        stack = [os.path.join(root, name)]
        while stack:
            folder = stack.pop()
            try:
                st = os.stat(folder)
                first = seen_dirs.setdefault((st.st_dev, st.st_ino), folder)
                if first != folder:
                    notes.append((folder, f"the same folder as {first}, packed once (a symbolic "
                                          "link loop or a second link to it)", False))
                    continue
                files, dirs = _scan(folder)
            except OSError as exc:
                notes.append((folder, f"cannot list this folder ({exc.strerror or exc})", True))
                continue
            for e in files:
                if not e.name.lower().endswith(extensions):
                    continue
                try:
                    fst = e.stat()
                except OSError:  # a dangling link: reported when it is opened
                    items.append((e.path, label))
                    continue
                first = seen_files.setdefault((fst.st_dev, fst.st_ino), e.path)
                if first != e.path:
                    notes.append((e.path, f"the same file as {first}, packed once", False))
                else:
                    items.append((e.path, label))
            stack.extend(e.path for e in reversed(dirs))
    return items, classes, notes


def csv_items(path: str):
    """The (path, label) rows of a CSV ``path,label`` file (paths relative to it, an optional
    ``path,label`` header) and the sorted class names when labels are names (None when they are
    integers)."""
    base = os.path.dirname(os.path.abspath(path))
    rows = []
    with open_regular(path) as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as f:
        try:
            lines = list(enumerate(csv.reader(f), 1))
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not a CSV of 'path,label' rows in UTF-8 ({exc})") from None
        for lineno, row in lines:
            if not row or not "".join(row).strip():
                continue
            if len(row) != 2:
                raise ValueError(f"{path}:{lineno}: expected 'path,label', got {len(row)} fields")
            if lineno == 1 and [c.strip().lower() for c in row] == ["path", "label"]:
                continue
            rows.append((os.path.join(base, row[0].strip()), row[1].strip(), lineno))
    labels = [r[1] for r in rows]
    try:
        ints = [int(v) for v in labels]
        classes = None
    except ValueError:
        classes = sorted(set(labels))
        index = {c: i for i, c in enumerate(classes)}
        ints = [index[v] for v in labels]
    integer_labels = zip(rows, ints) if classes is None else []
    for (_, text, lineno), v in integer_labels:
        if v < 0:
            raise ValueError(f"{path}:{lineno}: label {text} is negative")
        if v >= 2**62:  # stored as int64, and num_classes is the largest + 1: both must fit
            raise ValueError(f"{path}:{lineno}: label {text} is too large (integer labels are "
                             "class numbers below 2**62)")
    return [(r[0], v) for r, v in zip(rows, ints)], classes
