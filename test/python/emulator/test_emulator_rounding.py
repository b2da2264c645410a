"""Directed rounding (``.rz .rm .rp``) and fused ``.rn`` for f32/f64 ``add sub mul fma`` and
``cvt.f32.f64``: hand-worked cases through PTX kernels, and random inputs checked against the
exact value computed with ``fractions.Fraction`` and rounded by definition."""

from fractions import Fraction

import numpy as np
import pytest

from quartet.emulator import rounding

ONE_UP = np.nextafter(np.float32(1), np.float32(2))  # 1 + 2**-23
TINY = np.float32(2.0**-30)


def f32(*values):
    return np.array(values, np.float32)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("rn", [1, -1, 1, -1]), ("rz", [1, -1, 1, -1]), ("rm", [1, -ONE_UP, 1, -ONE_UP]),
     ("rp", [ONE_UP, -1, ONE_UP, -1])],
)  # fmt: skip
def test_add_sub_directed(elementwise, mode, expected):
    a, b = f32(1, -1, 1, -1), f32(TINY, -TINY, TINY, -TINY)
    out = elementwise(f"add.{mode}.f32 %d, %a, %b;", np.float32, a, b)
    assert out.tolist() == f32(*expected).tolist()
    out = elementwise(f"sub.{mode}.f32 %d, %a, %b;", np.float32, a, -b)
    assert out.tolist() == f32(*expected).tolist()


def test_mul_directed_and_overflow(elementwise):
    third = np.float32(1 / 3)  # 0x3eaaaaab, a little above 1/3: 3 * third = 1 + 2**-25
    big = np.float32(2.0**127)
    a, b = f32(3, 3, big, -big), f32(third, -third, 2, 2)
    finite = np.finfo(np.float32).max
    cases = {
        "rn": [1, -1, np.inf, -np.inf],
        "rz": [1, -1, finite, -finite],
        "rm": [1, -ONE_UP, finite, -np.inf],
        "rp": [ONE_UP, -1, np.inf, -finite],
    }
    for mode, expected in cases.items():
        out = elementwise(f"mul.{mode}.f32 %d, %a, %b;", np.float32, a, b)
        assert out.tolist() == f32(*expected).tolist(), mode


def test_exact_zero_sum_is_negative_when_rounding_down(elementwise):
    a, b = f32(1, 0, -0.0, 0), f32(-1, 0, -0.0, -0.0)
    down = elementwise("add.rm.f32 %d, %a, %b;", np.float32, a, b)
    assert np.signbit(down).tolist() == [True, False, True, True]
    up = elementwise("add.rp.f32 %d, %a, %b;", np.float32, a, b)
    assert np.signbit(up).tolist() == [False, False, True, False]


def test_fma_rm_as_in_libdevice_expf(elementwise):
    # expf's range reduction: j = fma.rm(x, log2(e), 12582912) - 12582912 = floor(x*log2 e).
    x = f32(1.0, 2.5, -1.0, -0.3, 10.0, 0.0)
    log2e = np.full(6, np.float32(1.4426950), np.float32)
    magic = np.full(6, np.float32(12582912.0), np.float32)
    out = elementwise("fma.rm.f32 %d, %a, %b, %c;", np.float32, x, log2e, magic)
    assert (out - magic).tolist() == np.floor(x.astype(np.float64) * log2e).tolist()
    out = elementwise("fma.rp.f32 %d, %a, %b, %c;", np.float32, x, log2e, magic)
    assert (out - magic).tolist() == np.ceil(x.astype(np.float64) * log2e).tolist()


def test_fma_rn_is_fused_through_double_rounding_ties():
    # a*b + c is exactly 1 + 2**-11 + 2**-24 + 2**-80: a float64 intermediate drops 2**-80, leaving
    # a tie that rounds to even, 1 + 2**-11; the fused result is 1 + 2**-11 + 2**-23.
    a = b = np.float32(1 + 2.0**-12)
    c = np.float32(2.0**-80)
    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    assert np.float32(float(exact)) != _round32(exact, "rn")  # double rounding would be wrong
    assert rounding.fma_f32(a, b, c) == _round32(exact, "rn") == np.float32(1 + 2.0**-11 + 2.0**-23)


def test_cvt_f64_to_f32_directed(elementwise):
    x = np.array([0.1, -0.1, 1e300, -1e300, 1.0, 2.0**-160], np.float64)
    finite = float(np.finfo(np.float32).max)
    lower, upper = np.nextafter(np.float32(0.1), np.float32(0)), np.float32(0.1)
    tiny = float(np.float32(2.0**-149))
    cases = {
        "rz": [lower, -lower, finite, -finite, 1, 0],
        "rm": [lower, -upper, finite, -np.inf, 1, 0],
        "rp": [upper, -lower, np.inf, -finite, 1, tiny],
        "rn": [upper, -upper, np.inf, -np.inf, 1, 0],
    }
    for mode, expected in cases.items():
        out = elementwise(f"cvt.{mode}.f32.f64 %t0, %a; mov.b32 %d, %t0;", np.float32, x)
        assert out.tolist() == f32(*expected).tolist(), mode


def _round32(exact: Fraction, mode: str) -> np.float32:
    """``exact`` rounded to float32 by definition: the neighbours below and above."""
    guess = np.float32(float(exact))
    neighbours = [np.nextafter(guess, np.float32(-np.inf)), guess]
    neighbours.append(np.nextafter(guess, np.float32(np.inf)))
    neighbours = [n for n in neighbours if np.isfinite(n)]
    low = max(n for n in neighbours if Fraction(float(n)) <= exact)
    high = min(n for n in neighbours if Fraction(float(n)) >= exact)
    if mode == "rm" or (mode == "rz" and exact >= 0):
        return low
    if mode == "rp" or mode == "rz":
        return high
    below, above = exact - Fraction(float(low)), Fraction(float(high)) - exact
    if below != above:
        return low if below < above else high
    return low if int(low.view(np.uint32)) % 2 == 0 else high


def _round64(exact: Fraction, mode: str) -> float:
    guess = float(exact)
    neighbours = [np.nextafter(guess, -np.inf), guess, np.nextafter(guess, np.inf)]
    low = max(n for n in neighbours if Fraction(float(n)) <= exact)
    high = min(n for n in neighbours if Fraction(float(n)) >= exact)
    if mode == "rm" or (mode == "rz" and exact >= 0):
        return float(low)
    if mode == "rp" or mode == "rz":
        return float(high)
    return guess


def _random32(rng, n, spread):
    values = rng.standard_normal(n) * np.exp2(rng.integers(-spread, spread, n))
    return values.astype(np.float32)


@pytest.mark.parametrize("mode", rounding.MODES)
def test_random_f32_against_fractions(mode):
    rng = np.random.default_rng(7)
    n = 400
    a, b, c = _random32(rng, n, 30), _random32(rng, n, 30), _random32(rng, n, 60)
    c[::4] = -(a[::4].astype(np.float64) * b[::4]).astype(np.float32)  # heavy cancellation
    fa, fb, fc = ([Fraction(float(v)) for v in x] for x in (a, b, c))
    checks = [
        (rounding.fma_f32(a, b, c, mode), [x * y + z for x, y, z in zip(fa, fb, fc, strict=True)]),
        (rounding.add_f32(a, c, mode), [x + z for x, z in zip(fa, fc, strict=True)]),
        (rounding.sub_f32(a, c, mode), [x - z for x, z in zip(fa, fc, strict=True)]),
        (rounding.mul_f32(a, b, mode), [x * y for x, y in zip(fa, fb, strict=True)]),
    ]
    for got, exact in checks:
        expected = [
            _round32(x, mode) if x != 0 else abs(g) * 0 for x, g in zip(exact, got, strict=True)
        ]
        assert [float(g) for g in got] == [float(e) for e in expected]


@pytest.mark.parametrize("mode", ("rz", "rm", "rp"))
def test_random_f64_against_fractions(mode):
    rng = np.random.default_rng(11)
    n = 200
    a, b = rng.standard_normal(n) * 1e10, rng.standard_normal(n) * 1e-7
    c = rng.standard_normal(n)
    c[::4] = -(a[::4] * b[::4])
    fa, fb, fc = ([Fraction(float(v)) for v in x] for x in (a, b, c))
    checks = [
        (rounding.fma_f64(a, b, c, mode), [x * y + z for x, y, z in zip(fa, fb, fc, strict=True)]),
        (rounding.add_f64(a, c, mode), [x + z for x, z in zip(fa, fc, strict=True)]),
        (rounding.sub_f64(b, c, mode), [y - z for y, z in zip(fb, fc, strict=True)]),
        (rounding.mul_f64(a, b, mode), [x * y for x, y in zip(fa, fb, strict=True)]),
    ]
    for got, exact in checks:
        assert got.tolist() == [_round64(x, mode) for x in exact]


def test_f64_directed_through_ptx(elementwise):
    a, b = np.array([1.0, -1.0]), np.array([2.0**-60, -(2.0**-60)])
    up = np.nextafter(1.0, 2.0)
    assert elementwise("add.rp.f64 %d, %a, %b;", np.float64, a, b).tolist() == [up, -1.0]
    assert elementwise("fma.rm.f64 %d, %a, %a, %b;", np.float64, a, b).tolist() == [
        1.0,
        np.nextafter(1.0, 0.0),  # 1 - 2**-60 rounded down
    ]


def test_div_rcp_sqrt_directed(elementwise):
    third_down, third_up = np.uint32(0x3EAAAAAA), np.uint32(0x3EAAAAAB)  # 1/3 lies between
    ones, threes = f32(1, -1), f32(3, 3)
    cases = {"rn": [third_up, third_up], "rz": [third_down, third_down]}
    cases |= {"rm": [third_down, third_up], "rp": [third_up, third_down]}
    for mode, expected in cases.items():
        out = elementwise(f"div.{mode}.f32 %d, %a, %b;", np.float32, ones, threes)
        signs = np.array([0, 0x80000000], np.uint32)
        assert out.view(np.uint32).tolist() == (np.array(expected, np.uint32) | signs).tolist()
        out = elementwise(f"rcp.{mode}.f32 %d, %a;", np.float32, threes)
        assert out.view(np.uint32).tolist() == [expected[0]] * 2
    # sqrt(2) = 1.41421356...: f32 0x3fb504f3 is below it, 0x3fb504f4 above.
    two = f32(2, 2)
    down = elementwise("sqrt.rm.f32 %d, %a;", np.float32, two).view(np.uint32)
    up = elementwise("sqrt.rp.f32 %d, %a;", np.float32, two).view(np.uint32)
    assert down.tolist() == [0x3FB504F3] * 2 and up.tolist() == [0x3FB504F4] * 2
    third64 = elementwise("rcp.rz.f64 %d, %a;", np.float64, np.array([3.0, -3.0]))
    assert third64.tolist() == [1 / 3, -1 / 3]  # the nearest double to 1/3 is below it
    third64 = elementwise("rcp.rp.f64 %d, %a;", np.float64, np.array([3.0, -3.0]))
    assert third64.tolist() == [np.nextafter(1 / 3, 1), -1 / 3]
    root64 = elementwise("sqrt.rm.f64 %d, %a;", np.float64, np.array([2.0, 4.0]))
    assert root64.tolist() == [np.nextafter(np.sqrt(2.0), 0), 2.0]  # sqrt(2) rounds up


@pytest.mark.parametrize("mode", ("rz", "rm", "rp"))
def test_random_div_sqrt_against_fractions(mode):
    rng = np.random.default_rng(13)
    a, b = _random32(rng, 300, 30), _random32(rng, 300, 30)
    exact = [Fraction(float(x)) / Fraction(float(y)) for x, y in zip(a, b, strict=True)]
    assert rounding.div_f32(a, b, mode).tolist() == [float(_round32(x, mode)) for x in exact]
    a64, b64 = rng.standard_normal(100), rng.standard_normal(100) * 1e5
    exact = [Fraction(float(x)) / Fraction(float(y)) for x, y in zip(a64, b64, strict=True)]
    assert rounding.div_f64(a64, b64, mode).tolist() == [_round64(x, mode) for x in exact]
    for values, function, dtype in ((np.abs(a), rounding.sqrt_f32, np.float32),
                                    (np.abs(a64), rounding.sqrt_f64, np.float64)):  # fmt: skip
        roots = function(values, mode)
        for value, root in zip(values, roots, strict=True):
            below, above = (np.nextafter(root, dtype(-1)), np.nextafter(root, dtype(np.inf)))
            square, target = Fraction(float(root)) ** 2, Fraction(float(value))
            # root is on the requested side of the exact square root, and one ulp from it
            if mode == "rp":
                assert square >= target > Fraction(float(below)) ** 2
            else:
                assert square <= target < Fraction(float(above)) ** 2


def test_cvt_integer_to_float_directed(elementwise):
    big = np.array([2**24 + 1, -(2**24 + 1), 2**31 - 1, 7], np.int32)
    expected = {
        "rz": [2**24, -(2**24), 2**31 - 128, 7],
        "rm": [2**24, -(2**24 + 2), 2**31 - 128, 7],
        "rp": [2**24 + 2, -(2**24), 2**31, 7],
    }
    for mode, values in expected.items():
        out = elementwise(f"cvt.{mode}.f32.s32 %d, %a;", np.float32, big)
        assert out.tolist() == values, mode
    huge = np.array([2**63 - 1, 2**53 + 1, 3, 2**64 - 1], np.uint64)
    up = elementwise("cvt.rp.f64.u64 %d, %a;", np.float64, huge)
    assert up.tolist() == [2.0**63, 2.0**53 + 2, 3.0, 2.0**64]
    down = elementwise("cvt.rz.f64.u64 %d, %a;", np.float64, huge)
    assert down.tolist() == [2.0**63 - 1024, 2.0**53, 3.0, 2.0**64 - 2048]
    down32 = elementwise(
        "cvt.rm.f32.s64 %t0, %a; mov.b32 %d, %t0;", np.float32, huge.view(np.int64)
    )
    assert down32.tolist() == [2.0**63 - 2**39, 2.0**53, 3.0, -1.0]


def test_directed_rounding_with_immediates(elementwise):
    a = f32(1, -1, 0.5)
    out = elementwise("add.rp.f32 %d, %a, 0f30800000;", np.float32, a)  # + 2**-30
    assert out.tolist() == f32(ONE_UP, -1 + 2.0**-24, 0.5 + 2.0**-24).tolist()
    out = elementwise("fma.rm.f32 %d, %a, 0f3EAAAAAB, 0f00000000;", np.float32, a)
    assert out.tolist() == (a * np.float32(1 / 3)).tolist()  # 1/3 rounded up, times a: exact
    out = elementwise("fma.rn.f32 %d, 0f3F800800, 0f3F800800, %a;", np.float32, f32(0, 0, 0))
    assert out.tolist() == [np.float32((1 + 2.0**-12) ** 2)] * 3
