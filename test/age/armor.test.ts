/**
 * The armor decoder reads runs of full lines a block at a time. These
 * properties check that it accepts and rejects exactly what a plain
 * line-by-line reading of the format does, on valid files (LF and CRLF,
 * around the block size) and on files with one byte changed, inserted or
 * removed anywhere between the BEGIN and END lines.
 */
import assert from "node:assert/strict"
import { test } from "node:test"
import fc from "fast-check"

import { decodeArmor } from "../../src/age/armor.js"
import { FormatProblem } from "../../src/age/failure.js"
import { ByteReader } from "../../src/age/reader.js"

const BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
const END = "-----END AGE ENCRYPTED FILE-----"

/** Armors `data` the way age writes it, with `eol` line ends. */
function armorOf(data: Uint8Array, eol: string): string {
    const text = Buffer.from(data).toString("base64")
    const lines = [BEGIN]
    for (let i = 0; i < text.length; i += 64) lines.push(text.slice(i, i + 64))
    lines.push(END)
    return `${lines.join(eol)}${eol}`
}

/**
 * The format read one line at a time, straight from its definition: BEGIN,
 * lines of canonical padded base64 of which all but the last hold 48 bytes,
 * END. `undefined` for anything else. (Whitespace around the armor is not
 * varied here.)
 */
function referenceDecode(text: string): Buffer | undefined {
    const lines = text.split("\n").map((l) => l.endsWith("\r") ? l.slice(0, -1) : l)
    if (lines.pop() !== "" || lines[0] !== BEGIN || lines[lines.length - 1] !== END) {
        return undefined
    }

    const body = lines.slice(1, -1)
    const pieces: Buffer[] = []
    for (const [index, line] of body.entries()) {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(line) || line.length === 0 || line.length > 64
            || line.length % 4 !== 0) return undefined
        const bytes = Buffer.from(line, "base64")
        if (bytes.toString("base64") !== line) return undefined
        if (bytes.length < 48 && index !== body.length - 1) return undefined
        pieces.push(bytes)
    }
    return Buffer.concat(pieces)
}

/** What our decoder makes of `text`: the bytes, or `undefined` for an armor error. */
async function ourDecode(text: string, pieceBytes: number): Promise<Buffer | undefined> {
    const bytes = Buffer.from(text, "latin1")
    const pieces: Uint8Array[] = []
    for (let i = 0; i < bytes.length; i += pieceBytes) {
        pieces.push(bytes.subarray(i, i + pieceBytes))
    }

    const out: Uint8Array[] = []
    try {
        for await (const piece of decodeArmor(new ByteReader(pieces))) out.push(piece)
    } catch (err) {
        if (err instanceof FormatProblem && err.kind === "armor") return undefined
        throw err
    }
    return Buffer.concat(out)
}

/** Bytes worth trying as a replacement: base64's own, padding, URL-safe cousins, line ends. */
const TRICKY = Array.from(Buffer.from("=-_+/\r\n \tAQgw09\u0000\u00ff", "latin1"))

const data = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max })

test("armor: valid files decode to their bytes, LF and CRLF, any read size", async () => {
    await fc.assert(fc.asyncProperty(
        data(100_000), fc.constantFrom("\n", "\r\n"), fc.integer({ min: 1, max: 300_000 }),
        async (bytes, eol, pieceBytes) => {
            const decoded = await ourDecode(armorOf(bytes, eol), pieceBytes)
            assert.deepEqual(decoded, Buffer.from(bytes))
        }), { numRuns: 60 })

    const large = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 31) % 256)
    assert.deepEqual(await ourDecode(armorOf(large, "\n"), 65536), Buffer.from(large))
})

test("armor: one byte changed, inserted or removed: the same verdict as line by line", async () => {
    await fc.assert(fc.asyncProperty(
        data(20_000),
        fc.constantFrom("\n", "\r\n"),
        fc.constantFrom("change", "insert", "remove"),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        fc.oneof(fc.constantFrom(...TRICKY), fc.integer({ min: 0, max: 255 })),
        fc.integer({ min: 1, max: 70_000 }),
        async (bytes, eol, operation, where, byte, pieceBytes) => {
            const text = armorOf(bytes, eol)
            const first = BEGIN.length + eol.length
            const last = text.length - END.length - eol.length
            const at = first + Math.floor(where * (last - first))
            const replacement = String.fromCharCode(byte)
            const mutated = operation === "change"
                ? text.slice(0, at) + replacement + text.slice(at + 1)
                : operation === "insert"
                    ? text.slice(0, at) + replacement + text.slice(at)
                    : text.slice(0, at) + text.slice(at + 1)

            assert.deepEqual(await ourDecode(mutated, pieceBytes), referenceDecode(mutated))
        }), { numRuns: 400 })
})
