/**
 * The age layer's crypto runs through node:crypto (OpenSSL), not JavaScript:
 * these tests count the node:crypto calls a decryption makes (by swapping
 * node:crypto's exports for counting wrappers, which reach our modules'
 * imports through `syncBuiltinESMExports`), check that a CLI run loads no
 * JavaScript crypto package at all, and check the Edwards-to-Montgomery
 * mapping of ssh-ed25519 recipients against @noble/curves.
 */
import assert from "node:assert/strict"
import crypto from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { syncBuiltinESMExports } from "node:module"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { ed25519 } from "@noble/curves/ed25519.js"
import fc from "fast-check"

import {
    decrypt, decryptToFile, encrypt, loadIdentities, parseRecipient,
} from "../../src/age/index.js"
import { edwardsToMontgomery } from "../../src/age/ssh/edwards.js"
import { homeage, must, tempFolder } from "./helpers.js"

/** Plaintext of the test file: two full 64 KiB chunks and a partial third. */
const PLAINTEXT_BYTES = 2 * 64 * 1024 + 1000

/** Payload chunks of that plaintext. */
const CHUNKS = 3

const folder = tempFolder("fast-path")
after(() => {
    folder.remove()
})

const keyFile = join(folder.dir, "key.txt")
const sshKey = join(folder.dir, "id_ed25519")
const plaintext = new Uint8Array(PLAINTEXT_BYTES).map((_, i) => (i * 7 + 3) % 251)
const plainFile = join(folder.dir, "plain")
const binaryFile = join(folder.dir, "file.age")
const armoredFile = join(folder.dir, "file.asc")
const sshFile = join(folder.dir, "ssh.age")

before(async () => {
    await must("age-keygen", ["-o", keyFile])
    await must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", sshKey])
    const recipient = (await must("age-keygen", ["-y", keyFile])).toString().trim()
    writeFileSync(plainFile, plaintext)
    await must("age", ["-r", recipient, "-o", binaryFile, plainFile])
    await must("age", ["-a", "-r", recipient, "-o", armoredFile, plainFile])
    await must("age", ["-R", `${sshKey}.pub`, "-o", sshFile, plainFile])
})

/** The node:crypto functions counted, with the first argument where it names an algorithm. */
const COUNTED = [
    "createCipheriv", "createDecipheriv", "createHmac", "createPrivateKey", "createPublicKey",
    "diffieHellman", "hkdfSync",
] as const

type Counted = (typeof COUNTED)[number]

/**
 * Runs `body` with every {@link COUNTED} node:crypto function wrapped, and
 * returns how often each was called (ciphers per algorithm name:
 * `createDecipheriv chacha20-poly1305`).
 */
async function countCalls(body: () => Promise<void>): Promise<Map<string, number>> {
    const counts = new Map<string, number>()
    const exports = crypto as unknown as Record<Counted, (...args: unknown[]) => unknown>
    const originals = new Map(COUNTED.map((name) => [name, exports[name]]))
    for (const [name, original] of originals) {
        exports[name] = (...args: unknown[]): unknown => {
            const key = typeof args[0] === "string" ? `${name} ${args[0]}` : name
            counts.set(key, (counts.get(key) ?? 0) + 1)
            return original(...args)
        }
    }
    syncBuiltinESMExports()

    try {
        await body()
    } finally {
        for (const [name, original] of originals) exports[name] = original
        syncBuiltinESMExports()
    }
    return counts
}

test("X25519 decrypt: one Diffie-Hellman, no key import, every chunk by node:crypto", async () => {
    const identities = await loadIdentities([keyFile], { warn: () => undefined })

    for (const file of [binaryFile, armoredFile]) {
        let result: Uint8Array = new Uint8Array(0)
        const counts = await countCalls(async () => {
            result = await decrypt(readFileSync(file), identities, file)
        })

        assert.deepEqual(result, plaintext)
        assert.deepEqual(Object.fromEntries(counts), {
            "createDecipheriv chacha20-poly1305": 1 + CHUNKS,
            "createHmac sha256": 1,
            "createPublicKey": 1,
            "diffieHellman": 1,
            "hkdfSync sha256": 3,
        }, file)
    }
})

test("decrypting into a file goes through the same calls", async () => {
    const identities = await loadIdentities([keyFile], { warn: () => undefined })
    const out = join(folder.dir, "out")

    const counts = await countCalls(async () => {
        await decryptToFile(binaryFile, out, 0o600, identities, binaryFile)
    })

    assert.deepEqual(readFileSync(out), Buffer.from(plaintext))
    assert.equal(counts.get("createDecipheriv chacha20-poly1305"), 1 + CHUNKS)
    assert.equal(counts.get("diffieHellman"), 1)
    assert.equal(counts.get("createPrivateKey"), undefined)
})

test("ssh-ed25519 decrypt: two Diffie-Hellman operations, no key import", async () => {
    const identities = await loadIdentities([sshKey], { warn: () => undefined })

    let result: Uint8Array = new Uint8Array(0)
    const counts = await countCalls(async () => {
        result = await decrypt(readFileSync(sshFile), identities, sshFile)
    })

    assert.deepEqual(result, plaintext)
    assert.equal(counts.get("diffieHellman"), 2)
    assert.equal(counts.get("createDecipheriv chacha20-poly1305"), 1 + CHUNKS)
    assert.equal(counts.get("createPrivateKey"), undefined)
})

test("encrypt: the stanza and every chunk sealed by node:crypto", async () => {
    const recipient = (await must("age-keygen", ["-y", keyFile])).toString().trim()
    const recipients = [parseRecipient(recipient, "test")]

    let file: Uint8Array = new Uint8Array(0)
    const counts = await countCalls(async () => {
        file = await encrypt(plaintext, recipients)
    })

    assert.equal(counts.get("createCipheriv chacha20-poly1305"), 1 + CHUNKS)
    assert.equal(counts.get("diffieHellman"), 1)
    writeFileSync(join(folder.dir, "ours.age"), file)
    const back = await must("age", ["-d", "-i", keyFile, join(folder.dir, "ours.age")])
    assert.deepEqual(back, Buffer.from(plaintext))
})

test("homeage decrypt of X25519 and ssh-ed25519 files loads no JavaScript crypto", async () => {
    const log = join(folder.dir, "modules.log")
    const hook = join(folder.dir, "hook.mjs")
    const loader = 'import { appendFileSync } from "node:fs"\n'
        + "export async function load(url, context, next) {\n"
        + `    appendFileSync(${JSON.stringify(log)}, url + "\\n")\n`
        + "    return next(url, context)\n}\n"
    writeFileSync(hook, 'import { register } from "node:module"\n'
        + `register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(loader)}`)})\n`)

    const cases: [string, string][] = [
        [binaryFile, keyFile], [armoredFile, keyFile], [sshFile, sshKey],
    ]
    for (const [file, key] of cases) {
        writeFileSync(log, "")
        const out = join(folder.dir, "cli-out")
        const result = await homeage(["decrypt", "-i", key, "-o", out, file], {
            env: { NODE_OPTIONS: `--import ${hook}` },
        })
        assert.equal(result.code, 0, result.stderr)
        assert.deepEqual(readFileSync(out), Buffer.from(plaintext))

        const loaded = readFileSync(log, "utf8").split("\n")
        assert.ok(loaded.some((url) => url.endsWith("/dist/src/age/x25519.js")), "hook ran")
        const javascriptCrypto = loaded.filter((url) =>
            /node_modules\/(@noble\/|age-encryption\/|bcrypt-pbkdf\/)/.test(url))
        assert.deepEqual(javascriptCrypto, [], file)
    }
})

/** The 8 Ed25519 points of small order, canonically encoded. */
const LOW_ORDER_POINTS = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
]

/** What @noble/curves makes of 32 bytes as an ssh-ed25519 recipient key. */
function nobleMapping(bytes: Uint8Array): string {
    let point
    try {
        point = ed25519.Point.fromBytes(bytes)
    } catch {
        return "invalid"
    }
    if (point.isSmallOrder()) return "low-order"
    return Buffer.from(ed25519.utils.toMontgomery(bytes)).toString("hex")
}

function ourMapping(bytes: Uint8Array): string {
    const result = edwardsToMontgomery(bytes)
    return result.ok ? Buffer.from(result.point).toString("hex") : result.reason
}

test("Edwards to Montgomery: the same as @noble/curves on random bytes and real keys", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        assert.equal(ourMapping(bytes), nobleMapping(bytes))
    }), { numRuns: 300 })

    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const key = ed25519.getPublicKey(seed)
        assert.equal(ourMapping(key), nobleMapping(key))
    }), { numRuns: 100 })
})

test("Edwards to Montgomery: low-order and non-canonical points are refused", () => {
    for (const hex of LOW_ORDER_POINTS) {
        const bytes = Buffer.from(hex, "hex")
        assert.equal(nobleMapping(bytes), "low-order", hex)
        assert.equal(ourMapping(bytes), "low-order", hex)
    }

    const zeroXWithSign = Buffer.from(
        "0100000000000000000000000000000000000000000000000000000000000080", "hex")
    assert.equal(nobleMapping(zeroXWithSign), "invalid")
    assert.equal(ourMapping(zeroXWithSign), "invalid")

    const p = Buffer.from("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "hex")
    assert.equal(ourMapping(p), "invalid")
    assert.equal(nobleMapping(p), "invalid")
})
