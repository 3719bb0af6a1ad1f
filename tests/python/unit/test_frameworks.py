"""Hand-off to and from NumPy, PyTorch, TensorFlow and JAX: pointer identity, write-through,
read-only honoured, and the errors for what a framework cannot share."""

import numpy as np
import pytest

import nocopy as nc
from conftest import data_ptr

torch = pytest.importorskip("torch")


# --- torch ----------------------------------------------------------------------------------

def test_to_torch_shares_and_writes_through():
    a = np.arange(2 * 6 * 8 * 3, dtype=np.uint8).reshape(2, 6, 8, 3)
    v = nc.view(a)[:, 1:5, 2:6, :].permute(0, 3, 1, 2)
    t = v.to_torch()
    assert t.shape == (2, 3, 4, 4) and t.data_ptr() == v.data_ptr
    assert t.stride() == tuple(s // a.itemsize for s in v.strides)
    np.testing.assert_array_equal(t.numpy(), np.transpose(a[:, 1:5, 2:6, :], (0, 3, 1, 2)))
    t[1, 2, 3, 0] = 0xAB
    assert a[1, 4, 2, 2] == 0xAB
    t2 = torch.from_dlpack(v)  # the standard consumer path
    assert t2.data_ptr() == v.data_ptr


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint8", "int16", "int32", "int64",
                                   "float16", "float32", "float64", "complex64", "complex128"])
def test_to_torch_every_dtype(dtype):
    a = np.ones((3, 4), dtype=dtype)
    t = nc.view(a)[:, 1:].to_torch()
    assert t.data_ptr() == data_ptr(a[:, 1:])
    np.testing.assert_array_equal(t.numpy(), a[:, 1:])


def test_from_torch_any_tensor():
    t = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    v = nc.view(t)
    assert v.shape == (4, 6) and v.data_ptr == t.data_ptr() and not v.readonly
    np.asarray(v[1:3, ::2])[...] = -1
    assert (t[1:3, ::2] == -1).all()
    g = torch.zeros(5, requires_grad=True)
    assert nc.view(g).data_ptr == g.data_ptr()
    bf = torch.arange(4, dtype=torch.bfloat16)
    vb = nc.view(bf)
    assert vb._dtype_name == "bfloat16"
    assert torch.equal(vb.to_torch(), bf) and vb.to_torch().data_ptr() == bf.data_ptr()
    assert nc.to_numpy(bf).dtype.name == "bfloat16"


def test_to_torch_refuses_negative_strides_without_crashing():
    v = nc.view(np.zeros((4, 5), np.float32)).flip(1)
    with pytest.raises(BufferError, match="negative stride on axis 1"):
        v.to_torch()
    with pytest.raises(BufferError, match="negative stride"):
        torch.from_dlpack(v)
    c = v.to_torch(copy=True)
    assert c.shape == (4, 5) and c.is_contiguous()


def test_to_torch_honours_readonly():
    a = np.arange(10.0)
    a.flags.writeable = False
    v = nc.view(a)
    assert v.readonly
    with pytest.raises(BufferError, match="read-only"):
        v.to_torch()
    t = v.to_torch(copy=True)
    t[0] = 99
    assert a[0] == 0


def test_dlpack_protocol_arguments():
    v = nc.view(np.zeros(4))
    assert v.__dlpack_device__() == (1, 0)
    cap = v.__dlpack__(max_version=(1, 1), dl_device=(1, 0), copy=False)
    assert "dltensor_versioned" in repr(cap)
    assert "dltensor" in repr(v.__dlpack__())
    with pytest.raises(ValueError, match="stream"):
        v.__dlpack__(stream=1)
    with pytest.raises(BufferError, match="device"):
        v.__dlpack__(dl_device=(2, 0))
    copied = np.from_dlpack(nc.view(np.arange(3.0)), copy=True)
    np.testing.assert_array_equal(copied, [0, 1, 2])


def test_readonly_views_never_leave_through_dlpack():
    """torch ignores DLPack's read-only flag, so __dlpack__ refuses read-only views outright."""
    a = np.arange(6.0)
    a.flags.writeable = False
    v = nc.view(a)
    for kwargs in ({}, {"max_version": (1, 1)}):
        with pytest.raises(BufferError, match="read-only"):
            v.__dlpack__(**kwargs)
    with pytest.raises(BufferError, match="read-only"):
        torch.from_dlpack(v)
    with pytest.raises(BufferError, match="read-only"):
        np.from_dlpack(v)
    b = np.asarray(v)  # the buffer protocol carries read-only faithfully
    assert data_ptr(b) == data_ptr(a) and not b.flags.writeable
    t = torch.from_dlpack(v.__dlpack__(max_version=(1, 1), copy=True))
    t[0] = 5
    assert a[0] == 0


def test_to_numpy():
    a = np.arange(12).reshape(3, 4)
    v = nc.view(a)[::-1, 1::2]
    n = v.to_numpy()
    assert np.shares_memory(n, a)
    np.testing.assert_array_equal(n, a[::-1, 1::2])
    c = v.to_numpy(copy=True)
    assert not np.shares_memory(c, a)
    np.testing.assert_array_equal(c, n)


# --- TensorFlow -------------------------------------------------------------------------------

def test_to_tf_shares_aligned_contiguous(aligned):
    tf = pytest.importorskip("tensorflow")
    a = aligned((4, 8, 3), np.float32)
    t = nc.view(a).to_tf()
    assert t.shape == (4, 8, 3)
    np.testing.assert_array_equal(t.numpy(), a)
    assert nc.shares_memory(t, a)
    assert nc.view(tf.experimental.dlpack.to_dlpack(t)).data_ptr == data_ptr(a)
    # A read-only view is fine for immutable TF tensors.
    assert nc.shares_memory(nc.view(a).as_readonly().to_tf(), a)


def test_to_tf_refuses_strided_unless_copy(aligned):
    pytest.importorskip("tensorflow")
    a = aligned((4, 8), np.float32)
    v = nc.view(a)[:, ::2]
    with pytest.raises(BufferError, match="compact row-major"):
        v.to_tf()
    t = v.to_tf(copy=True)
    np.testing.assert_array_equal(t.numpy(), a[:, ::2])
    assert not nc.shares_memory(t, a)


def test_from_tf_is_readonly_and_shared():
    tf = pytest.importorskip("tensorflow")
    t = tf.constant(np.arange(12.0).reshape(3, 4))
    v = nc.view(t)
    assert v.readonly and v.shape == (3, 4)
    assert v.data_ptr == nc.view(tf.experimental.dlpack.to_dlpack(t)).data_ptr
    np.testing.assert_array_equal(np.asarray(v[1]), [4, 5, 6, 7])


# --- JAX ----------------------------------------------------------------------------------------

def test_to_jax_shares_aligned_and_reports_copies(aligned):
    jax = pytest.importorskip("jax")
    a = aligned((16, 4), np.float32)
    j = nc.view(a).to_jax()
    assert j.unsafe_buffer_pointer() == data_ptr(a)
    np.testing.assert_array_equal(np.asarray(j), a)
    assert nc.view(a).as_readonly().to_jax().unsafe_buffer_pointer() == data_ptr(a)
    mis = aligned((16,), np.float32, offset_bytes=4)
    try:
        jm = nc.view(mis).to_jax()
        assert jm.unsafe_buffer_pointer() == data_ptr(mis)  # shared after all: fine
    except BufferError as exc:
        assert "copied" in str(exc) and "copy=True" in str(exc)
    jc = nc.view(mis).to_jax(copy=True)
    np.testing.assert_array_equal(np.asarray(jc), mis)
    with pytest.raises(BufferError, match="compact row-major"):
        nc.view(a)[:, ::2].to_jax()
    assert isinstance(jc, jax.Array)


def test_from_jax_is_readonly_and_shared():
    jnp = pytest.importorskip("jax.numpy")
    j = jnp.arange(10.0, dtype=jnp.float32)
    v = nc.view(j)
    assert v.readonly and v.data_ptr == j.unsafe_buffer_pointer()
    with pytest.raises(BufferError):
        v.to_torch()


# --- across frameworks ---------------------------------------------------------------------------

def test_shares_memory_across_frameworks(aligned):
    a = aligned((8, 8), np.float32)
    t = nc.view(a)[2:4].to_torch()
    assert nc.shares_memory(t, a)
    assert nc.shares_memory(a, t)
    assert not nc.shares_memory(nc.view(a)[:2], t)
    assert not nc.shares_memory(a, np.zeros(3))
    # Interleaved columns: same address range, no common byte.
    assert not nc.shares_memory(nc.view(a)[:, ::2], nc.view(a)[:, 1::2])
    assert nc.shares_memory(nc.view(a)[:, ::2], nc.view(a)[:, 2::4])
