/**
 * Identity files and identity sets: the file format (comments, blank lines,
 * CRLF, BOM, several keys), the errors (file and line, never the line), the
 * order identities are tried in, and passphrases asked only when needed.
 */
import assert from "node:assert/strict"
import { generateIdentity, identityToRecipient } from "age-encryption"
import { chmodSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { UsageError } from "../../src/errors.js"
import {
    AskpassError, DecryptError, ScryptRecipient, decrypt, encrypt, loadIdentities,
    parseIdentityFile, parseRecipient, recipientLinesOf,
} from "../../src/age/index.js"
import { must, tempFolder } from "./helpers.js"

const work = tempFolder("identities")
const dir = work.dir
const PASSPHRASE = "pw for tests"
let x1 = ""
let x2 = ""
let protectedKey = ""
let protectedPub = ""

before(async () => {
    x1 = await generateIdentity()
    x2 = await generateIdentity()
    protectedKey = join(dir, "id_protected")
    await must("ssh-keygen", ["-q", "-t", "ed25519", "-N", PASSPHRASE, "-f", protectedKey])
    protectedPub = readFileSync(`${protectedKey}.pub`, "utf8").trim()
})

after(() => {
    work.remove()
})

function file(name: string, text: string): string {
    const path = join(dir, name)
    writeFileSync(path, text, { mode: 0o600 })
    chmodSync(path, 0o600)
    return path
}

const noWarnings = (message: string): void => {
    assert.fail(`unexpected warning: ${message}`)
}

test("an identity file with a BOM, CRLF, comments, blank lines and two keys", async () => {
    const text = `\uFEFF# created: today\r\n\r\n${x1}\r\n   \r\n# second\r\n${x2}\r\n`
    const keys = parseIdentityFile(text, "ids.txt")
    assert.deepEqual(keys.map((k) => [k.type, k.lineNumber]), [["X25519", 3], ["X25519", 6]])

    const path = file("ids.txt", text)
    const set = await loadIdentities([path], { warn: noWarnings })
    assert.equal(set.size, 1)
    assert.deepEqual(set.describe(), [`${path}: 2 X25519 identities`])
    assert.deepEqual(await recipientLinesOf(set),
        [await identityToRecipient(x1), await identityToRecipient(x2)])

    const second = parseRecipient(await identityToRecipient(x2), "test")
    const sealed = await encrypt(new TextEncoder().encode("second key"), [second])
    assert.equal(new TextDecoder().decode(await decrypt(sealed, set, "f")), "second key")
})

test("identity file errors name the file and line and never echo the line", () => {
    const cases: [string, RegExp][] = [
        [`# ok\n${x1}\nage1qqqqqqqqq\n`, /^f\.txt:3: this is a recipient \(a public key\)/],
        [`${protectedPub}\n`, /^f\.txt:1: this is an SSH public key, not an identity/],
        ["\n\nsomething else\n", /^f\.txt:3: not an identity line/],
        // The checksum's last character changed (to one it is not: keys are random).
        [`${x1.slice(0, -1)}${x1.endsWith("Q") ? "P" : "Q"}\n`,
            /^f\.txt:1: malformed X25519 identity/],
        ["# only a comment\n", /^f\.txt: no identity in this file/],
    ]
    for (const [text, expected] of cases) {
        assert.throws(() => parseIdentityFile(text, "f.txt"), (err) => {
            assert.ok(err instanceof UsageError)
            assert.match(err.message, expected)
            const body = text.split("\n").find((l) => l !== "" && !l.startsWith("#"))
            if (body !== undefined) assert.ok(!err.message.includes(body), err.message)
            return true
        })
    }
})

test("unusable files are warnings while another identity works", async () => {
    const good = file("good.txt", `${x1}\n`)
    const missing = join(dir, "missing.txt")
    const broken = file("broken.txt", "garbage\n")
    const warnings: string[] = []
    const set = await loadIdentities([missing, broken, good], { warn: (m) => warnings.push(m) })
    assert.equal(set.size, 1)
    assert.deepEqual(warnings, [
        `${missing}: no such identity file; skipped`,
        `${broken}:1: not an identity line (expected AGE-SECRET-KEY-1…, a # comment or a`
            + " blank line); skipped",
    ])
})

test("no usable identity is a UsageError listing each file's problem", async () => {
    const missing = join(dir, "nope.txt")
    const broken = file("broken2.txt", `${await identityToRecipient(x1)}\n`)
    await assert.rejects(loadIdentities([missing, broken], { warn: noWarnings }), (err) => {
        assert.ok(err instanceof UsageError)
        assert.match(err.message, /no usable identity among the 2 identity files given/)
        assert.deepEqual(err.problems, [
            `${missing}: no such identity file`,
            `${broken}:1: this is a recipient (a public key), not an identity; an identity file`
                + " holds the AGE-SECRET-KEY-1… line that `homeage keygen` writes",
        ])
        return true
    })
})

test("an identity file readable by others gets a warning", async () => {
    const path = file("open.txt", `${x1}\n`)
    chmodSync(path, 0o644)
    const warnings: string[] = []
    await loadIdentities([path], { warn: (m) => warnings.push(m) })
    assert.deepEqual(warnings, [`${path} is readable by other users; run \`chmod 600 ${path}\``])
})

test("a protected SSH key is asked for only when no other identity opens the file", async () => {
    const plain = file("plain.txt", `${x1}\n`)
    let asked = 0
    const passphrase = (): Promise<string> => {
        asked++
        return Promise.resolve(PASSPHRASE)
    }
    // The protected key comes first on the command line but is tried last.
    const set = await loadIdentities([protectedKey, plain], { warn: noWarnings, passphrase })

    const both = [parseRecipient(protectedPub, "t"), parseRecipient(
        await identityToRecipient(x1), "t")]
    const toBoth = await encrypt(new TextEncoder().encode("both"), both)
    assert.equal(new TextDecoder().decode(await decrypt(toBoth, set, "f")), "both")
    assert.equal(asked, 0)

    const toProtected = await encrypt(new TextEncoder().encode("ssh"), [both[0]!])
    assert.equal(new TextDecoder().decode(await decrypt(toProtected, set, "f")), "ssh")
    assert.equal(new TextDecoder().decode(await decrypt(toProtected, set, "f")), "ssh")
    assert.equal(asked, 1, "asked once per key per run")
})

test("a passphrase-encrypted identity file is unlocked lazily, once", async () => {
    const inner = new TextEncoder().encode(`# inner\n${x2}\n`)
    const sealedIdentity = await encrypt(inner, [new ScryptRecipient(PASSPHRASE, 10)],
        { armor: true })
    const encryptedFile = join(dir, "identity.age")
    writeFileSync(encryptedFile, sealedIdentity)
    const plain = file("plain2.txt", `${x1}\n`)

    let asked = 0
    const prompts: string[] = []
    const set = await loadIdentities([encryptedFile, plain], {
        warn: noWarnings,
        passphrase: (prompt) => {
            asked++
            prompts.push(prompt)
            return Promise.resolve(PASSPHRASE)
        },
    })
    assert.deepEqual(set.describe(), [
        `${encryptedFile}: passphrase-encrypted identity file`, `${plain}: 1 X25519 identity`,
    ])

    const toPlain = await encrypt(new Uint8Array([1]), [parseRecipient(
        await identityToRecipient(x1), "t")])
    await decrypt(toPlain, set, "f")
    assert.equal(asked, 0)

    const toInner = await encrypt(new Uint8Array([2]), [parseRecipient(
        await identityToRecipient(x2), "t")])
    assert.deepEqual(await decrypt(toInner, set, "f"), new Uint8Array([2]))
    assert.deepEqual(await decrypt(toInner, set, "f"), new Uint8Array([2]))
    assert.equal(asked, 1)
    assert.deepEqual(prompts, [`Enter passphrase for identity file ${encryptedFile}: `])
})

test("without any passphrase source a protected key is skipped with a message", async () => {
    const warnings: string[] = []
    const set = await loadIdentities([protectedKey], {
        warn: (m) => warnings.push(m),
        passphrase: () => Promise.resolve(undefined),
    })
    const sealed = await encrypt(new Uint8Array([3]), [parseRecipient(protectedPub, "t")])
    await assert.rejects(decrypt(sealed, set, "secret x (x.age)"), (err) => {
        assert.ok(err instanceof DecryptError)
        assert.equal(err.kind, "no-match")
        assert.match(err.message, /^secret x \(x\.age\): cannot decrypt: no identity matched/)
        assert.ok(err.message.includes(protectedKey))
        return true
    })
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!, /passphrase/)
})

test("no match: the files tried, the files skipped and why, and the caller's advice", async () => {
    const missing = join(dir, "gone.txt")
    const plain = file("plain-nomatch.txt", `${x1}\n`)
    const set = await loadIdentities([missing, protectedKey, plain], {
        warn: () => undefined,
        passphrase: () => Promise.reject(new AskpassError("askpass X failed with exit status 3")),
        identityHint: "identityPaths",
    })
    const sealed = await encrypt(new Uint8Array([4]), [parseRecipient(protectedPub, "t")])
    await assert.rejects(decrypt(sealed, set, "secret y (y.age)"), (err) => {
        assert.ok(err instanceof DecryptError)
        assert.equal(err.kind, "no-match")
        assert.equal(err.message, "secret y (y.age): cannot decrypt: no identity matched: it is"
            + ` encrypted to 1 ssh-ed25519 recipient; identity files tried: ${plain}; skipped:`
            + ` ${missing} (no such identity file), ${protectedKey} (askpass X failed with exit`
            + " status 3). Give the identity it was encrypted to (identityPaths), or re-encrypt"
            + " it to one of yours")
        return true
    })
})

test("a passphrase-encrypted identity file whose askpass fails is skipped, saying why",
    async () => {
        const sealedIdentity = await encrypt(new TextEncoder().encode(`${x2}\n`),
            [new ScryptRecipient(PASSPHRASE, 10)])
        const encryptedFile = join(dir, "identity-askpass.age")
        writeFileSync(encryptedFile, sealedIdentity)
        const warnings: string[] = []
        const set = await loadIdentities([encryptedFile], {
            warn: (m) => warnings.push(m),
            passphrase: () => Promise.reject(new AskpassError("askpass Y returned an empty"
                + " passphrase")),
        })
        const toInner = await encrypt(new Uint8Array([5]), [parseRecipient(
            await identityToRecipient(x2), "t")])
        await assert.rejects(decrypt(toInner, set, "f"), (err) => {
            assert.ok(err instanceof DecryptError)
            assert.ok(err.message.includes(`identity files tried: none; skipped: ${encryptedFile}`
                + " (askpass Y returned an empty passphrase)"), err.message)
            return true
        })
        assert.deepEqual(warnings, [`${encryptedFile}: skipped this passphrase-encrypted identity`
            + " file: askpass Y returned an empty passphrase; fix the program or unset"
            + " HOMEAGE_ASKPASS"])
    })
