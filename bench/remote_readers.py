"""The readers of bench/bench_remote.py, all with one recipe (RandomResizedCrop(224), flip,
ToDtype float32, Normalize): nocopy's Loader, and WebDataset and litdata's StreamingDataset in a
torch DataLoader (decoding with torchvision.io.decode_jpeg); time_epoch times one epoch."""

from __future__ import annotations

import time

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def nocopy_recipe():
    import nocopy.transforms as T

    return [T.RandomResizedCrop(224), T.RandomHorizontalFlip(),
            T.ToDtype("float32", scale=True), T.Normalize(MEAN, STD)]


def torch_recipe():
    import torch
    import torchvision.transforms.v2 as tv

    return tv.Compose([tv.RandomResizedCrop(224, antialias=True), tv.RandomHorizontalFlip(),
                       tv.ToDtype(torch.float32, scale=True), tv.Normalize(MEAN, STD)])


def time_epoch(make_iterable) -> dict:
    """One epoch: seconds to the first batch (from calling ``make_iterable``), images, and
    seconds for the rest."""
    t0 = time.perf_counter()
    it = iter(make_iterable())
    first = next(it)
    t1 = time.perf_counter()
    n_first = len(first[0])
    n = n_first
    for x, _ in it:
        n += len(x)
    t2 = time.perf_counter()
    del it
    return {"ttfb_s": t1 - t0, "samples": n, "epoch_s": t2 - t0,
            "img_s": (n - n_first) / max(t2 - t1, 1e-9), "epoch_img_s": n / (t2 - t0)}


def nocopy_loader(ds, args, block: bool):
    import nocopy as nc

    return nc.Loader(ds, ds.labels, batch_size=args.batch, transforms=nocopy_recipe(),
                     num_threads=args.threads, shuffle="block" if block else True,
                     fetch_ahead=4, drop_last=False)


def _decode_jpeg(data):
    import torch
    from torchvision.io import decode_jpeg

    return decode_jpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8))


class _WdsMap:
    """A picklable (jpg bytes, cls bytes) -> (tensor, label) step for WebDataset."""

    def __init__(self):
        self.recipe = torch_recipe()

    def __call__(self, sample):
        return self.recipe(_decode_jpeg(sample["jpg"])), int(sample["cls"])


def wds_loader(urls: str, args):
    import torch
    import webdataset as wds
    from torch.utils.data import DataLoader

    torch.set_num_threads(1)
    ds = (wds.WebDataset(urls, shardshuffle=100, empty_check=False)
          .shuffle(500).map(_WdsMap()))
    return DataLoader(ds, batch_size=args.batch, num_workers=args.threads)


def _litdata_images():
    """litdata's StreamingDataset with the decode and the recipe in __getitem__ (a module-level
    class, so the DataLoader's workers can unpickle it)."""
    from litdata import StreamingDataset

    global LitImages
    if "LitImages" not in globals():
        class LitImages(StreamingDataset):
            def __init__(self, *a, **kw):
                super().__init__(*a, **kw)
                self.recipe = torch_recipe()

            def __getitem__(self, index):
                item = super().__getitem__(index)
                return self.recipe(_decode_jpeg(item["image"])), item["label"]

        LitImages.__qualname__ = "LitImages"
    return LitImages


def litdata_loader(input_dir: str, cache_dir: str, args, storage_options):
    import torch
    from torch.utils.data import DataLoader

    torch.set_num_threads(1)
    images = _litdata_images()
    if storage_options:
        from litdata.streaming.resolver import Dir

        import litdata.streaming.downloader as lit_downloader

        # litdata fetches chunks with obstore, whose S3Store it builds without allow_http, so a
        # plain-http endpoint fails ("HTTP error: builder error"); its own options plus that one.
        lit_downloader._OBSTORE_CLIENT_OPTIONS = {**lit_downloader._OBSTORE_CLIENT_OPTIONS,
                                                  "allow_http": True}

        ds = images(Dir(path=cache_dir, url=input_dir), shuffle=True,
                    storage_options=storage_options)
    else:
        ds = images(input_dir, shuffle=True)
    return DataLoader(ds, batch_size=args.batch, num_workers=args.threads)
