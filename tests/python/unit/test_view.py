"""View geometry against NumPy: basic indexing, permute/flip/reshape, crops, attributes."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import nocopy as nc
from conftest import data_ptr

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64", "complex64", "complex128"]


@st.composite
def arrays(draw, max_dims=6):
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=max_dims)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    a = (np.arange(int(np.prod(shape))) % 251).astype(dtype).reshape(shape)
    # Sometimes start from a non-contiguous base (a strided or reversed parent).
    if a.ndim and draw(st.booleans()):
        a = np.flip(a, axis=draw(st.integers(0, a.ndim - 1)))
    if a.ndim >= 2 and draw(st.booleans()):
        a = a.T
    return a


SIGNED = [np.int8, np.int16, np.int32, np.int64]
UNSIGNED = [np.uint8, np.uint16, np.uint32, np.uint64]


@st.composite
def integers(draw, lo, hi, arrays=False):
    """An integer in [lo, hi] as a Python int or a NumPy integer scalar of a type that holds it
    (and, with `arrays`, a 0-d integer array: as a slice bound only, since NumPy copies for a
    0-d array used as an index)."""
    value = draw(st.integers(lo, hi))
    kinds = [int] + [t for t in SIGNED + UNSIGNED if np.iinfo(t).min <= value <= np.iinfo(t).max]
    return draw(st.sampled_from(kinds + [np.array] * arrays))(value)


# Bounds and steps far past any axis (and past int64), which slices clamp.
HUGE = [2**31, -2**31, 2**62, -2**62, 2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**70, -2**70,
        np.uint64(2**64 - 1), np.int64(-2**63)]


def index_item(n_max=7):
    bound = st.one_of(st.none(), integers(-n_max - 3, n_max + 3, arrays=True),
                      st.sampled_from(HUGE))
    step = st.one_of(st.none(), integers(-4, 4, arrays=True).filter(lambda s: s != 0),
                     st.sampled_from([2**63 - 1, -2**63, 2**70, -2**70]))
    return st.one_of(
        integers(-n_max - 1, n_max),
        st.builds(slice, bound, bound, step),
        st.sampled_from([None, np.newaxis]),
    )


# Items NumPy refuses with an IndexError (no index at all) or, for slice bounds and steps, the
# TypeError / ValueError of slice.indices; views must raise the same, in the same order. (An int
# in [2**63, 2**64) is left out: NumPy raises OverflowError for those alone, IndexError for
# every other int past int64; views, like Python's sequences, IndexError for all.)
NOT_INDICES = [0.0, -1.5, np.float64(1), np.float32(0), 1j, "x", b"x", object(), {},
               2**70, -2**63 - 1, 2**64,
               slice(0.0, None), slice(None, 1.5), slice(None, None, 1.0), slice("a", None),
               slice(None, None, 0), slice(np.array([1]), None)]


@st.composite
def index_tuples(draw, ndim, not_indices=False):
    items = draw(st.lists(index_item(), min_size=0, max_size=ndim + 2))
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), Ellipsis)
    if not_indices and draw(st.integers(0, 2)) == 0:
        items.insert(draw(st.integers(0, len(items))), draw(st.sampled_from(NOT_INDICES)))
    return tuple(items)


def has_ellipsis(key):
    return any(k is Ellipsis for k in key)


def outcome(fn):
    try:
        return fn(), None
    except Exception as exc:  # noqa: BLE001 - the type is what we compare
        return None, type(exc)


def assert_same_view(v, ref, source):
    assert isinstance(v, nc.View)
    assert v.shape == ref.shape
    # Strides of axes of length <= 1, and of empty arrays, carry no geometry (NumPy's buffer
    # export normalises them); all others must match exactly.
    if ref.size:
        assert [s for s, n in zip(v.strides, v.shape) if n > 1] == \
            [s for s, n in zip(ref.strides, ref.shape) if n > 1]
    assert v.ndim == ref.ndim and v.size == ref.size and v.nbytes == ref.nbytes
    got = np.asarray(v)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)
    if ref.size:
        assert v.data_ptr == data_ptr(ref)
        assert np.shares_memory(got, source)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_basic_indexing_matches_numpy(data):
    """Keys mixing ints (Python, NumPy scalars, 0-d arrays), slices with None / negative / huge
    bounds and steps, Ellipsis, None / np.newaxis, and sometimes an item that is no index: the
    view or the error type is NumPy's."""
    a = data.draw(arrays())
    key = data.draw(index_tuples(a.ndim, not_indices=True))
    # Appending ... makes NumPy return a 0-d array instead of a scalar and changes nothing else.
    ref_key = key if has_ellipsis(key) else (*key, Ellipsis)
    ref, ref_err = outcome(lambda: a[ref_key])
    got, got_err = outcome(lambda: nc.view(a)[key])
    assert got_err == ref_err, (key, got_err, ref_err)
    if ref_err is None:
        assert_same_view(got, ref, a)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_single_item_index_matches_numpy(data):
    a = data.draw(arrays(max_dims=3))
    key = data.draw(index_item())
    ref, ref_err = outcome(lambda: a[key, ...])  # an array, never a scalar
    got, got_err = outcome(lambda: nc.view(a)[key])
    assert got_err == ref_err
    if ref_err is None:
        assert_same_view(got, ref, a)


# Indices NumPy takes as advanced indexing, which always copies: a view cannot give that result,
# so v[key] is a TypeError that says so (the README's promise). A 0-d array is one too: NumPy
# copies for np.array(1) (not for np.int64(1), a scalar); and views do not look at an array's
# dtype, where NumPy refuses float or object arrays with an IndexError.
ADVANCED = [True, False, np.True_, np.False_, np.array(True), np.array(False), np.array(1),
            np.array(1, np.uint8), np.array(1.0), np.array("x"), [0], [True], [], (0,),
            np.array([0]), np.array([True]), np.array([], np.intp), np.array([[0]]), range(1),
            bytearray(b"\0"), memoryview(b"\0"), nc.view(np.array(0)),
            nc.view(np.array(True)), nc.view(np.array([0]))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_advanced_indices_are_type_errors_where_numpy_copies(data):
    a = data.draw(arrays(max_dims=4))
    key = list(data.draw(index_tuples(a.ndim)))
    key.insert(data.draw(st.integers(0, len(key))), data.draw(st.sampled_from(ADVANCED)))
    key = tuple(key)
    ref, ref_err = outcome(lambda: a[key])
    got, got_err = outcome(lambda: nc.view(a)[key])
    assert got_err is TypeError, (key, got_err)
    # NumPy copies, or refuses the key (its geometry, a mask's length, a float array).
    if ref_err is None:
        assert ref.size == 0 or not np.shares_memory(ref, a), key
    else:
        assert ref_err in (IndexError, ValueError), (key, ref_err)


@pytest.mark.parametrize("key", [
    np.array(True), (0, np.array(True)), nc.view(np.array(True)), np.array(0), np.True_,
    [1], np.array([1]), np.array([True, False]), range(1), (slice(None), [0, 1]),
], ids=repr)
def test_array_indices_0d_included_are_type_errors_naming_advanced_indexing(key):
    a = np.arange(24).reshape(2, 3, 4)
    assert not np.shares_memory(a[key], a)  # NumPy: advanced indexing, a copy
    with pytest.raises(TypeError, match="advanced indexing is not supported"):
        nc.view(a)[key]


@pytest.mark.parametrize("key,exc", [
    # The first item that is no index is NumPy's IndexError, before anything about slices.
    ((slice(0.0, None), 0.0), IndexError), ((0.0, slice(0.0, None)), IndexError),
    ((slice(None, None, 0), "x"), IndexError), (([0], 0.0), IndexError),
    ((0.0, [0]), IndexError), (1.5, IndexError), (np.float64(0), IndexError),
    # Slice bounds are read item by item with the bounds of the integers before them.
    (slice(0.0, None), TypeError), ((slice(0.0, None), 5), TypeError),
    ((5, slice(0.0, None)), IndexError), ((..., 5, slice(1.5, None)), IndexError),
    ((..., slice(1.5, None), 7), TypeError), ((5, slice(None, None, 0)), IndexError),
    ((slice(None, None, 0), 5), ValueError), ((0, 0, 0, slice(0.0, None)), IndexError),
    # More than 64 dimensions in the result.
    pytest.param((None,) * 70, IndexError, id="70 new axes"),
], ids=repr)
def test_errors_come_in_numpy_order_with_numpy_types(key, exc):
    a = np.arange(24.0).reshape(2, 3, 4)
    with pytest.raises(exc) as ref:
        a[key]
    with pytest.raises(exc) as got:
        nc.view(a)[key]
    if "only integers" in str(ref.value):  # NumPy's message shape
        assert str(got.value).startswith("only integers, slices (`:`), ellipsis (`...`)")


def test_reversed_iterates_like_numpy_and_membership_is_refused_not_answered_wrong():
    a = np.arange(12.0).reshape(3, 4)
    v = nc.view(a)
    rows = list(reversed(v))
    assert len(rows) == 3
    for got, want in zip(rows, reversed(a)):
        np.testing.assert_array_equal(np.asarray(got), want)
        assert nc.shares_memory(got, a)
    with pytest.raises(TypeError, match="0-d"):
        reversed(nc.view(np.array(1.0)))
    # NumPy answers `5.0 in a` by comparing elements; a view compared rows by identity and said
    # False. It now refuses and names NumPy's spelling.
    assert 5.0 in a
    with pytest.raises(TypeError, match="x in np.asarray"):
        5.0 in v  # noqa: B015
    assert 5.0 in np.asarray(v)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_permute_flip_transpose_match_numpy(data):
    a = data.draw(arrays())
    v = nc.view(a)
    perm = data.draw(st.permutations(range(a.ndim)))
    assert_same_view(v.permute(*perm), np.transpose(a, perm), a)
    assert_same_view(v.permute(tuple(perm)), np.transpose(a, perm), a)
    assert_same_view(v.T, a.T, a)
    if a.ndim:
        axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
        flipped = v.flip(axis)
        ref = np.flip(a, axis)
        assert flipped.shape == ref.shape
        np.testing.assert_array_equal(np.asarray(flipped), ref)
    np.testing.assert_array_equal(np.asarray(v.flip()), np.flip(a))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_reshape_shares_or_refuses_like_numpy_copy_false(data):
    a = data.draw(arrays(max_dims=4))
    key = data.draw(index_tuples(a.ndim))
    try:
        a = a[key]
    except (IndexError, ValueError):
        pass
    assume(isinstance(a, np.ndarray))
    # A random factorisation of the size into up to 4 axes, sometimes with a -1.
    size = a.size
    dims = []
    rest = size
    for _ in range(data.draw(st.integers(0, 3))):
        divisors = [d for d in range(1, 7) if rest % d == 0] if rest else [0, 1, 2]
        d = data.draw(st.sampled_from(divisors))
        dims.append(d)
        rest = rest // d if d else rest
    if rest or not dims:
        dims.append(rest if size else 0)
    new_shape = tuple(dims)
    assume(int(np.prod(new_shape)) == size)
    ref, ref_err = outcome(lambda: np.reshape(a, new_shape, copy=False))
    got, got_err = outcome(lambda: nc.view(a).reshape(*new_shape))
    assert (got_err is None) == (ref_err is None), (a.shape, a.strides, new_shape, got_err, ref_err)
    if ref_err is None:
        assert got.shape == ref.shape
        np.testing.assert_array_equal(np.asarray(got), ref)
        if ref.size:
            assert got.data_ptr == data_ptr(ref)
    else:
        assert got_err is ValueError


def test_reshape_infers_one_axis_and_names_the_copy():
    a = np.arange(24).reshape(4, 6)
    assert nc.view(a).reshape(2, -1, 3).shape == (2, 4, 3)
    with pytest.raises(ValueError, match="without a copy"):
        nc.view(a)[:, :3].reshape(-1)
    with pytest.raises(ValueError, match="only infer one"):
        nc.view(a).reshape(-1, -1)
    with pytest.raises(ValueError, match="cannot reshape"):
        nc.view(a).reshape(5, 5)


def test_attributes():
    a = np.zeros((4, 6, 3), np.float32)
    v = nc.view(a)
    assert v.dtype == np.float32 and v.itemsize == 4 and v.ndim == 3
    assert v.shape == (4, 6, 3) and v.strides == (72, 12, 4) and v.nbytes == a.nbytes
    assert v.is_contiguous and not v.is_f_contiguous and not v.readonly
    assert v.data_ptr == data_ptr(a) and v.base is a and v.device == "cpu"
    assert len(v) == 4
    assert not v[:, ::2].is_contiguous
    assert v.T.is_f_contiguous
    assert "shape=(4, 6, 3)" in repr(v) and "float32" in repr(v)
    assert v.__dlpack_device__() == (1, 0)
    lo, hi = v.byte_extent
    assert hi - lo == a.nbytes
    with pytest.raises(TypeError):
        len(nc.view(np.float64(1.0)))


def test_crop_and_center_crop_like_the_seed():
    images = np.random.default_rng(0).integers(0, 256, (8, 64, 64, 3), dtype=np.uint8)
    v = nc.center_crop(images, 32)
    assert_same_view(v, images[:, 16:48, 16:48, :], images)
    assert_same_view(nc.center_crop(images, (31, 10)), images[:, 16:47, 27:37, :], images)
    assert_same_view(nc.crop(images, 3, 5, 20, 30), images[:, 3:23, 5:35], images)
    assert_same_view(nc.crop(images[0], 1, 2, 3, 4, axes=(0, 1)), images[0, 1:4, 2:6], images)
    assert_same_view(nc.crop(images, 1, 2, 3, 4, axes=(2, 1)), images[:, 2:6, 1:4], images)
    with pytest.raises(ValueError, match=r"crop \(65, 65\) is larger than image \(64, 64\)"):
        nc.center_crop(images, 65)
    with pytest.raises(IndexError, match="top must be in"):
        nc.crop(images, 40, 0, 32, 32)
    with pytest.raises(ValueError, match="axes must differ"):
        nc.crop(images, 0, 0, 1, 1, axes=(1, 1))
    with pytest.raises(ValueError, match="crop axes must have 2 items"):
        nc.crop(images, 0, 0, 1, 1, axes=(1,))
    with pytest.raises(OverflowError, match="crop top"):
        nc.crop(images, 2**63, 0, 1, 1)
    with pytest.raises(OverflowError, match="center_crop width"):
        nc.center_crop(images, (1, 2**64))
    with pytest.raises(TypeError, match="crop height must be an integer"):
        nc.crop(images, 0, 0, 1.5, 1)  # never truncated to 1


def test_buffer_protocol_exports_zero_copy_and_respects_readonly():
    a = np.arange(60, dtype=np.int16).reshape(3, 4, 5)
    v = nc.view(a)[::2, 1:, ::-1]
    m = memoryview(v)
    assert m.shape == (2, 3, 5) and m.strides == (80, 10, -2) and m.format == "h"
    assert not m.readonly
    arr = np.asarray(v)
    arr[0, 0, 0] = -7
    assert a[0, 1, 4] == -7
    ro = nc.view(a).as_readonly()
    assert np.asarray(ro).flags.writeable is False
    assert memoryview(ro).readonly
    b = b"hello world"
    vb = nc.view(b)
    assert vb.readonly and vb.base is b and bytes(np.asarray(vb)) == b
    ba = bytearray(b"abc")
    np.asarray(nc.view(ba))[0] = ord("z")
    assert ba == bytearray(b"zbc")


def test_non_contiguous_buffer_needs_strides():
    v = nc.view(np.zeros((4, 4)))[:, ::2]
    import ctypes

    with pytest.raises((BufferError, TypeError), match="contiguous"):
        (ctypes.c_char * 64).from_buffer(v)  # needs a plain contiguous buffer
    assert len((ctypes.c_char * 128).from_buffer(nc.view(np.zeros((4, 4))))) == 128
    assert bytes(memoryview(nc.view(np.zeros(2, np.uint8)))) == b"\0\0"


def test_views_of_views_share_one_owner():
    a = np.arange(100.0)
    v = nc.view(nc.view(a)[10:])[::3]
    assert v.base is a
    assert nc.view(v) is not None and nc.view(v).data_ptr == v.data_ptr


def test_mmap_and_memoryview_sources(tmp_path):
    import mmap

    p = tmp_path / "data.bin"
    p.write_bytes(bytes(range(256)))
    with open(p, "r+b") as f:
        mm = mmap.mmap(f.fileno(), 0)
        v = nc.view(mm)[10:20]
        assert list(np.asarray(v)) == list(range(10, 20))
        np.asarray(v)[0] = 255
        assert mm[10] == 255
        with pytest.raises(BufferError):
            mm.close()  # a view still uses the mapping
        del v
        import gc

        gc.collect()
        mm.close()
    mv = memoryview(np.arange(12, dtype=np.float64).reshape(3, 4))
    assert nc.view(mv)[1, 2:].shape == (2,)


def test_copy_module_semantics():
    import copy

    a = np.arange(6.0)
    v = nc.view(a)[1:]
    assert copy.copy(v) is v  # a view is an immutable handle
    d = copy.deepcopy({"v": v})["v"]
    assert not nc.shares_memory(d, a)
    np.testing.assert_array_equal(np.asarray(d), a[1:])


def test_numpy_bfloat16_arrays_are_viewed_without_copy():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    b = np.arange(6, dtype=ml_dtypes.bfloat16)
    v = nc.view(b)
    assert v._dtype_name == "bfloat16" and v.data_ptr == data_ptr(b)
    back = v.to_numpy()
    assert back.dtype == b.dtype and np.shares_memory(back, b)
    with pytest.raises(ValueError, match="copy=False"):
        np.asarray(v, dtype=np.float32, copy=False)
    np.testing.assert_array_equal(np.asarray(v, dtype=np.float32), np.arange(6, dtype=np.float32))
