"""Arithmetic, logic, comparison, conversion and move instructions, checked value by value.

Each case runs one instruction (or a short sequence) per thread of a hand-written kernel on
chosen inputs and compares with numpy or with values worked out by hand from the PTX ISA.
"""

from fractions import Fraction

import numpy as np
import pytest

from quartet.emulator import rounding

I32 = np.array([0, 1, -1, 7, -7, 2**31 - 1, -(2**31), 123456789], np.int32)
U32 = I32.view(np.uint32)
SMALL = np.array([1, 2, 3, -4, 5, -6, 7, 100], np.int32)
F32 = np.array([0.0, -0.0, 1.5, -2.25, 3.0e38, 1e-40, np.inf, np.nan], np.float32)
G32 = np.array([2.0, -0.0, -3.5, 0.5, 3.0e38, 2.0, 1.0, 1.0], np.float32)


def bits(values, dtype=np.uint32):
    return np.asarray(values).view(dtype)


def test_integer_add_sub_wrap(elementwise):
    assert np.array_equal(elementwise("add.s32 %d, %a, %b;", np.int32, I32, SMALL), I32 + SMALL)
    assert np.array_equal(
        elementwise("sub.u32 %d, %a, %b;", np.uint32, U32, SMALL.view(np.uint32)),
        U32 - SMALL.view(np.uint32),
    )


def test_add_sat_clamps(elementwise):
    out = elementwise("add.sat.s32 %d, %a, %b;", np.int32, I32, np.full(8, 10, np.int32))
    expected = np.clip(I32.astype(np.int64) + 10, -(2**31), 2**31 - 1)
    assert np.array_equal(out, expected)


def test_mul_lo_hi_wide(elementwise):
    wide = I32.astype(np.int64) * SMALL.astype(np.int64)
    assert np.array_equal(
        elementwise("mul.lo.s32 %d, %a, %b;", np.int32, I32, SMALL), wide.astype(np.int32)
    )
    assert np.array_equal(
        elementwise("mul.hi.s32 %d, %a, %b;", np.int32, I32, SMALL), (wide >> 32).astype(np.int32)
    )
    assert np.array_equal(
        elementwise("mul.wide.s32 %w0, %a, %b; mov.b64 %d, %w0;", np.int64, I32, SMALL), wide
    )
    unsigned = U32.astype(np.uint64) * np.uint64(0xFFFFFFFF)
    assert np.array_equal(
        elementwise("mul.hi.u32 %d, %a, -1;", np.uint32, U32),
        (unsigned >> np.uint64(32)).astype(np.uint32),
    )


def test_mul_hi_64bit():
    a = np.array([2**63 - 1, -5, 3, -(2**63), 12345678912345, -1, 1, 0], np.int64)
    b = np.array([2**62, 7, -9, -1, 98765432198765, -1, 1, 5], np.int64)
    expected = [(int(x) * int(y)) >> 64 for x, y in zip(a, b, strict=True)]
    from quartet.emulator.arith import _mul_high
    from quartet.emulator.ptxtypes import TYPES

    assert _mul_high(a, b, TYPES["s64"]).tolist() == expected
    ua, ub = a.view(np.uint64), b.view(np.uint64)
    expected_u = [(int(x) * int(y)) >> 64 for x, y in zip(ua, ub, strict=True)]
    assert _mul_high(ua, ub, TYPES["u64"]).tolist() == expected_u


def test_mad_lo_and_wide(elementwise):
    out = elementwise("mad.lo.s32 %d, %a, %b, %c;", np.int32, I32, SMALL, SMALL)
    assert np.array_equal(out, (I32.astype(np.int64) * SMALL + SMALL).astype(np.int32))
    c64 = np.arange(8, dtype=np.int64) * 2**40
    out = elementwise("mad.wide.s32 %d, %a, %b, %c;", np.int64, I32, SMALL, c64)
    assert np.array_equal(out, I32.astype(np.int64) * SMALL + c64)


def test_div_rem_truncate_toward_zero(elementwise):
    a = np.array([7, -7, 7, -7, 0, 100, -(2**31), 5], np.int32)
    b = np.array([2, 2, -2, -2, 3, 7, -1, 1], np.int32)
    assert elementwise("div.s32 %d, %a, %b;", np.int32, a, b).tolist() == [
        3,
        -3,
        -3,
        3,
        0,
        14,
        -(2**31),
        5,
    ]
    assert elementwise("rem.s32 %d, %a, %b;", np.int32, a, b).tolist() == [1, -1, 1, -1, 0, 2, 0, 0]
    ua = a.view(np.uint32)
    ub = np.array([2, 2, 3, 3, 3, 7, 1, 1], np.uint32)
    assert np.array_equal(elementwise("div.u32 %d, %a, %b;", np.uint32, ua, ub), ua // ub)
    assert np.array_equal(elementwise("rem.u32 %d, %a, %b;", np.uint32, ua, ub), ua % ub)


def test_shifts_clamp_and_sign(elementwise):
    amount = np.array([0, 1, 4, 31, 32, 40, 3, 16], np.uint32)
    value = np.array([1, -8, 0x0F0, -1, 5, -5, -64, 0x12345678], np.int32)
    shl = elementwise("shl.b32 %d, %a, %b;", np.uint32, value, amount)
    expected = [
        (int(v) & 0xFFFFFFFF) << int(s) & 0xFFFFFFFF if s < 32 else 0
        for v, s in zip(value, amount, strict=True)
    ]
    assert shl.tolist() == expected
    shr_s = elementwise("shr.s32 %d, %a, %b;", np.int32, value, amount)
    assert shr_s.tolist() == [int(v) >> min(int(s), 31) for v, s in zip(value, amount, strict=True)]
    shr_u = elementwise("shr.u32 %d, %a, %b;", np.uint32, value, amount)
    assert shr_u.tolist() == [
        (int(v) & 0xFFFFFFFF) >> int(s) if s < 32 else 0 for v, s in zip(value, amount, strict=True)
    ]


def test_logic_and_bit_counting(elementwise):
    a, b = U32, U32[::-1].copy()
    assert np.array_equal(elementwise("and.b32 %d, %a, %b;", np.uint32, a, b), a & b)
    assert np.array_equal(elementwise("or.b32 %d, %a, %b;", np.uint32, a, b), a | b)
    assert np.array_equal(elementwise("xor.b32 %d, %a, %b;", np.uint32, a, b), a ^ b)
    assert np.array_equal(elementwise("not.b32 %d, %a;", np.uint32, a), ~a)
    assert elementwise("popc.b32 %d, %a;", np.uint32, a).tolist() == [
        bin(int(x)).count("1") for x in a
    ]
    assert elementwise("clz.b32 %d, %a;", np.uint32, a).tolist() == [
        32 - int(x).bit_length() for x in a
    ]
    assert elementwise("brev.b32 %d, %a;", np.uint32, a).tolist() == [
        int(f"{int(x):032b}"[::-1], 2) for x in a
    ]


def test_bfe_bfi(elementwise):
    value = np.full(4, 0xF0F0A5C3, np.uint32)
    position = np.array([0, 4, 8, 28], np.uint32)
    assert elementwise("bfe.u32 %d, %a, %b, 8;", np.uint32, value, position).tolist() == [
        0xC3,
        0x5C,
        0xA5,
        0xF,
    ]
    assert elementwise("bfe.s32 %d, %a, %b, 8;", np.int32, value, position).tolist() == [
        -61,
        0x5C,
        -91,
        -1,
    ]  # bits 28..31, then the sign bit (bit 31) fills
    base = np.zeros(4, np.uint32)
    field = np.full(4, 0xFF, np.uint32)
    assert elementwise("bfi.b32 %d, %a, %b, %c, 4;", np.uint32, field, base, position).tolist() == [
        0xF,
        0xF0,
        0xF00,
        0xF0000000,
    ]


def test_prmt_selects_and_replicates_bytes(elementwise):
    a = np.full(2, 0x83828180, np.uint32)
    b = np.full(2, 0x07060504, np.uint32)
    selector = np.array([0x3210, 0x0B47], np.uint32)
    out = elementwise("prmt.b32 %d, %a, %b, %c;", np.uint32, a, b, selector)
    # 0x0B47: byte0 <- byte 7 (b3), byte1 <- byte 4 (b0), byte2 <- sign of byte 3 (a3 = 0x83),
    # byte3 <- byte 0 (a0).
    assert out.tolist() == [0x83828180, 0x80FF0407]


def test_min_max_abs_neg_integers(elementwise):
    assert np.array_equal(
        elementwise("min.s32 %d, %a, %b;", np.int32, I32, SMALL), np.minimum(I32, SMALL)
    )
    assert np.array_equal(
        elementwise("max.u32 %d, %a, %b;", np.uint32, U32, SMALL.view(np.uint32)),
        np.maximum(U32, SMALL.view(np.uint32)),
    )
    assert np.array_equal(elementwise("abs.s32 %d, %a;", np.int32, I32), np.abs(I32))
    assert np.array_equal(elementwise("neg.s32 %d, %a;", np.int32, I32), -I32)


def test_float32_arithmetic_rounds_in_float32(elementwise):
    with np.errstate(all="ignore"):
        for body, expected in [
            ("add.rn.f32 %d, %a, %b;", F32 + G32),
            ("sub.f32 %d, %a, %b;", F32 - G32),
            ("mul.rn.f32 %d, %a, %b;", F32 * G32),
            ("div.rn.f32 %d, %a, %b;", F32 / G32),
            ("sqrt.rn.f32 %d, %a;", np.sqrt(F32)),
            ("rcp.rn.f32 %d, %a;", np.float32(1) / F32),
            ("neg.f32 %d, %a;", -F32),
            ("abs.f32 %d, %a;", np.abs(F32)),
        ]:
            out = elementwise(body, np.float32, F32, G32)
            np.testing.assert_array_equal(out, expected.astype(np.float32), err_msg=body)


def test_fma_rounds_once(elementwise):
    a = np.array([1 + 2**-23], np.float32)
    c = np.array([-(1 + 2**-22)], np.float32)
    fused = elementwise("fma.rn.f32 %d, %a, %a, %b;", np.float32, a, c)
    assert fused[0] == np.float32(2.0**-46)  # the unfused product would round this away
    unfused = elementwise("mul.rn.f32 %t0, %a, %a; add.rn.f32 %d, %t0, %b;", np.float32, a, c)
    assert unfused[0] == 0


def test_ftz_and_sat(elementwise):
    tiny = np.array([1e-40, -1e-40, 0.5, 2.0], np.float32)
    zero, one = np.zeros(4, np.float32), np.ones(4, np.float32)
    ftz = elementwise("mul.ftz.f32 %d, %a, %b;", np.float32, tiny, one)
    assert ftz.tolist() == [0.0, 0.0, 0.5, 2.0] and np.signbit(ftz[1])
    assert elementwise(
        "add.sat.f32 %d, %a, %b;", np.float32, np.array([-1, 0.25, 3, np.nan], np.float32), zero
    ).tolist() == [0.0, 0.25, 1.0, 0.0]


def test_float_min_max_nan_handling(elementwise):
    a = np.array([np.nan, 1.0, np.nan, -0.0], np.float32)
    b = np.array([2.0, np.nan, np.nan, 0.0], np.float32)
    out = elementwise("min.f32 %d, %a, %b;", np.float32, a, b)
    assert out[0] == 2.0 and out[1] == 1.0 and np.isnan(out[2])
    out = elementwise("max.NaN.f32 %d, %a, %b;", np.float32, a, b)
    assert np.isnan(out[:3]).all()


def test_transcendental_approximations(elementwise):
    x = np.linspace(-3, 3, 16).astype(np.float32)
    for body, reference in [
        ("ex2.approx.ftz.f32 %d, %a;", np.exp2(x)),
        ("sin.approx.f32 %d, %a;", np.sin(x)),
        ("cos.approx.f32 %d, %a;", np.cos(x)),
        ("tanh.approx.f32 %d, %a;", np.tanh(x)),
    ]:
        np.testing.assert_allclose(
            elementwise(body, np.float32, x), reference, rtol=1e-6, atol=1e-7, err_msg=body
        )
    positive = np.abs(x) + 0.5
    np.testing.assert_allclose(
        elementwise("lg2.approx.f32 %d, %a;", np.float32, positive), np.log2(positive), rtol=1e-6
    )
    np.testing.assert_allclose(
        elementwise("rsqrt.approx.f32 %d, %a;", np.float32, positive),
        1 / np.sqrt(positive),
        rtol=1e-6,
    )


def test_float64(elementwise):
    a = np.array([1.5, -2.0, 1e200, 3.0], np.float64)
    b = np.array([0.25, 4.0, 1e10, -3.0], np.float64)
    np.testing.assert_array_equal(elementwise("add.f64 %d, %a, %b;", np.float64, a, b), a + b)
    np.testing.assert_array_equal(elementwise("div.rn.f64 %d, %a, %b;", np.float64, a, b), a / b)
    fused = [float(Fraction(x) * Fraction(y) + Fraction(x)) for x, y in zip(a, b, strict=True)]
    assert elementwise("fma.rn.f64 %d, %a, %b, %a;", np.float64, a, b).tolist() == fused
    assert fused[2] != 1e200 * 1e10 + 1e200  # one rounding, not two


def test_fma_f64_is_fused():
    # (1 + 2**-27)**2 - 1 = 2**-26 + 2**-54 exactly; unfused, the square rounds to 1 + 2**-26.
    a = np.array([1 + 2.0**-27, 3.0, 1e300, -(2.0**-600)])
    b = np.array([1 + 2.0**-27, 1 / 3, 1e10, 2.0**-500])
    c = np.array([-1.0, -1.0, -1e308, 2.0**-1074])
    got = rounding.fma_f64_rn(a, b, c)
    exact = [Fraction(x) * Fraction(y) + Fraction(z) for x, y, z in zip(a, b, c, strict=True)]
    assert got[0] == 2.0**-26 + 2.0**-54
    assert got[2] == np.inf
    assert got.tolist()[:2] + got.tolist()[3:] == [float(exact[i]) for i in (0, 1, 3)]


SETP_CASES = {
    "eq": [False, False, True, False],
    "ne": [True, False, False, False],
    "lt": [True, False, False, False],
    "ge": [False, False, True, False],
    "equ": [False, True, True, True],
    "neu": [True, True, False, True],
    "ltu": [True, True, False, True],
    "gtu": [False, True, False, True],
    "num": [True, False, True, False],
    "nan": [False, True, False, True],
}


@pytest.mark.parametrize("comparison", sorted(SETP_CASES))
def test_setp_float_ordered_and_unordered(elementwise, comparison):
    a = np.array([1.0, np.nan, 2.0, 1.0], np.float32)
    b = np.array([2.0, 1.0, 2.0, np.nan], np.float32)
    body = f"setp.{comparison}.f32 %p, %a, %b; selp.u32 %d, 1, 0, %p;"
    assert elementwise(body, np.uint32, a, b).astype(bool).tolist() == SETP_CASES[comparison]


def test_setp_integer_signed_unsigned_and_combined(elementwise):
    a = np.array([-1, 1, 5, 5], np.int32)
    b = np.array([1, -1, 5, 6], np.int32)
    body = "setp.lt.s32 %p, %a, %b; selp.u32 %d, 1, 0, %p;"
    assert elementwise(body, np.uint32, a, b).tolist() == [1, 0, 0, 1]
    body = "setp.lo.u32 %p, %a, %b; selp.u32 %d, 1, 0, %p;"
    assert elementwise(body, np.uint32, a, b).tolist() == [0, 1, 0, 1]
    body = "setp.eq.s32 %q, %a, 5; setp.ne.and.s32 %p|%q, %a, %b, %q; selp.u32 %d, 1, 0, %q;"
    assert elementwise(body, np.uint32, a, b).tolist() == [1, 1, 1, 0]


def test_selp_and_predicated_mov(elementwise):
    a = np.arange(8, dtype=np.int32)
    body = "mov.u32 %d, 100; setp.gt.s32 %p, %a, 3; @%p mov.u32 %d, %a; @!%p add.s32 %d, %d, %a;"
    assert elementwise(body, np.int32, a).tolist() == [100, 101, 102, 103, 4, 5, 6, 7]


def test_cvt_float_to_int_roundings_and_saturation(elementwise):
    x = np.array([2.5, -2.5, 1.7, -1.7, 3e9, -3e9, np.nan, 0.5], np.float32)
    assert elementwise("cvt.rni.s32.f32 %d, %a;", np.int32, x).tolist() == [
        2,
        -2,
        2,
        -2,
        2**31 - 1,
        -(2**31),
        0,
        0,
    ]
    assert elementwise("cvt.rzi.s32.f32 %d, %a;", np.int32, x).tolist() == [
        2,
        -2,
        1,
        -1,
        2**31 - 1,
        -(2**31),
        0,
        0,
    ]
    assert elementwise("cvt.rmi.s32.f32 %d, %a;", np.int32, x).tolist()[:4] == [2, -3, 1, -2]
    assert elementwise("cvt.rpi.u32.f32 %d, %a;", np.uint32, x).tolist()[:6] == [
        3,
        0,
        2,
        0,
        3000000000,
        0,
    ]


def test_cvt_integer_widths(elementwise):
    x = np.array([-1, 255, -129, 70000], np.int32)
    assert elementwise("cvt.u16.u32 %t0, %a; cvt.u32.u16 %d, %t0;", np.uint32, x).tolist() == [
        0xFFFF,
        255,
        0xFF7F,
        70000 & 0xFFFF,
    ]
    assert elementwise("cvt.s64.s32 %d, %a;", np.int64, x).tolist() == [-1, 255, -129, 70000]
    assert elementwise("cvt.u64.u32 %d, %a;", np.uint64, x).tolist() == [
        2**32 - 1,
        255,
        2**32 - 129,
        70000,
    ]
    assert elementwise("cvt.sat.s8.s32 %t0, %a; cvt.s32.s8 %d, %t0;", np.int32, x).tolist() == [
        -1,
        127,
        -128,
        127,
    ]


def test_cvt_half_and_bfloat16(elementwise):
    x = np.array([1.0, 0.1, -65504.0, 60000.3, 3.140625, 1e-8, -0.0, 2.0**-24], np.float32)
    half = elementwise("cvt.rn.f16.f32 %d, %a;", np.uint16, x)
    np.testing.assert_array_equal(half.view(np.float16), x.astype(np.float16))
    back = elementwise("cvt.f32.f16 %d, %a;", np.float32, x.astype(np.float16).view(np.uint16))
    np.testing.assert_array_equal(back, x.astype(np.float16).astype(np.float32))
    bf = elementwise("cvt.rn.bf16.f32 %d, %a;", np.uint16, x)
    assert bf.tolist()[:2] == [0x3F80, 0x3DCD]  # 0.1 = 0x3DCCCCCD rounds up to 0x3DCD
    widened = elementwise("cvt.f32.bf16 %d, %a;", np.float32, bf)
    np.testing.assert_allclose(widened, x, rtol=2**-8)


def test_cvt_pack_f16x2_puts_first_source_high(elementwise):
    a = np.array([1.0, -2.0], np.float32)
    b = np.array([0.5, 3.0], np.float32)
    out = elementwise("cvt.rn.f16x2.f32 %d, %a, %b;", np.uint32, a, b)
    halves = out.view(np.float16).reshape(-1, 2)
    assert halves.tolist() == [[0.5, 1.0], [3.0, -2.0]]


def test_int_to_float_and_round_to_integral(elementwise):
    x = np.array([16777217, -3, 7, 2**31 - 1], np.int32)
    np.testing.assert_array_equal(
        elementwise("cvt.rn.f32.s32 %d, %a;", np.float32, x), x.astype(np.float32)
    )
    y = np.array([2.5, 3.5, -0.5, 1.2], np.float32)
    assert elementwise("cvt.rni.f32.f32 %d, %a;", np.float32, y).tolist() == [2, 4, -0.0, 1]


def test_mov_pack_unpack_and_immediates(elementwise):
    x = np.array([0x11223344, 0x55667788], np.uint32)
    out = elementwise(
        "mov.b64 %w0, {%a, %a}; mov.b64 {%t0, %t1}, %w0; mov.b64 %w1, {%t1, %t0};"
        "add.s64 %d, %w1, 0;",
        np.uint64,
        x,
    )
    assert out.tolist() == [0x1122334411223344, 0x5566778855667788]
    out = elementwise("mov.f32 %d, 0f3FC00000;", np.float32, x)
    assert out.tolist() == [1.5, 1.5]


def test_copysign_and_testp(elementwise):
    a = np.array([-1.0, 1.0, -0.0, 2.0], np.float32)
    b = np.array([3.0, -3.0, 5.0, -0.0], np.float32)
    assert elementwise("copysign.f32 %d, %a, %b;", np.float32, a, b).tolist() == [
        -3.0,
        3.0,
        -5.0,
        0.0,
    ]
    x = np.array([1.0, np.inf, np.nan, 1e-40], np.float32)
    body = "testp.finite.f32 %p, %a; selp.u32 %d, 1, 0, %p;"
    assert elementwise(body, np.uint32, x).tolist() == [1, 0, 0, 1]
    body = "testp.subnormal.f32 %p, %a; selp.u32 %d, 1, 0, %p;"
    assert elementwise(body, np.uint32, x).tolist() == [0, 0, 0, 1]


def test_half_precision_arithmetic_and_packed(elementwise):
    a = np.array([1.5, -2.0, 0.1, 300.0], np.float16)
    b = np.array([0.25, 3.0, 0.2, 100.0], np.float16)
    out = elementwise("add.rn.f16 %d, %a, %b;", np.uint16, a.view(np.uint16), b.view(np.uint16))
    np.testing.assert_array_equal(out.view(np.float16), a + b)
    pa, pb = a.view(np.uint32), b.view(np.uint32)
    out = elementwise("mul.rn.f16x2 %d, %a, %b;", np.uint32, pa, pb)
    np.testing.assert_array_equal(out.view(np.float16), a * b)


def test_lop3_truth_table(elementwise):
    a = np.array([0xF0F0F0F0], np.uint32)
    b = np.array([0xCCCCCCCC], np.uint32)
    c = np.array([0xAAAAAAAA], np.uint32)
    assert (
        elementwise("lop3.b32 %d, %a, %b, %c, 0x96;", np.uint32, a, b, c)[0] == a[0] ^ b[0] ^ c[0]
    )
    assert elementwise("lop3.b32 %d, %a, %b, %c, 0xE8;", np.uint32, a, b, c)[0] == (
        (a[0] & b[0]) | (a[0] & c[0]) | (b[0] & c[0])
    )


def test_funnel_shifts(elementwise):
    # libdevice's sinf/cosf range reduction uses shf.l.wrap.b32.
    low = np.array([0x89ABCDEF, 0xFFFFFFFF, 0, 0x80000001, 1, 0x12345678], np.uint32)
    high = np.array([0x01234567, 0, 0xFFFFFFFF, 0x7FFFFFFE, 2, 0x9ABCDEF0], np.uint32)
    counts = np.array([4, 35, 0, 31, 32, 40], np.uint32)
    joined = [(int(h) << 32) | int(lo) for lo, h in zip(low, high, strict=True)]
    for mode in ("wrap", "clamp"):
        shift = [int(n) % 32 if mode == "wrap" else min(int(n), 32) for n in counts]
        left = elementwise(f"shf.l.{mode}.b32 %d, %a, %b, %c;", np.uint32, low, high, counts)
        expected = [((j << n) >> 32) & 0xFFFFFFFF for j, n in zip(joined, shift, strict=True)]
        assert left.tolist() == expected, mode
        right = elementwise(f"shf.r.{mode}.b32 %d, %a, %b, %c;", np.uint32, low, high, counts)
        expected = [(j >> n) & 0xFFFFFFFF for j, n in zip(joined, shift, strict=True)]
        assert right.tolist() == expected, mode
