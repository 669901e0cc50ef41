/**
 * The payload of files of many chunks: the exact bytes of Go age for sizes
 * around every chunk boundary and across the 1 MiB reads of an input file,
 * armored files in memory and from a stream in odd pieces, and damaged files
 * (a flipped bit, truncation, an empty last chunk, data after the last
 * chunk), each failing with the message naming the first damaged chunk while
 * the output keeps its content and no temp file is left beside it.
 */
import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import { readFileSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { CHUNK_BYTES, SEALED_CHUNK_BYTES, sealChunk } from "../../src/age/chunks.js"
import { encodeHeader } from "../../src/age/format.js"
import {
    DecryptError, decrypt, decryptToFile, loadIdentities, parseRecipient,
} from "../../src/age/index.js"
import type { IdentitySet, Recipient } from "../../src/age/index.js"
import { payloadKey } from "../../src/age/stream.js"
import { homeage, must, tempFolder } from "./helpers.js"

/** Bytes an input file is read in at once (1 MiB), as reader.ts reads it. */
const FILE_READ_BYTES = 1024 * 1024

/** Plaintext bytes of the file decrypted by the CLI (16 MiB, five chunks and nine bytes). */
const LARGE_BYTES = 16 * 1024 * 1024 + 5 * CHUNK_BYTES + 9

/** Bytes of a file's payload nonce. */
const NONCE_BYTES = 16

/** Bytes of the pieces a stream is cut into: no multiple of a chunk or of a read. */
const ODD_PIECE_BYTES = 40_001

const CORRUPT = "the file is corrupted or was tampered with; restore it from a good copy"
const TRUNCATED = "the file is truncated; restore it from a good copy"

const folder = tempFolder("payload")
const keyFile = join(folder.dir, "key.txt")
let recipientText = ""
let recipient: Recipient
let identities: IdentitySet
let fileCount = 0

before(async () => {
    await must("age-keygen", ["-o", keyFile])
    recipientText = (await must("age-keygen", ["-y", keyFile])).toString().trim()
    recipient = parseRecipient(recipientText, "test")
    identities = await loadIdentities([keyFile], { warn: () => undefined })
})

after(() => {
    folder.remove()
})

/** A new path in the test folder. */
function newPath(name: string): string {
    fileCount++
    return join(folder.dir, `${fileCount}-${name}`)
}

/** Encrypts `plaintext` with Go age; returns the file's path. */
async function goEncrypt(plaintext: Uint8Array, armor = false): Promise<string> {
    const plain = newPath("plain")
    const file = newPath(armor ? "file.asc" : "file.age")
    writeFileSync(plain, plaintext)
    await must("age", [...(armor ? ["-a"] : []), "-r", recipientText, "-o", file, plain])
    return file
}

/** Go age's plaintext of `file` (from its standard output: it makes no file for nothing). */
function goDecrypt(file: string): Promise<Buffer> {
    return must("age", ["-d", "-i", keyFile, file])
}

/** The bytes of chunk `index` in crafted files: different in every chunk. */
function chunkText(index: number, size: number): Buffer {
    return Buffer.alloc(size, index % 251)
}

/**
 * An age file to `recipient` made chunk by chunk, each chunk of the given
 * plaintext size and sealed as the last chunk or not: files Go age would never
 * write (an empty last chunk, a last chunk in the middle).
 */
async function craft(chunks: { size: number, last: boolean }[]): Promise<Buffer> {
    const fileKey = randomBytes(16)
    const header = encodeHeader(await recipient.wrapFileKey(fileKey), fileKey)
    const nonce = randomBytes(NONCE_BYTES)
    const key = payloadKey(fileKey, nonce)
    const sealed = chunks.map((c, i) => sealChunk(key, i, c.last, chunkText(i, c.size)))
    return Buffer.concat([header, nonce, ...sealed])
}

/** `count` full chunks, the last of them sealed as the last. */
function fullChunks(count: number): { size: number, last: boolean }[] {
    return Array.from({ length: count }, (_, i) => ({ size: CHUNK_BYTES, last: i === count - 1 }))
}

/** Where chunk `index`'s sealed bytes start in `file`. */
function chunkOffset(file: Buffer, index: number): number {
    const macLine = file.indexOf("\n---")
    const headerEnd = file.indexOf("\n", macLine + 1) + 1
    return headerEnd + NONCE_BYTES + index * SEALED_CHUNK_BYTES
}

/** `file` with one bit flipped inside each of the chunks `indexes`. */
function flipped(file: Buffer, indexes: number[]): Buffer {
    const copy = Buffer.from(file)
    for (const index of indexes) {
        const at = chunkOffset(copy, index) + 100
        copy[at] = (copy[at] ?? 0) ^ 0x10
    }
    return copy
}

/**
 * Decrypts `file` into an existing output file and expects `message`; the
 * output keeps its content and no other file appears beside it.
 */
async function expectFailure(file: Buffer, message: string): Promise<void> {
    const input = `${newPath("damaged")}.age`
    writeFileSync(input, file)
    const outFolder = tempFolder("payload-out")
    try {
        const out = join(outFolder.dir, "out")
        writeFileSync(out, "before\n")

        await assert.rejects(decryptToFile(input, out, 0o600, identities, "big.age"),
            (err: unknown) => {
                assert.ok(err instanceof DecryptError, String(err))
                assert.equal(err.message, message)
                return true
            })

        assert.equal(readFileSync(out, "utf8"), "before\n")
        assert.deepEqual(readdirSync(outFolder.dir), ["out"])
    } finally {
        outFolder.remove()
    }
}

test("exact bytes as Go age, around every chunk boundary and across 1 MiB reads", async () => {
    const sizes = [
        0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES,
        2 * CHUNK_BYTES + 1, 3 * CHUNK_BYTES, 4 * CHUNK_BYTES - 1, 4 * CHUNK_BYTES,
        5 * CHUNK_BYTES + 1, 7 * CHUNK_BYTES + 5, 16 * CHUNK_BYTES, 40 * CHUNK_BYTES,
        41 * CHUNK_BYTES + 3,
    ]
    for (const size of sizes) {
        const plaintext = randomBytes(size)
        const file = await goEncrypt(plaintext)
        const out = newPath("out")

        await decryptToFile(file, out, 0o600, identities, file)

        assert.deepEqual(readFileSync(out), plaintext, `${size} bytes`)
        assert.deepEqual(readFileSync(out), await goDecrypt(file), `${size} bytes, as Go age`)
    }
})

test("armored files, in memory and from a stream in odd pieces", async () => {
    const plaintext = randomBytes(9 * CHUNK_BYTES + 77)
    const armored = await goEncrypt(plaintext, true)
    const binary = readFileSync(await goEncrypt(plaintext))

    const out = newPath("out")
    await decryptToFile(armored, out, 0o600, identities, armored)
    assert.deepEqual(readFileSync(out), plaintext)
    assert.deepEqual(readFileSync(out), await goDecrypt(armored))

    assert.deepEqual(Buffer.from(await decrypt(binary, identities, "in memory")), plaintext)
    const armoredBytes = readFileSync(armored)
    assert.deepEqual(Buffer.from(await decrypt(armoredBytes, identities, "in memory")), plaintext)

    for (const bytes of [binary, armoredBytes]) {
        const pieces: Uint8Array[] = []
        for (let at = 0; at < bytes.length; at += ODD_PIECE_BYTES) {
            pieces.push(bytes.subarray(at, at + ODD_PIECE_BYTES))
        }
        const streamed = newPath("streamed")
        await decryptToFile(pieces, streamed, 0o600, identities, "standard input")
        assert.deepEqual(readFileSync(streamed), plaintext)
    }
})

test("a flipped bit: the first damaged chunk is named, also one split between two reads",
    async () => {
        // 21 chunks, so that one of them lies across the end of the first 1 MiB read.
        const plaintext = randomBytes(20 * CHUNK_BYTES + 500)
        const file = readFileSync(await goEncrypt(plaintext))
        const split = Math.floor((FILE_READ_BYTES - chunkOffset(file, 0)) / SEALED_CHUNK_BYTES)
        assert.ok(chunkOffset(file, split) < FILE_READ_BYTES)
        assert.ok(chunkOffset(file, split + 1) > FILE_READ_BYTES)

        const failed = (n: number): string => `big.age: ${CORRUPT}: payload chunk ${n} failed`
            + " authentication"
        for (const index of [0, 1, 6, split - 1, split, split + 1, 19]) {
            await expectFailure(flipped(file, [index]), failed(index + 1))
        }
        await expectFailure(flipped(file, [20]), `big.age: ${CORRUPT}: payload chunk 21 (the last)`
            + " failed authentication: it was modified or cut short")

        // Two damaged chunks: the first in the file is reported.
        await expectFailure(flipped(file, [2, 4]), failed(3))
        await expectFailure(flipped(file, [split, 20]), failed(split + 1))
    })

test("truncation at chunk boundaries", async () => {
    const file = readFileSync(await goEncrypt(randomBytes(20 * CHUNK_BYTES + 500)))
    for (const chunks of [1, 2, 4, 7, 8, 11, 16, 20]) {
        await expectFailure(file.subarray(0, chunkOffset(file, chunks)), `big.age: ${TRUNCATED}:`
            + ` the payload ends after chunk ${chunks} without its last chunk`)
    }
    await expectFailure(file.subarray(0, chunkOffset(file, 0)),
        `big.age: ${TRUNCATED}: the payload is missing`)
})

test("an empty last chunk, and data after the last chunk", async () => {
    const empty = await craft([...fullChunks(11).map((c) => ({ ...c, last: false })),
        { size: 0, last: true }])
    await expectFailure(empty, `big.age: ${CORRUPT}: the last chunk (chunk 12) is empty`)

    // A chunk sealed as the last, with more chunks after it: near the start, in the
    // middle, and just before the real last chunk.
    for (const lastAt of [0, 5, 10]) {
        const chunks = fullChunks(12).map((c, i) => ({ ...c, last: i === lastAt || i === 11 }))
        await expectFailure(await craft(chunks),
            `big.age: ${CORRUPT}: there is data after the last chunk (chunk ${lastAt + 1})`)
    }

    const valid = await craft(fullChunks(12))
    await expectFailure(Buffer.concat([valid, Buffer.from("x")]),
        `big.age: ${CORRUPT}: there is data after the last chunk (chunk 12)`)

    const out = newPath("out")
    writeFileSync(`${out}.age`, valid)
    await decryptToFile(`${out}.age`, out, 0o600, identities, "valid")
    const expected = Buffer.concat(Array.from({ length: 12 }, (_, i) => chunkText(i, CHUNK_BYTES)))
    assert.deepEqual(readFileSync(out), expected)
})

test("homeage decrypt of a large file: the same bytes as Go age, binary and armored", async () => {
    const plaintext = randomBytes(LARGE_BYTES)
    for (const armor of [false, true]) {
        const file = await goEncrypt(plaintext, armor)
        const out = newPath("cli-out")
        const result = await homeage(["decrypt", "-i", keyFile, "-o", out, file])
        assert.equal(result.code, 0, result.stderr)
        assert.equal(result.stderr, "")
        assert.deepEqual(readFileSync(out), plaintext)
        assert.deepEqual(readFileSync(out), await goDecrypt(file))
    }
})
