/**
 * The age layer's crypto runs through node:crypto (OpenSSL), not JavaScript:
 * these tests count the node:crypto calls a decryption makes (by swapping
 * node:crypto's exports for counting wrappers, which reach our modules'
 * imports through `syncBuiltinESMExports`), in this process and, through a
 * `--import` hook, in the bundled CLI, where V8's coverage also shows that no
 * JavaScript ChaCha20 or X25519 function ran (and does show it for a file
 * that needs them); and they check the Edwards-to-Montgomery mapping of
 * ssh-ed25519 recipients against @noble/curves.
 */
import assert from "node:assert/strict"
import crypto from "node:crypto"
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs"
import { syncBuiltinESMExports } from "node:module"
import { join } from "node:path"
import { after, before, test } from "node:test"
import { fileURLToPath, pathToFileURL } from "node:url"

import { ed25519 } from "@noble/curves/ed25519.js"
import { generateHybridIdentity, identityToRecipient } from "age-encryption"
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
            // Three HKDFs of two HMACs each (src/age/hkdf.ts), and the header MAC.
            "createHmac sha256": 7,
            "createPublicKey": 1,
            "diffieHellman": 1,
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

/**
 * A module counting the {@link COUNTED} node:crypto calls of a CLI process,
 * loaded with `--import` before the CLI, which writes the counts as JSON to
 * `countsFile` when the process exits.
 */
function cryptoHook(countsFile: string): string {
    return 'import crypto from "node:crypto"\n'
        + 'import { writeFileSync } from "node:fs"\n'
        + 'import { syncBuiltinESMExports } from "node:module"\n'
        + "const counts = {}\n"
        + `for (const name of ${JSON.stringify(COUNTED)}) {\n`
        + "    const original = crypto[name]\n"
        + "    crypto[name] = (...args) => {\n"
        + '        const key = typeof args[0] === "string" ? `${name} ${args[0]}` : name\n'
        + "        counts[key] = (counts[key] ?? 0) + 1\n"
        + "        return original(...args)\n"
        + "    }\n"
        + "}\n"
        + "syncBuiltinESMExports()\n"
        + `const file = ${JSON.stringify(countsFile)}\n`
        + 'process.on("exit", () => writeFileSync(file, JSON.stringify(counts)))\n'
}

/** What V8's coverage says of one function: its range in the script and how often it ran. */
interface FunctionCoverage {
    functionName: string
    ranges: { startOffset: number, endOffset: number, count: number }[]
}

/** V8's coverage of one script, as written under `NODE_V8_COVERAGE`. */
interface ScriptCoverage {
    url: string
    functions: FunctionCoverage[]
}

/**
 * The name esbuild's `keepNames` gives a function in a minified bundle: a call
 * `helper(fn,"name")` right after a function declaration, or `,"name")` right
 * after a function passed to that helper. In a CommonJS bundle a module's
 * calls come together at the start of its init function, after the module's
 * functions: then the first `helper(fn,"name")` after the function names it.
 */
const KEPT_AFTER_DECLARATION = /^;?[\w$]+\(([\w$]+),"([\w$]+)"\)/
const KEPT_AFTER_EXPRESSION = /^,"([\w$]+)"\)/

/** Characters read after a function's end to find its kept name right there. */
const KEPT_NAME_WINDOW = 200

/** The source name of a function that ran: its kept name in a bundle, else V8's name. */
function sourceName(script: string, fn: FunctionCoverage, end: number): string {
    const after = script.slice(end, end + KEPT_NAME_WINDOW)
    const declared = KEPT_AFTER_DECLARATION.exec(after)
    if (declared?.[1] === fn.functionName && declared[2] !== undefined) return declared[2]
    const passed = KEPT_AFTER_EXPRESSION.exec(after)?.[1]
    if (passed !== undefined) return passed
    if (!/^[\w$]+$/.test(fn.functionName)) return fn.functionName
    const id = fn.functionName.replaceAll("$", "\\$")
    const later = new RegExp(`[\\w$]+\\(${id},"([\\w$]+)"\\)`, "g")
    later.lastIndex = end
    return later.exec(script)?.[1] ?? fn.functionName
}

/** The source names of the functions that ran in the JavaScript files of a coverage folder. */
function functionsThatRan(coverageDir: string): Set<string> {
    const ran = new Set<string>()
    for (const entry of readdirSync(coverageDir)) {
        const report = JSON.parse(readFileSync(join(coverageDir, entry), "utf8")) as {
            result: ScriptCoverage[]
        }
        for (const script of report.result) {
            if (!script.url.startsWith("file:")) continue
            const source = readFileSync(fileURLToPath(script.url), "utf8")
            for (const fn of script.functions) {
                const whole = fn.ranges[0]
                if (whole === undefined || whole.count === 0) continue
                ran.add(sourceName(source, fn, whole.endOffset))
            }
        }
    }
    return ran
}

/** What a probed CLI run did: its result, its node:crypto calls, the functions that ran. */
interface ProbedRun {
    code: number | null
    stderr: string
    calls: Record<string, number>
    ran: Set<string>
}

/**
 * Runs `homeage ARGS…` as users run it (the bundled command line), with the
 * node:crypto calls counted by a `--import` hook and V8's coverage of every
 * function that ran (`NODE_V8_COVERAGE`).
 */
async function probedCli(args: string[]): Promise<ProbedRun> {
    const probe = mkdtempSync(join(folder.dir, "probe-"))
    const counts = join(probe, "counts.json")
    const coverage = join(probe, "coverage")
    const hook = join(probe, "hook.mjs")
    writeFileSync(hook, cryptoHook(counts))

    const result = await homeage(args, {
        env: { NODE_OPTIONS: `--import ${pathToFileURL(hook).href}`, NODE_V8_COVERAGE: coverage },
    })

    const calls = JSON.parse(readFileSync(counts, "utf8")) as Record<string, number>
    return { code: result.code, stderr: result.stderr, calls, ran: functionsThatRan(coverage) }
}

/**
 * Functions of JavaScript crypto (@noble), by source name: the ChaCha20 block
 * function, which every ChaCha20-Poly1305 seal or open runs, and the X25519
 * functions, one of which every X25519 operation runs (a public key from its
 * fixed-base table, a shared secret through the ladder).
 */
const JAVASCRIPT_CRYPTO = ["chachaCore", "scalarMult", "scalarMultBase", "montgomeryLadder"]

/** Functions of our payload decryption through node:crypto, by source name. */
const NATIVE_PAYLOAD = ["decryptPayload", "openChunk"]

test("homeage decrypt of X25519 and ssh-ed25519 files runs node:crypto, no JavaScript crypto",
    async () => {
        const cases: [string, string, number][] = [
            [binaryFile, keyFile, 1], [armoredFile, keyFile, 1], [sshFile, sshKey, 2],
        ]
        for (const [file, key, diffieHellman] of cases) {
            const out = join(folder.dir, "cli-out")
            const run = await probedCli(["decrypt", "-i", key, "-o", out, file])
            assert.equal(run.code, 0, run.stderr)
            assert.deepEqual(readFileSync(out), Buffer.from(plaintext))

            assert.equal(run.calls["createDecipheriv chacha20-poly1305"], 1 + CHUNKS, file)
            assert.equal(run.calls.diffieHellman, diffieHellman, file)
            for (const name of NATIVE_PAYLOAD) assert.ok(run.ran.has(name), `${name} ran`)
            assert.deepEqual(JAVASCRIPT_CRYPTO.filter((name) => run.ran.has(name)), [], file)
        }
    })

test("the same probe sees JavaScript crypto run: a post-quantum file (typage, @noble)",
    async () => {
        const identity = await generateHybridIdentity()
        const pqKey = join(folder.dir, "pq.txt")
        writeFileSync(pqKey, `${identity}\n`, { mode: 0o600 })
        const recipient = parseRecipient(await identityToRecipient(identity), "pq")
        const pqFile = join(folder.dir, "pq.age")
        writeFileSync(pqFile, await encrypt(plaintext, [recipient]))

        const out = join(folder.dir, "pq-out")
        const run = await probedCli(["decrypt", "-i", pqKey, "-o", out, pqFile])
        assert.equal(run.code, 0, run.stderr)
        assert.deepEqual(readFileSync(out), Buffer.from(plaintext))

        assert.deepEqual(JAVASCRIPT_CRYPTO.filter((name) => run.ran.has(name)), JAVASCRIPT_CRYPTO)
        assert.equal(run.calls["createDecipheriv chacha20-poly1305"], CHUNKS)
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
