"""Carry chains (``add.cc addc sub.cc subc mad.cc madc``) with a per-thread carry flag: multi-word
arithmetic built from them must equal Python's big integers, thread by thread."""

import numpy as np

MASK64 = (1 << 64) - 1
RNG = np.random.default_rng(3)
U64 = np.concatenate(
    [
        np.array([0, 1, MASK64, MASK64 - 1, 1 << 63, (1 << 32) - 1, 1 << 32, 12345], np.uint64),
        RNG.integers(0, 2**64, 24, dtype=np.uint64, endpoint=False),
    ]
)
V64 = np.concatenate(
    [
        np.array([0, MASK64, 1, MASK64, 1 << 63, 1, (1 << 32) - 1, 99999], np.uint64),
        RNG.integers(0, 2**64, 24, dtype=np.uint64, endpoint=False),
    ]
)
U32 = (U64 & np.uint64(0xFFFFFFFF)).astype(np.uint32)
V32 = (V64 >> np.uint64(32)).astype(np.uint32)
W32 = (V64 & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def test_64bit_add_sub_from_32bit_limbs(elementwise):
    unpack = "mov.b64 {%t0, %t1}, %a; mov.b64 {%t2, %t3}, %b;"
    add = unpack + "add.cc.u32 %t4, %t0, %t2; addc.u32 %t5, %t1, %t3; mov.b64 %d, {%t4, %t5};"
    expected = [(int(x) + int(y)) & MASK64 for x, y in zip(U64, V64, strict=True)]
    assert elementwise(add, np.uint64, U64, V64).tolist() == expected
    sub = unpack + "sub.cc.u32 %t4, %t0, %t2; subc.u32 %t5, %t1, %t3; mov.b64 %d, {%t4, %t5};"
    expected = [(int(x) - int(y)) & MASK64 for x, y in zip(U64, V64, strict=True)]
    assert elementwise(sub, np.uint64, U64, V64).tolist() == expected
    signed = unpack + "add.cc.s32 %t4, %t0, %t2; addc.s32 %t5, %t1, %t3; mov.b64 %d, {%t4, %t5};"
    expected = [(int(x) + int(y)) & MASK64 for x, y in zip(U64, V64, strict=True)]
    assert elementwise(signed, np.uint64, U64, V64).tolist() == expected


def test_128bit_add_and_borrow_with_u64_limbs(elementwise):
    # (a:a) + (b:c) over two 64-bit limbs, then the carry out of the top limb.
    body = "add.cc.u64 %w0, %a, %b; addc.cc.u64 %w1, %a, %c; addc.u64 %d, 0, 0;"
    c = V64[::-1].copy()
    expected = [
        ((int(x) << 64 | int(x)) + (int(z) << 64 | int(y))) >> 128
        for x, y, z in zip(U64, V64, c, strict=True)
    ]
    assert elementwise(body, np.uint64, U64, V64, c).tolist() == expected
    body = "add.cc.u64 %w0, %a, %b; addc.cc.u64 %d, %a, %c;"
    expected = [
        (((int(x) << 64 | int(x)) + (int(z) << 64 | int(y))) >> 64) & MASK64
        for x, y, z in zip(U64, V64, c, strict=True)
    ]
    assert elementwise(body, np.uint64, U64, V64, c).tolist() == expected
    body = "sub.cc.u64 %w0, %a, %b; subc.cc.u64 %w1, 0, 0; subc.u64 %d, 0, 0;"
    expected = [MASK64 if x < y else 0 for x, y in zip(U64, V64, strict=True)]
    assert elementwise(body, np.uint64, U64, V64).tolist() == expected


def test_mad_cc_wide_products(elementwise):
    # a*b + c as a 64-bit value from 32-bit mad.lo.cc / madc.hi.
    body = "mad.lo.cc.u32 %t0, %a, %b, %c; madc.hi.u32 %t1, %a, %b, 0; mov.b64 %d, {%t0, %t1};"
    expected = [int(x) * int(y) + int(z) for x, y, z in zip(U32, V32, W32, strict=True)]
    assert elementwise(body, np.uint64, U32, V32, W32).tolist() == expected
    # hi half first: mad.hi.cc then madc.lo.cc then addc picks the carry (u64 limbs)
    body = "mad.hi.cc.u64 %w0, %a, %b, %a; madc.lo.cc.u64 %w1, %a, %b, %b; addc.u64 %d, 0, 0;"
    expected = []
    for x, y in zip(U64, V64, strict=True):
        product = int(x) * int(y)
        high = (product >> 64) + int(x)
        carry = high >> 64
        low = (product & MASK64) + int(y) + carry
        expected.append(low >> 64)
    assert elementwise(body, np.uint64, U64, V64).tolist() == expected


def test_signed_madc_hi(elementwise):
    a, b = U32.view(np.int32), V32.view(np.int32)
    body = "add.cc.u32 %t0, %c, %c; madc.hi.s32 %d, %a, %b, 0;"
    expected = [
        ((int(x) * int(y) >> 32) + ((2 * int(z)) >> 32)) & 0xFFFFFFFF
        for x, y, z in zip(a, b, W32, strict=True)
    ]
    assert elementwise(body, np.uint32, a, b, W32).tolist() == expected
