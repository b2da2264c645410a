"""Directed rounding (``.rz .rm .rp``) for f32/f64 ``add sub mul fma div rcp sqrt`` and
narrowing ``cvt``.

Each result is the round-to-nearest result ``r`` of the exact value ``x`` plus the sign of the
residual ``x - r``; a directed mode then steps ``r`` one ulp (``np.nextafter``) where it lies on
the wrong side of ``x``. f32 operations find the residual exactly and vectorized: the product of
two float32s is exact in float64, and Knuth's TwoSum splits a float64 sum into ``s + e`` exactly,
so ``sign((s - r) + e)`` is the residual's sign (``s - r`` is exact: ``r`` is ``s`` rounded to
f32). f64 operations, rare in practice, are computed per element with ``fractions.Fraction``.
``.rn`` on f32 ``fma`` uses the same residual to break the double-rounding ties of a float64
intermediate, so it is a true fused multiply-add.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

MODES = ("rn", "rz", "rm", "rp")


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a + b == s + e`` exactly (float64, no overflow)."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def _direct(r: np.ndarray, residual: np.ndarray, mode: str) -> np.ndarray:
    """Step the nearest result ``r`` toward the exact value per ``mode`` (residual = x - r)."""
    residual = np.where(np.isnan(residual), 0, residual)
    if mode == "rm":
        step = residual < 0
        target = -np.inf
    elif mode == "rp":
        step = residual > 0
        target = np.inf
    else:  # rz: the exact value is nearer zero than r
        step = (residual != 0) & ((residual < 0) != (r < 0)) & (r != 0)
        target = 0.0
    if not np.any(step):
        return r
    return np.where(step, np.nextafter(r, np.asarray(target, r.dtype)), r)


def _f32_sum(p: np.ndarray, c: np.ndarray, mode: str) -> np.ndarray:
    """``p + c`` (float64 values, each exact) rounded once to float32 in ``mode``."""
    s, e = _two_sum(p, c)
    finite = np.isfinite(s)
    r = s.astype(np.float32)
    residual = np.where(finite, (s - r.astype(np.float64)) + np.where(finite, e, 0), 0)
    # s itself overflowed float64 only for infinite inputs; r overflowed when |s| > f32 max.
    over = finite & np.isinf(r)
    residual = np.where(over, -np.sign(r.astype(np.float64)), residual)
    if mode == "rn":
        # A float64 s exactly halfway between two float32s with e != 0 is no tie: go toward e.
        tie = finite & ~over & (e != 0)
        if np.any(tie):
            below = s - r.astype(np.float64)
            toward_s = np.nextafter(r, np.where(below > 0, np.inf, -np.inf).astype(np.float32))
            half = np.abs(below) == np.abs(toward_s.astype(np.float64) - r) / 2
            fix = tie & half & (below * e > 0)
            r = np.where(fix, toward_s, r).astype(np.float32)
        return r
    out = _direct(r, residual, mode).astype(np.float32)
    if mode == "rm":  # an exact zero sum of opposite signs is -0 when rounding down
        zero = (out == 0) & (residual == 0) & ~(np.signbit(p) & np.signbit(c))
        both_positive_zero = (p == 0) & (c == 0) & ~np.signbit(p) & ~np.signbit(c)
        out = np.where(zero & ~both_positive_zero, np.float32(-0.0), out)
    return out


def fma_f32(a, b, c, mode: str = "rn") -> np.ndarray:
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    p = a * b
    if mode != "rn" or (p.ndim == 0 and c.ndim == 0):
        return _f32_sum(p, c, mode)
    # Fast path: a float64 sum can only hide a tie when its low 28 mantissa bits are zero.
    p, c = np.broadcast_arrays(p, c)
    s = p + c
    r = s.astype(np.float32)
    maybe = (s.view(np.uint64) & np.uint64(0x0FFFFFFF)) == 0
    if np.any(maybe):
        r[maybe] = _f32_sum(p[maybe], c[maybe], "rn")
    return r


def add_f32(a, b, mode: str) -> np.ndarray:
    return _f32_sum(np.asarray(a, np.float64), np.asarray(b, np.float64), mode)


def sub_f32(a, b, mode: str) -> np.ndarray:
    return _f32_sum(np.asarray(a, np.float64), -np.asarray(b, np.float64), mode)


def mul_f32(a, b, mode: str) -> np.ndarray:
    return _f32_sum(np.asarray(a, np.float64) * np.asarray(b, np.float64), np.zeros(()), mode)


def _exact_f64(values: list, combine, mode: str, addends=None) -> float:
    """Round ``combine(*Fractions)`` to float64 in ``mode``; IEEE specials via numpy first."""
    floats = [float(v) for v in values]
    if not all(np.isfinite(floats)) or (combine is _divide and floats[1] == 0):
        with np.errstate(all="ignore"):
            return float(combine(*(np.float64(v) for v in floats)))
    exact = combine(*(Fraction(v) for v in floats))
    try:
        r = float(exact)
    except OverflowError:
        r = float("inf") if exact > 0 else float("-inf")
    if exact == 0:
        zero = 0.0
        if addends is not None:
            signs = [np.signbit(x) for x in addends(*floats)]
            negative = all(signs) or (mode == "rm" and not all(not s for s in signs))
            zero = -0.0 if negative else 0.0
        else:
            zero = float(combine(*(np.float64(v) for v in floats)))
        return zero
    residual = -np.sign(r) if np.isinf(r) else float(exact - Fraction(r))
    residual = np.sign(residual) if residual != 0 else 0.0
    if r == 0:  # underflow to zero keeps the exact value's sign
        r = -0.0 if exact < 0 else 0.0
    return float(_direct(np.float64(r), np.float64(residual), mode))


def _per_element(combine, mode: str, addends, *arrays) -> np.ndarray:
    arrays = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in arrays))
    out = np.empty(arrays[0].shape, np.float64)
    for index in np.ndindex(out.shape):
        out[index] = _exact_f64([a[index] for a in arrays], combine, mode, addends)
    return out


def fma_f64(a, b, c, mode: str) -> np.ndarray:
    return _per_element(lambda x, y, z: x * y + z, mode, lambda x, y, z: (x * y, z), a, b, c)


def add_f64(a, b, mode: str) -> np.ndarray:
    return _per_element(lambda x, y: x + y, mode, lambda x, y: (x, y), a, b)


def sub_f64(a, b, mode: str) -> np.ndarray:
    return _per_element(lambda x, y: x - y, mode, lambda x, y: (x, -y), a, b)


def mul_f64(a, b, mode: str) -> np.ndarray:
    return _per_element(lambda x, y: x * y, mode, None, a, b)


def div_f32(a, b, mode: str) -> np.ndarray:
    """f32 ``a / b``: the float64 quotient rounded to f32 is the nearest f32 (53 >= 2*24 + 2
    makes the double rounding innocuous); ``r * b`` is exact, so ``sign(a - r*b) * sign(b)`` is
    the residual's sign."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    r = (a / b).astype(np.float32)
    if mode == "rn":
        return r
    residual = (a - r.astype(np.float64) * b) * np.sign(b)
    return _direct(r, residual, mode).astype(np.float32)


def rcp_f32(b, mode: str) -> np.ndarray:
    return div_f32(np.float64(1), b, mode)


def sqrt_f32(a, mode: str) -> np.ndarray:
    """f32 ``sqrt``: as ``div_f32``, with ``sign(a - r*r)`` (``r*r`` exact in float64)."""
    a = np.asarray(a, np.float64)
    r = np.sqrt(a).astype(np.float32)
    if mode == "rn":
        return r
    wide = r.astype(np.float64)
    return _direct(r, np.where(np.isinf(wide), 0, a - wide * wide), mode).astype(np.float32)


def _divide(x, y):
    return x / y


def div_f64(a, b, mode: str) -> np.ndarray:
    return _per_element(_divide, mode, None, a, b)


def rcp_f64(b, mode: str) -> np.ndarray:
    return div_f64(np.ones_like(np.asarray(b, np.float64)), b, mode)


def sqrt_f64(a, mode: str) -> np.ndarray:
    a = np.asarray(a, np.float64)
    r = np.sqrt(a)
    out = np.array(r, np.float64)
    for index in np.ndindex(out.shape):
        x, root = float(a[index]), float(r[index])
        if np.isfinite(root) and x > 0:
            residual = Fraction(x) - Fraction(root) ** 2
            sign = 1.0 if residual > 0 else (-1.0 if residual < 0 else 0.0)
            out[index] = _direct(np.float64(root), np.float64(sign), mode)
    return out


_SPLIT = np.float64(2.0**27 + 1)


def _split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = _SPLIT * x
    high = t - (t - x)
    return high, x - high


def fma_f64_rn(a, b, c) -> np.ndarray:
    """Fused ``a*b + c`` in float64, round to nearest even (libdevice's f64 argument reductions
    depend on it). Dekker's TwoProduct and TwoSum give ``a*b + c = s + t + e`` exactly; adding
    ``t + e`` rounded to odd to ``s`` rounds once (Boldo and Melquiond, 2008). Lanes where the
    splitting could overflow or underflow, or that are not finite, are computed with Fraction."""
    with np.errstate(all="ignore"):
        return _fma_f64_rn(*np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (a, b, c))))


def _fma_f64_rn(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    p = a * b
    a_high, a_low = _split(a)
    b_high, b_low = _split(b)
    e = ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low
    s, t = _two_sum(p, c)
    w, error = _two_sum(t, e)
    odd = (w.view(np.uint64) & np.uint64(1)).astype(bool)
    nudge = (error != 0) & ~odd
    w = np.where(nudge, np.nextafter(w, np.where(error > 0, np.inf, -np.inf)), w)
    result = np.asarray(s + w, np.float64)
    magnitude = np.maximum(np.abs(a), np.abs(b))
    tiny = np.abs(p) < 2.0**-960
    risky = ~np.isfinite(result) | ~np.isfinite(p) | (magnitude > 2.0**995) | tiny
    risky |= np.abs(c) > 2.0**1020
    risky &= np.isfinite(a) & np.isfinite(b) & np.isfinite(c)
    if np.any(risky):
        result = result.copy() if result.ndim else np.array(result)
        special = np.flatnonzero(risky.reshape(-1))
        flat = result.reshape(-1)
        for index in special:
            x, y, z = (float(v.reshape(-1)[index]) for v in (a, b, c))
            flat[index] = _fma_exact_rn(x, y, z)
    return result


def _fma_exact_rn(x: float, y: float, z: float) -> float:
    exact = Fraction(x) * Fraction(y) + Fraction(z)
    if exact == 0:
        return float(np.float64(x) * np.float64(y) + np.float64(z))
    try:
        return float(exact)
    except OverflowError:
        return float("inf") if exact > 0 else float("-inf")


DIRECTED = {
    ("div", "f32"): div_f32,
    ("rcp", "f32"): rcp_f32,
    ("sqrt", "f32"): sqrt_f32,
    ("div", "f64"): div_f64,
    ("rcp", "f64"): rcp_f64,
    ("sqrt", "f64"): sqrt_f64,
    ("fma", "f32"): fma_f32,
    ("add", "f32"): add_f32,
    ("sub", "f32"): sub_f32,
    ("mul", "f32"): mul_f32,
    ("fma", "f64"): fma_f64,
    ("add", "f64"): add_f64,
    ("sub", "f64"): sub_f64,
    ("mul", "f64"): mul_f64,
}


def narrow_f64_to_f32(values, mode: str) -> np.ndarray:
    """``cvt.rX.f32.f64``: float64 to float32 in ``mode``."""
    values = np.asarray(values, np.float64)
    r = values.astype(np.float32)
    finite = np.isfinite(values)
    residual = np.where(finite, values - r.astype(np.float64), 0)  # exact (Sterbenz)
    over = finite & np.isinf(r)
    residual = np.where(over, -np.sign(values), residual)
    return _direct(r, residual, mode).astype(np.float32)


def int_to_float(values, dest: np.dtype, mode: str) -> np.ndarray:
    """``cvt.rX.f32/f64.{s,u}{32,64}`` in a directed ``mode``: 32-bit integers are exact in
    float64 (narrowed like ``cvt.f32.f64``); 64-bit ones are rounded per element from Python
    integers."""
    values = np.asarray(values)
    if values.dtype.itemsize <= 4:
        wide = values.astype(np.float64)
        return wide if dest == np.float64 else narrow_f64_to_f32(wide, mode)
    out = np.empty(values.shape, dest)
    for index in np.ndindex(values.shape):
        exact = int(values[index])
        nearest = dest.type(float(exact))  # a neighbour of the exact value
        residual = exact - Fraction(float(nearest))
        sign = 1.0 if residual > 0 else (-1.0 if residual < 0 else 0.0)
        out[index] = _direct(nearest, dest.type(sign), mode)
    return out
