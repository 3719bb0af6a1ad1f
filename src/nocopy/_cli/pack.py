"""`python -m nocopy pack [--kind image|video] SRC OUT`: an ImageFolder tree or a CSV of
path,label -> an ImageSet folder (see nocopy.pack_images) or a VideoSet folder
(nocopy.pack_videos), with a progress bar and a closing summary; `--shard-size 256MB` writes
shards and an index, `--num-shards N --shard-index i` one part of them, and
`pack --merge OUT` indexes the parts (nocopy.merge_shards). File names are
printed escaped (see nocopy._printable): a name can neither forge a line nor reach the terminal
as a control sequence."""

from __future__ import annotations

import argparse
import sys

from .._pack import pack_images
from .._pack_shards import merge_shards
from .._pack_video import pack_videos
from .._printable import printable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nocopy pack",
        description="Pack images into an ImageSet folder that nocopy.ImageSet.open maps without "
                    "copying, or (--kind video) videos into a VideoSet folder for "
                    "nocopy.VideoSet.open. SRC is a folder tree (SRC/<class>/<file>, labels by "
                    "sorted class name) or a CSV file of path,label rows.")
    parser.add_argument("src", nargs="?", help="ImageFolder directory or CSV file")
    parser.add_argument("out", nargs="?", help="output ImageSet folder (written under a "
                                               "temporary name, renamed at the end)")
    parser.add_argument("--kind", choices=("image", "video"), default="image",
                        help="what SRC holds: images (default) or videos (mp4, mkv, webm, avi, "
                             "mov; kept as they are unless --reencode, probed once)")
    parser.add_argument("--max-side", type=int, default=None, metavar="N",
                        help="shrink the longer side of larger images (or of re-encoded videos) "
                             "to N pixels (antialiased)")
    parser.add_argument("--threads", type=int, default=None,
                        help="decoding threads (default: up to 8, one per core)")
    parser.add_argument("--on-error", choices=("skip", "fail"), default="fail",
                        help="unreadable images: fail (default) or skip and list them")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUT if it is an existing ImageSet folder")
    parser.add_argument("--format", choices=("raw", "jpeg", "keep"), default="raw",
                        help="raw pixels (default, fastest to load), jpeg (re-encoded at "
                             "--quality, several times smaller, decoded when read) or keep "
                             "(JPEG inputs' own bytes when not resized, others re-encoded)")
    parser.add_argument("--quality", type=int, default=90,
                        help="JPEG quality of re-encoded images (1-100, default 90)")
    parser.add_argument("--reencode", action="store_true",
                        help="videos: store each re-encoded to H.264 (MP4, yuv420p) with a "
                             "keyframe every --gop frames, for sources whose GOPs are too long "
                             "to seek cheaply (needs PyAV: pip install av)")
    parser.add_argument("--gop", type=int, default=None, metavar="N",
                        help="with --reencode: frames from one keyframe to the next (default 12)")
    parser.add_argument("--crf", type=int, default=None, metavar="Q",
                        help="with --reencode: x264 quality, 0 (lossless) to 51 (default 18)")
    parser.add_argument("--shard-size", default=None, metavar="SIZE",
                        help="write OUT as shards of at most SIZE bytes of data (256MB, 1.5GiB, "
                             "512KiB, or bytes), each a complete set folder, with OUT/index.json")
    parser.add_argument("--num-shards", type=int, default=None, metavar="N",
                        help="with --shard-index: pack one of N disjoint slices of SRC into OUT "
                             "(a part; run `pack --merge OUT` once all N are done)")
    parser.add_argument("--shard-index", type=int, default=None, metavar="I",
                        help="with --num-shards: which slice to pack, 0 to N-1")
    parser.add_argument("--merge", default=None, metavar="OUT",
                        help="write OUT/index.json from the N parts packed into OUT (no SRC)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.merge is not None:
        if args.src is not None or args.out is not None:
            parser.error("--merge OUT takes no SRC or OUT arguments")
        try:
            index = merge_shards(args.merge)
        except (OSError, ValueError) as exc:
            print(f"error: {printable(str(exc))}", file=sys.stderr)
            return 1
        print(f"merged {index['num_samples']} {index['kind']}s in {len(index['shards'])} shards "
              f"into {printable(args.merge)}")
        return 0
    if args.src is None or args.out is None:
        parser.error("SRC and OUT are required (or --merge OUT)")
    if (args.num_shards is None) != (args.shard_index is None):
        parser.error("--num-shards and --shard-index go together")
    shards = dict(shard_size=args.shard_size, num_shards=args.num_shards,
                  shard_index=args.shard_index)
    progress = not args.quiet and sys.stderr.isatty()
    if args.kind == "video":
        if args.format != "raw" or args.quality != 90:
            parser.error("--format and --quality apply to images only")
        run = lambda: pack_videos(args.src, args.out, threads=args.threads,  # noqa: E731
                                  on_error=args.on_error, overwrite=args.overwrite,
                                  progress=progress, reencode=args.reencode, gop=args.gop,
                                  max_side=args.max_side, crf=args.crf, **shards)
    else:
        if args.reencode or args.gop is not None or args.crf is not None:
            parser.error("--reencode, --gop and --crf apply to videos only (--kind video)")
        run = lambda: pack_images(args.src, args.out, max_side=args.max_side,  # noqa: E731
                                  threads=args.threads, on_error=args.on_error,
                                  overwrite=args.overwrite, progress=progress,
                                  format=args.format, quality=args.quality, **shards)
    try:
        summary = run()
    except (OSError, ValueError, TypeError, ImportError) as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
