"""The explicit copies against NumPy: nc.ascontiguous / View.copy (astype + ascontiguousarray)
and _nocopy.copy (dst[...] = src) on random strided views, every dtype pair, overlaps, threads."""

import warnings

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nocopy as nc
from nocopy import _nocopy

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
BF16 = np.dtype(ml_dtypes.bfloat16)


def np_dtype(name):
    return BF16 if name == "bfloat16" else np.dtype(name)


def to_view(a):
    """A nocopy view of a NumPy array (bfloat16 arrays go in as uint16, then reinterpreted)."""
    if a.dtype == BF16:
        return nc.view(a.view(np.uint16)).reinterpret("bfloat16")
    return nc.view(a)


def to_array(v):
    """The view's elements as a NumPy array (no copy)."""
    if v.dtype == "bfloat16" or str(v.dtype) == "bfloat16":
        return np.asarray(v.reinterpret("uint16")).view(BF16)
    return np.asarray(v)


def cast(a, name):
    """NumPy's astype, quietly (overflow to inf and complex -> real are intended here)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return a.astype(np_dtype(name))


def comparable(src, to):
    """Mask of source elements whose conversion to `to` NumPy defines: float -> integer only when
    the truncated value is in the integer's range and not NaN (nocopy saturates the rest)."""
    to = np_dtype(to)
    floating = src.dtype.kind in "fc" or src.dtype == BF16
    if to.kind not in "iu" or not floating:
        return np.ones(src.shape, bool)
    x = src.real if src.dtype.kind == "c" else src
    with np.errstate(all="ignore"):
        x = x.astype(np.float64) if x.dtype == BF16 else x.astype(np.longdouble)
        t = np.trunc(x)
        info = np.iinfo(to)
        return ~np.isnan(t) & (t >= info.min) & (t <= info.max)


def same(a, b):
    """Equal values, NaN equal to NaN (complex compared part by part)."""
    if a.dtype == BF16:
        a, b = a.astype(np.float32), b.astype(np.float32)
    if a.dtype.kind == "c":
        return same(a.real, b.real) and same(a.imag, b.imag)
    return np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def make_source(rng, name, shape):
    """Random values of dtype `name`: raw bits (NaN, inf, huge) or small values half the time."""
    dt = np_dtype(name)
    n = int(np.prod(shape))
    if name == "bool":
        return (rng.integers(0, 2, n) == 1).reshape(shape)
    if rng.integers(2):
        return np.frombuffer(rng.bytes(n * dt.itemsize), dt).reshape(shape).copy()
    return cast(rng.integers(-300, 300, n) / 4, name).reshape(shape)


@st.composite
def sliced_sources(draw, max_dims=5):
    """(name, base array, index tuple): random shape with zero-length axes, random basic slices."""
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=0, max_size=max_dims)))
    name = draw(st.sampled_from(DTYPES))
    seed = draw(st.integers(0, 2**32 - 1))
    base = make_source(np.random.default_rng(seed), name, shape)
    if base.ndim >= 2 and draw(st.booleans()):
        base = base.T
    index = []
    for n in base.shape:
        bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
        step = st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0))
        index.append(draw(st.one_of(st.builds(slice, bound, bound, step),
                                    st.integers(-n, n - 1) if n else st.just(slice(None)))))
    return name, base, tuple(index)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sliced_sources(), st.sampled_from(DTYPES), st.sampled_from([1, 2]))
def test_ascontiguous_and_copy_match_numpy_astype(source, to, threads):
    name, base, index = source
    ref_src = np.asarray(base[index])
    v = to_view(base)[index]
    mask = comparable(ref_src, to)
    want = cast(ref_src, to)
    out = v.copy(to, num_threads=threads)  # always a new array
    asc = nc.ascontiguous(v, to, num_threads=threads)  # a copy unless v already fits
    for result in (out, asc):
        got = to_array(result)
        assert got.shape == ref_src.shape and got.flags.c_contiguous
        assert got.dtype == np_dtype(to)
        assert same(got[mask], want[mask])
    assert not nc.shares_memory(out, to_view(base)) or ref_src.size == 0
    same_dtype = to_array(v.copy(num_threads=threads))
    assert same_dtype.dtype == base.dtype and same(same_dtype, ref_src)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sliced_sources(max_dims=4), st.sampled_from(DTYPES), st.integers(0, 3))
def test_copy_into_strided_destination_matches_numpy_assignment(source, to, layout):
    name, base, index = source
    ref_src = np.asarray(base[index])
    shape = ref_src.shape
    fill = make_source(np.random.default_rng(1), to, shape[::-1] if layout == 1 else shape)
    dst = fill.copy()
    if layout == 1:
        dst = dst.T  # F order
    elif layout == 2 and dst.ndim:
        dst = dst[::-1]  # negative stride
    elif layout == 3 and dst.ndim:
        big = np.zeros((shape[0] * 2,) + shape[1:], np_dtype(to))
        dst = big[::2]  # stride 2 on the outer axis
        dst[...] = fill
    expected = dst.copy()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        expected[...] = ref_src
    _nocopy.copy(to_view(base)[index], to_view(dst), 2)
    mask = comparable(ref_src, to)
    assert same(dst[mask], expected[mask])


def test_every_dtype_pair_on_representable_values():
    values = np.array([0, 1, 2, 3, 5, 7, 100, 127], np.int64)
    for a in DTYPES:
        src = (values % 2 == 1) if a == "bool" else cast(values, a)
        src = np.stack([src, src[::-1]])[:, ::-2]  # strided, reversed
        for b in DTYPES:
            got = to_array(nc.ascontiguous(to_view(src), b, num_threads=1))
            want = cast(src, b)
            assert same(got, want), (a, b)


def test_float64_to_float16_matches_numpy_exactly():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(100_000) * 10.0 ** rng.integers(-9, 6, 100_000),
                        np.array([1 + 2**-11 + 2**-40, 65519.99, 65520.0, 6e-8, 2.98e-8])])
    got = to_array(nc.ascontiguous(nc.view(x[::-1]), "float16"))
    with np.errstate(over="ignore"):
        want = x[::-1].astype(np.float16)
    assert np.array_equal(got.view(np.uint16), want.view(np.uint16))


def test_float_to_int_out_of_range_saturates_and_nan_is_zero():
    x = np.array([np.nan, -np.inf, np.inf, 1e30, -1e30, 300.7, -300.7, -0.9, 2.0**63], np.float64)
    got = to_array(nc.ascontiguous(nc.view(x), "int8"))
    assert got.tolist() == [0, -128, 127, 127, -128, 127, -128, 0, 127]
    got = to_array(nc.ascontiguous(nc.view(x), "uint64"))
    assert got.tolist() == [0, 0, 2**64 - 1, 2**64 - 1, 0, 300, 0, 0, 2**63]


@pytest.mark.parametrize("threads", [1, 2])
def test_overlapping_operands_behave_like_numpy(threads):
    for make in (lambda a: (a[:-3], a[3:]), lambda a: (a[3:], a[:-3]),
                 lambda a: (a[::-1], a), lambda a: (a[::2], a[:a.size // 2][::-1]),
                 lambda a: (a.reshape(40, 50).T[:40, :40], a.reshape(40, 50)[:40, :40])):
        a = np.arange(2000, dtype=np.int32) * 3
        b = a.copy()
        src, dst = make(a)
        ref_src, ref_dst = make(b)
        ref_dst[...] = ref_src
        _nocopy.copy(nc.view(src), nc.view(dst), threads)
        assert np.array_equal(a, b)
    # Converting overlap: the uint8 first half widened in place to uint16 over the whole buffer.
    buf = np.arange(64, dtype=np.uint8)
    _nocopy.copy(nc.view(buf[:32]), nc.view(buf.view(np.uint16)), threads)
    assert np.array_equal(buf.view(np.uint16), np.arange(32))


def test_two_threads_give_identical_bytes():
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (12, 300, 400, 3), np.uint8)  # copies >= 4 MiB
    sources = [images[:, 20:276, 30:286], images[:, ::-1, ::2], images.transpose(0, 3, 1, 2),
               rng.standard_normal(1_000_003)[::-1], rng.standard_normal((2, 600_001))]
    for src in sources:
        for to in ["uint8", "float32", "float16", "bfloat16", "int16", "complex64"]:
            one = to_array(nc.ascontiguous(nc.view(src), to, num_threads=1))
            two = to_array(nc.ascontiguous(nc.view(src), to, num_threads=2))
            assert one.tobytes() == two.tobytes(), (src.shape, to)
    crop = images[:, 20:276, 30:286]
    assert np.array_equal(to_array(nc.ascontiguous(nc.view(crop), num_threads=2)), crop)


def test_errors():
    a = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        _nocopy.copy(nc.view(a), nc.view(np.zeros((3, 2), np.float32)))
    with pytest.raises(BufferError, match="read-only"):
        _nocopy.copy(nc.view(np.zeros(24, np.uint8)), nc.view(bytes(24)))
    with pytest.raises(ValueError, match="num_threads"):
        nc.ascontiguous(nc.view(a)[:, ::2], num_threads=-1)
    with pytest.raises(ValueError, match="nope"):
        nc.ascontiguous(nc.view(a)[:, ::2], "nope")
    with pytest.raises(TypeError):
        _nocopy.copy(a, "not a view")
