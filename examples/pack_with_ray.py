"""Packing an image dataset in parallel with Ray: N tasks each pack one disjoint slice of the
input listing (nc.pack_images(..., num_shards=N, shard_index=i)) into the same folder, then
nc.merge_shards writes the index, and nc.ImageSet.open reads the shards as one dataset.

Any engine that can run N copies of a function (Ray, Dask, multiprocessing, a batch scheduler,
N shell commands: `python -m nocopy pack SRC OUT --num-shards N --shard-index i`, then
`python -m nocopy pack --merge OUT`) packs the same way: the parts share nothing but OUT.

Here a small ImageFolder tree is made with Pillow and a local Ray cluster is started (2 CPUs,
no dashboard); the result is checked against a single-process pack of the same tree.
"""

import argparse
import os
import tempfile

import numpy as np
import ray
from PIL import Image

import nocopy as nc


def make_tree(root: str, classes: int, per_class: int) -> None:
    """An ImageFolder tree of random images of different sizes."""
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = os.path.join(root, f"class{c}")
        os.makedirs(folder)
        for k in range(per_class):
            h, w = (int(v) for v in rng.integers(16, 96, 2))
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(os.path.join(folder, f"{k:03d}.png"))


@ray.remote
def pack_part(src: str, out: str, num_shards: int, shard_index: int, shard_size: str) -> str:
    """One Ray task: packs slice shard_index of num_shards into out (its own shards and partial
    index); returns the pack's summary line."""
    summary = nc.pack_images(src, out, shard_size=shard_size, num_shards=num_shards,
                             shard_index=shard_index, threads=1)
    return f"part {shard_index}: {summary}"


def main(small: bool = False) -> None:
    parts = 3
    classes, per_class = (3, 8) if small else (10, 40)
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "images"), os.path.join(tmp, "images.nc")
        make_tree(src, classes, per_class)

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        try:
            lines = ray.get([pack_part.remote(src, out, parts, i, "64KB")
                             for i in range(parts)])
        finally:
            ray.shutdown()
        print("\n".join(lines))
        index = nc.merge_shards(out)
        ds = nc.ImageSet.open(out)                # a ShardedImageSet of every part's shards
        ds.verify()                               # every file against its SHA-256

        nc.pack_images(src, os.path.join(tmp, "single.nc"))
        single = nc.ImageSet.open(os.path.join(tmp, "single.nc"))
        same_labels = np.array_equal(ds.labels, single.labels)
        same_pixels = all(np.array_equal(np.asarray(ds[i]), np.asarray(single[i]))
                          for i in range(len(single)))
        print(f"merged {index['num_samples']} images from {parts} Ray tasks into "
              f"{len(ds.shards)} shards; classes {len(ds.classes)}")
        print(f"same as a single-process pack: len {len(ds) == len(single)}, "
              f"labels {same_labels}, pixels {same_pixels}")
        if not (len(ds) == len(single) and same_labels and same_pixels):
            raise SystemExit("the parallel pack differs from the single-process pack")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a smaller tree (smoke test)")
    main(small=parser.parse_args().small)
