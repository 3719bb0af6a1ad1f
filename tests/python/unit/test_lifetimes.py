"""The source stays alive exactly as long as some view, buffer, capsule or tensor uses it:
checked by counting destructions (weak references) after deleting the source."""

import gc
import threading
import weakref

import numpy as np
import pytest

import nocopy as nc


class Tracked(np.ndarray):
    """An ndarray whose finalisation we can observe."""


def make_source(n=1000):
    a = np.arange(n, dtype=np.float64).view(Tracked)
    return a, weakref.ref(a)


def collect():
    for _ in range(3):
        gc.collect()


def test_view_keeps_source_alive_until_last_view_goes():
    a, alive = make_source()
    v = nc.view(a)[10:20]
    del a
    collect()
    assert alive() is not None
    np.testing.assert_array_equal(np.asarray(v), np.arange(10, 20))
    w = v[::2]
    del v
    collect()
    assert alive() is not None and np.asarray(w)[1] == 12
    del w
    collect()
    assert alive() is None


@pytest.mark.parametrize("export", ["numpy", "memoryview", "capsule", "versioned_capsule", "torch"])
def test_exports_keep_source_alive(export):
    a, alive = make_source()
    v = nc.view(a)[5:]
    if export == "numpy":
        out = np.asarray(v)
    elif export == "memoryview":
        out = memoryview(v)
    elif export == "capsule":
        out = v.__dlpack__()
    elif export == "versioned_capsule":
        out = v.__dlpack__(max_version=(1, 1))
    else:
        torch = pytest.importorskip("torch")
        out = torch.from_dlpack(v)
    del a, v
    collect()
    assert alive() is not None
    if export in ("numpy", "torch"):
        assert float(out[0]) == 5.0
    del out
    collect()
    assert alive() is None


def test_consumed_capsule_transfers_ownership_once():
    torch = pytest.importorskip("torch")
    a, alive = make_source()
    cap = nc.view(a).__dlpack__(max_version=(1, 1))
    del a
    t = torch.from_dlpack(cap)
    del cap
    collect()
    assert alive() is not None and float(t[3]) == 3.0
    del t
    collect()
    assert alive() is None


def test_view_of_torch_tensor_keeps_tensor_memory():
    torch = pytest.importorskip("torch")
    t = torch.arange(100, dtype=torch.float32)
    ref = weakref.ref(t)
    v = nc.view(t)[50:]
    del t
    collect()
    # The DLPack deleter holds the storage even after the Python tensor object is gone.
    assert float(np.asarray(v)[0]) == 50.0
    del v
    collect()
    assert ref() is None


def test_release_from_another_thread():
    a, alive = make_source()
    views = [nc.view(a)[i:] for i in range(8)]
    del a

    def drop():
        views.clear()
        collect()

    th = threading.Thread(target=drop)
    th.start()
    th.join()
    collect()
    assert alive() is None


def test_bytes_and_bytearray_owners():
    data = bytearray(b"x" * 100)
    v = nc.view(data)
    with pytest.raises(BufferError):
        data.extend(b"more")  # resizing while a view exports the buffer is refused by Python
    del v
    collect()
    data.extend(b"more")
    assert len(data) == 104
