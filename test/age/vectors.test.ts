/**
 * The C2SP age test vectors (npm cctv-age) through our decrypt path: in memory
 * and streamed into a file. Every vector must give its expected result, and a
 * failure must release no plaintext at all.
 */
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, test } from "node:test"
import { inflateSync } from "node:zlib"

import * as vectors from "cctv-age"

import {
    DecryptError, decrypt, decryptToFile, loadIdentities, passphraseIdentities,
} from "../../src/age/index.js"
import type { DecryptFailureKind, IdentitySet } from "../../src/age/index.js"

/** How many vectors cctv-age 0.2.0 holds. */
const VECTOR_COUNT = 143

/** The failure kinds each expectation of the vectors may surface as. */
const EXPECTED_KINDS: Record<string, DecryptFailureKind[]> = {
    "no match": ["no-match"],
    "HMAC failure": ["hmac"],
    "header failure": ["header"],
    "payload failure": ["payload", "truncated"],
    "armor failure": ["armor"],
}

/**
 * Vectors whose failure we report under a neighbouring kind, and why:
 * - a file cut short before the payload nonce is reported as truncated;
 * - garbage before the armor's BEGIN line means the file is not recognized as
 *   armored at all, so it fails as a binary file without the age version line.
 */
const ALIASES: Record<string, DecryptFailureKind> = {
    stream_no_nonce: "truncated",
    stream_short_nonce: "truncated",
    armor_garbage_leading: "header",
}

interface Vector {
    name: string
    expect: string
    payload?: string
    identities: string[]
    passphrases: string[]
    file: Uint8Array
}

function parseVector(name: string, bytes: Uint8Array): Vector {
    const buffer = Buffer.from(bytes)
    const split = buffer.indexOf("\n\n")
    const fields = buffer.subarray(0, split).toString("utf8").split("\n")
    const values = (key: string): string[] => fields
        .filter((l) => l.startsWith(`${key}: `))
        .map((l) => l.slice(key.length + 2))

    let file: Uint8Array = buffer.subarray(split + 2)
    if (values("compressed")[0] === "zlib") file = inflateSync(file)
    return {
        name,
        expect: values("expect")[0] ?? "",
        payload: values("payload")[0],
        identities: values("identity"),
        passphrases: values("passphrase"),
        file,
    }
}

const work = mkdtempSync(join(tmpdir(), "homeage-vectors-"))
after(() => {
    rmSync(work, { recursive: true, force: true })
})

async function identitiesFor(vector: Vector): Promise<IdentitySet> {
    if (vector.identities.length === 0) return passphraseIdentities(vector.passphrases)

    const file = join(work, `${vector.name}.key`)
    writeFileSync(file, vector.identities.join("\n") + "\n", { mode: 0o600 })
    const passphrases = [...vector.passphrases]
    return loadIdentities([file], {
        warn: (m) => assert.fail(`unexpected warning: ${m}`),
        passphraseFiles: true,
        passphrase: () => Promise.resolve(passphrases.shift()),
    })
}

function sha256(bytes: Uint8Array): string {
    return createHash("sha256").update(bytes).digest("hex")
}

function checkFailure(vector: Vector, err: unknown): void {
    assert.ok(err instanceof DecryptError, `${vector.name}: ${String(err)}`)
    const allowed = [...EXPECTED_KINDS[vector.expect] ?? []]
    const alias = ALIASES[vector.name]
    if (alias !== undefined) allowed.push(alias)
    assert.ok(allowed.includes(err.kind),
        `${vector.name}: expected ${vector.expect}, got ${err.kind}: ${err.message}`)
    assert.ok(err.message.startsWith(`vector ${vector.name}: `), err.message)
}

const names = Object.keys(vectors).filter((n) => n !== "default").sort()
let ran = 0

for (const name of names) {
    const bytes = (vectors as Record<string, Uint8Array>)[name]!
    const vector = parseVector(name, bytes)

    test(`C2SP vector ${name}: ${vector.expect}`, async () => {
        const what = `vector ${name}`
        const out = join(work, `${name}.out`)

        if (vector.expect === "success") {
            const plaintext = await decrypt(vector.file, await identitiesFor(vector), what)
            assert.equal(sha256(plaintext), vector.payload)

            await decryptToFile([vector.file], out, 0o600, await identitiesFor(vector), what)
            assert.equal(sha256(readFileSync(out)), vector.payload)
            assert.equal(statSync(out).mode & 0o777, 0o600)
            rmSync(out)
        } else {
            await assert.rejects(
                decrypt(vector.file, await identitiesFor(vector), what),
                (err) => {
                    checkFailure(vector, err)
                    return true
                })
            await assert.rejects(
                decryptToFile([vector.file], out, 0o600, await identitiesFor(vector), what),
                (err) => {
                    checkFailure(vector, err)
                    return true
                })
        }

        const leftovers = readdirSync(work).filter((f) => !f.endsWith(".key"))
        assert.deepEqual(leftovers, [], "no plaintext file or temp file may remain")
        ran++
    })
}

test("all 143 C2SP vectors ran", () => {
    assert.equal(names.length, VECTOR_COUNT)
    assert.equal(ran, VECTOR_COUNT)
})
