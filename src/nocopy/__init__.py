"""nocopy: zero-copy N-d views of large arrays, handed to NumPy, PyTorch, TensorFlow, JAX and
C++ without copying; shared memory and memory-mapped .npy storage; a fused training loader.

>>> import numpy as np, nocopy as nc
>>> images = np.zeros((32, 512, 512, 3), np.uint8)
>>> crops = nc.center_crop(images, 256)          # a view: no bytes copied
>>> crops.shape, nc.shares_memory(crops, images)
((32, 256, 256, 3), True)
"""

from . import _view_class  # noqa: F401  (attaches the Python-level methods to View)
from ._adapters import to_jax, to_numpy, to_tf, to_torch
from ._copy_policy import CopyForbiddenError
from ._guards import NotSharedError, assert_shares, no_copy
from ._views import ascontiguous, center_crop, crop, shares_memory, view
from ._nocopy import LoaderError, View
from ._loader import Loader
from ._storage import SharedArray, create_npy, open_npy
from ._sequence import SequenceLoader, open_raw, windows
from ._image_set import ImageSet
from ._pack import pack_images
from ._pack_video import pack_videos
from ._video_set import VideoSet
from ._sharded_set import ShardedImageSet, ShardedVideoSet
from ._pack_shards import merge_shards
from ._tokens_shards import open_tokens, pack_tokens
from ._video_loader import VideoLoader
from ._mixture import Mixture
from ._remote_sets import RemoteImageSet, RemoteVideoSet
from ._remote_tokens import RemoteTokens
from ._remote import RemoteError, RemoteShards
from . import transforms
from ._cmake import cmake_dir
from ._version import __version__


def __getattr__(name: str):
    # nc.audit is the one entry into the command-line package, loaded on first use so that
    # `import nocopy` never pulls in subprocess, argparse or the audit's catalog.
    if name == "audit":
        import importlib

        return importlib.import_module("nocopy._cli.audit").audit
    raise AttributeError(f"module 'nocopy' has no attribute {name!r}")


__all__ = [
    "View", "view", "crop", "center_crop", "ascontiguous", "shares_memory",
    "to_numpy", "to_torch", "to_tf", "to_jax",
    "SharedArray", "open_npy", "create_npy", "Loader", "ImageSet", "pack_images", "VideoSet", "pack_videos",
    "ShardedImageSet", "ShardedVideoSet", "merge_shards", "pack_tokens", "open_tokens",
    "VideoLoader", "Mixture", "RemoteShards", "RemoteError", "RemoteImageSet", "RemoteVideoSet",
    "RemoteTokens", "windows", "open_raw",
    "SequenceLoader",
    "audit", "assert_shares", "no_copy", "NotSharedError", "CopyForbiddenError",
    "LoaderError", "transforms", "cmake_dir",
]
