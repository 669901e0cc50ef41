/**
 * Our own encrypt/decrypt round trips (properties over sizes around the chunk
 * edge, binary and armored, X25519 and post-quantum), the scrypt rules, and
 * recipient parsing. Post-quantum keys are tested only against ourselves: Go
 * age 1.1.1 does not know them.
 */
import assert from "node:assert/strict"
import {
    generateHybridIdentity, generateIdentity, identityToRecipient,
} from "age-encryption"
import { Stanza } from "age-encryption"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, test } from "node:test"
import fc from "fast-check"

import { UsageError } from "../../src/errors.js"
import {
    DecryptError, ScryptIdentity, ScryptRecipient, decrypt, encrypt, loadIdentities,
    parseRecipient, parseRecipientsFile, passphraseIdentities,
} from "../../src/age/index.js"
import type { IdentitySet } from "../../src/age/index.js"
import { tempFolder } from "./helpers.js"

const work = tempFolder("roundtrip")
after(() => {
    work.remove()
})

async function setFor(identity: string, name: string): Promise<IdentitySet> {
    const path = join(work.dir, name)
    writeFileSync(path, `${identity}\n`, { mode: 0o600 })
    return loadIdentities([path], { warn: () => undefined })
}

/** Sizes that matter to STREAM: empty, around one and two 64 KiB chunks. */
const EDGES = [0, 1, 65535, 65536, 65537, 131072, 131073]

test("X25519 and post-quantum round trips at the chunk edges, binary and armored", async () => {
    for (const [name, identity] of [
        ["x25519", await generateIdentity()], ["pq", await generateHybridIdentity()],
    ] as const) {
        const set = await setFor(identity, name)
        const recipient = parseRecipient(await identityToRecipient(identity), name)
        for (const size of EDGES) {
            for (const armor of [false, true]) {
                const plaintext = new Uint8Array(size).map((_, i) => i * 7)
                const sealed = await encrypt(plaintext, [recipient], { armor })
                assert.deepEqual(await decrypt(sealed, set, name), plaintext,
                    `${name} ${size} ${String(armor)}`)
            }
        }
    }
})

test("round trip of arbitrary plaintexts (property)", async () => {
    const identity = await generateIdentity()
    const set = await setFor(identity, "prop")
    const recipient = parseRecipient(await identityToRecipient(identity), "prop")
    await fc.assert(fc.asyncProperty(
        fc.uint8Array({ maxLength: 70000 }), fc.boolean(),
        async (plaintext, armor) => {
            const sealed = await encrypt(plaintext, [recipient], { armor })
            assert.deepEqual(await decrypt(sealed, set, "prop"), plaintext)
        }), { numRuns: 30 })
})

test("armored output is 64 columns between the BEGIN and END lines", async () => {
    const identity = await generateIdentity()
    const recipient = parseRecipient(await identityToRecipient(identity), "a")
    const text = Buffer.from(await encrypt(new Uint8Array(1000), [recipient], { armor: true }))
        .toString("latin1")
    const lines = text.split("\n")
    assert.equal(lines[0], "-----BEGIN AGE ENCRYPTED FILE-----")
    assert.equal(lines.at(-2), "-----END AGE ENCRYPTED FILE-----")
    assert.equal(lines.at(-1), "")
    const body = lines.slice(1, -2)
    assert.ok(body.slice(0, -1).every((l) => l.length === 64))
    assert.ok(body.at(-1)!.length <= 64)
})

test("scrypt: encrypts with work factor 18; wrong passphrase is no match", async () => {
    const sealed = await encrypt(new Uint8Array([1, 2, 3]), [new ScryptRecipient("right")])
    const header = Buffer.from(sealed).toString("latin1")
    assert.match(header, /^age-encryption\.org\/v1\n-> scrypt \S+ 18\n/)
    assert.deepEqual(await decrypt(sealed, passphraseIdentities(["right"]), "p"),
        new Uint8Array([1, 2, 3]))
    await assert.rejects(decrypt(sealed, passphraseIdentities(["wrong"]), "p"), (err) => {
        assert.ok(err instanceof DecryptError)
        assert.equal(err.kind, "no-match")
        assert.match(err.message, /incorrect passphrase/)
        return true
    })
})

test("scrypt stanza rules: decimal work factor, bounds, salt size", async () => {
    const identity = new ScryptIdentity("x")
    const salt = "AAAAAAAAAAAAAAAAAAAAAA"
    const body = new Uint8Array(32)
    const bad: [string[], RegExp][] = [
        [["scrypt", salt, "023"], /bad work factor/],
        [["scrypt", salt, "0"], /bad work factor/],
        [["scrypt", salt, "+18"], /bad work factor/],
        [["scrypt", salt, "23"], /work factor 23 is above the limit of 22/],
        [["scrypt", "AAAA", "10"], /bad salt/],
        [["scrypt", salt], /wrong argument count/],
    ]
    for (const [args, expected] of bad) {
        await assert.rejects(Promise.resolve(identity.unwrapFileKey([new Stanza(args, body)])),
            expected)
    }
    await assert.rejects(Promise.resolve(identity.unwrapFileKey([
        new Stanza(["scrypt", salt, "10"], body), new Stanza(["X25519", "x"], body),
    ])), /only one/)
    await assert.rejects(encrypt(new Uint8Array(1), [
        new ScryptRecipient("a", 10), parseRecipient(await identityToRecipient(
            await generateIdentity()), "r"),
    ]), UsageError)
})

test("parseRecipient: native, SSH, and errors that never echo the text", async () => {
    parseRecipient(await identityToRecipient(await generateIdentity()), "r")
    parseRecipient(await identityToRecipient(await generateHybridIdentity()), "r")

    const secret = await generateIdentity()
    const recipient = await identityToRecipient(secret)
    // A different last character always breaks the bech32 checksum.
    const damaged = `${recipient.slice(0, -1)}${recipient.endsWith("q") ? "p" : "q"}`
    const cases: [string, RegExp][] = [
        [secret, /^cfg:1: this is an identity \(a secret key\), not a recipient/],
        ["age1yubikey1qqqqqqqqqqqqqqqq", /^cfg:1: recipients of type age1yubikey .*not supported/],
        [damaged, /^cfg:1: invalid recipient/],
        ["ssh-dss AAAAB3NzaC1kc3MAAACBAP", /^cfg:1: /],
        ["hello", /^cfg:1: not a recipient/],
    ]
    for (const [text, expected] of cases) {
        assert.throws(() => parseRecipient(text, "cfg:1"), (err) => {
            assert.ok(err instanceof UsageError)
            assert.match(err.message, expected)
            assert.ok(!err.message.includes(text), err.message)
            return true
        })
    }
})

test("recipients files: comments, CRLF, BOM; errors name file and line", async () => {
    const r1 = await identityToRecipient(await generateIdentity())
    const good = join(work.dir, "recipients.txt")
    writeFileSync(good, `\uFEFF# team\r\n\r\n${r1}\r\n`)
    assert.equal((await parseRecipientsFile(good)).length, 1)

    const bad = join(work.dir, "bad-recipients.txt")
    writeFileSync(bad, `# team\n${r1}\nnonsense here\n`)
    await assert.rejects(parseRecipientsFile(bad), (err) => {
        assert.ok(err instanceof UsageError)
        assert.ok(err.message.startsWith(`${bad}:3: not a recipient`), err.message)
        assert.ok(!err.message.includes("nonsense"))
        return true
    })
})
