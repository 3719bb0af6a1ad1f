"""to_tf and memory alignment: TensorFlow's DLPack import accepts any address, but its kernels
abort the process on data not aligned to 64 bytes, so to_tf refuses such views (copy=True makes
an aligned copy) and shares aligned ones."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nocopy as nc

tf = pytest.importorskip("tensorflow")


def offset_array(offset_bytes: int, shape=(40, 40)) -> np.ndarray:
    """A float32 array starting `offset_bytes` past a 64-byte boundary."""
    n = int(np.prod(shape)) * 4
    raw = np.zeros(n + 128, np.uint8)
    start = (-raw.ctypes.data % 64) + offset_bytes
    a = raw[start:start + n].view(np.float32).reshape(shape)
    a[...] = np.arange(a.size, dtype=np.float32).reshape(shape)
    return a


@pytest.mark.parametrize("offset", [4, 16, 32, 48])
def test_misaligned_views_are_refused_with_the_reason(offset):
    a = offset_array(offset)
    with pytest.raises(BufferError, match=f"aligned to 64 bytes.*{offset} bytes past"):
        nc.view(a).to_tf()


def test_copy_true_gives_an_aligned_copy_tf_can_compute_on():
    a = offset_array(16)
    t = nc.view(a).to_tf(copy=True)
    assert not nc.shares_memory(t, a)
    assert float(tf.reduce_sum(t)) == float(a.astype(np.float64).sum())


def test_aligned_views_share_and_tf_computes_on_them():
    a = offset_array(0)
    t = nc.view(a).to_tf()
    assert nc.shares_memory(t, a)
    assert float(tf.reduce_sum(tf.gather(t, [1, 3]))) == float(a[[1, 3]].sum())
    rows = nc.view(a)[16:]                    # 16 rows of 160 bytes = 2560 bytes: aligned
    assert float(tf.reduce_sum(rows.to_tf())) == float(a[16:].sum())


def test_why_tensorflow_on_misaligned_data_aborts_the_process():
    """The hazard the refusal prevents, measured in a child process (TF 2.21)."""
    code = textwrap.dedent("""
        import numpy as np, tensorflow as tf
        raw = np.zeros(6400 + 128, np.uint8)
        start = (-raw.ctypes.data % 64) + 16
        a = raw[start:start + 6400].view(np.float32)
        t = tf.experimental.dlpack.from_dlpack(a.__dlpack__())
        print(float(tf.reduce_sum(t)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""})
    assert out.returncode != 0 and "IsAligned" in out.stderr
