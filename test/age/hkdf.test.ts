/**
 * HKDF-SHA-256 as two HMACs (src/age/hkdf.ts) against node:crypto's own
 * `hkdfSync`, for every length it takes and salts of every kind.
 */
import assert from "node:assert/strict"
import { hkdfSync } from "node:crypto"
import { test } from "node:test"

import fc from "fast-check"

import { HKDF_BLOCK_BYTES, hkdfSha256 } from "../../src/age/hkdf.js"

const bytes = (max: number): fc.Arbitrary<Uint8Array> =>
    fc.uint8Array({ minLength: 0, maxLength: max })

test("hkdfSha256 gives what hkdfSync gives", () => {
    fc.assert(fc.property(
        bytes(80), bytes(130), bytes(70), fc.integer({ min: 1, max: HKDF_BLOCK_BYTES }),
        (secret, salt, info, length) => {
            const expected = Buffer.from(hkdfSync("sha256", secret, salt, info, length))
            assert.deepEqual(hkdfSha256(secret, salt, info, length), expected)
        }), { numRuns: 500 })
})

test("an empty salt is a block of zeros, as RFC 5869 says (its test case 3)", () => {
    const secret = Buffer.alloc(22, 0x0b)
    const okm = hkdfSha256(secret, new Uint8Array(0), new Uint8Array(0), 32)
    assert.equal(okm.toString("hex"),
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d")
    assert.deepEqual(hkdfSha256(secret, new Uint8Array(32), new Uint8Array(0), 32), okm)
})

test("a length past one block, or not a whole number of bytes, is refused", () => {
    const secret = new Uint8Array(32)
    for (const length of [0, -1, 33, 64, 1.5, Number.NaN]) {
        assert.throws(() => hkdfSha256(secret, secret, secret, length), RangeError)
    }
})
