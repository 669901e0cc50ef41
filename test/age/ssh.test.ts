/**
 * Interop of the SSH recipients and identities with the real Go age binary,
 * both directions, for every key kind users have: ssh-keygen keys of each
 * type and size, passphrase-protected ones, and PEM exports. Go age decrypts
 * with a protected key only from a terminal, so for the homeage -> age
 * direction it is given an unprotected copy of the same key.
 */
import assert from "node:assert/strict"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"

import {
    PASSPHRASE,
    PLAINTEXT_SIZES,
    convertKey,
    countingReader,
    decryptWith,
    encryptTo,
    loadKey,
    plaintextOf,
    run,
    sshKeygen,
    tempDir,
} from "./ssh-helpers.js"

/** One key under test: how to make it, and which key file Go age decrypts with. */
interface KeyCase {
    name: string
    keyType: "ssh-ed25519" | "ssh-rsa"
    protected: boolean
    /** Makes the key in `dir`; returns [our key file, the unprotected file for Go age]. */
    make: (dir: string) => [string, string]
}

function fresh(type: string, bits?: number): KeyCase["make"] {
    return (dir) => {
        const key = sshKeygen(dir, `${type}${bits ?? ""}`, type, bits === undefined ? {} : { bits })
        return [key, key]
    }
}

function protectedKey(type: string, cipher?: string): KeyCase["make"] {
    return (dir) => {
        const name = `${type}-protected${cipher === undefined ? "" : "-" + cipher}`
        const extra = cipher === undefined ? [] : ["-Z", cipher]
        const key = sshKeygen(dir, name, type, { passphrase: PASSPHRASE, extra })
        const plain = convertKey(key, `${key}-plain`, { oldPassphrase: PASSPHRASE })
        return [key, plain]
    }
}

function exported(format: "PEM" | "PKCS8", passphrase = ""): KeyCase["make"] {
    return (dir) => {
        const original = sshKeygen(dir, `rsa-${format}${passphrase === "" ? "" : "-protected"}`,
            "rsa", { bits: 2048 })
        const key = convertKey(original, `${original}.${format}`, { format, passphrase })
        return [key, original]
    }
}

const KEYS: KeyCase[] = [
    { name: "ssh-ed25519", keyType: "ssh-ed25519", protected: false, make: fresh("ed25519") },
    { name: "ssh-rsa 2048", keyType: "ssh-rsa", protected: false, make: fresh("rsa", 2048) },
    { name: "ssh-rsa 3072", keyType: "ssh-rsa", protected: false, make: fresh("rsa", 3072) },
    { name: "ssh-rsa 4096", keyType: "ssh-rsa", protected: false, make: fresh("rsa", 4096) },
    { name: "ssh-rsa 2050", keyType: "ssh-rsa", protected: false, make: fresh("rsa", 2050) },
    {
        name: "ssh-ed25519 with a passphrase (aes256-ctr)", keyType: "ssh-ed25519",
        protected: true, make: protectedKey("ed25519"),
    },
    {
        name: "ssh-rsa with a passphrase (aes256-ctr)", keyType: "ssh-rsa",
        protected: true, make: protectedKey("rsa"),
    },
    {
        name: "ssh-rsa with a passphrase (aes256-cbc)", keyType: "ssh-rsa",
        protected: true, make: protectedKey("rsa", "aes256-cbc"),
    },
    {
        name: "ssh-ed25519 with a passphrase (aes256-cbc)", keyType: "ssh-ed25519",
        protected: true, make: protectedKey("ed25519", "aes256-cbc"),
    },
    { name: "ssh-rsa as PEM PKCS#1", keyType: "ssh-rsa", protected: false, make: exported("PEM") },
    {
        name: "ssh-rsa as PEM PKCS#8", keyType: "ssh-rsa", protected: false,
        make: exported("PKCS8"),
    },
    {
        name: "ssh-rsa as protected PEM PKCS#1 (public key from FILE.pub)", keyType: "ssh-rsa",
        protected: true, make: exported("PEM", PASSPHRASE),
    },
    {
        name: "ssh-rsa as protected PKCS#8 (public key from FILE.pub)", keyType: "ssh-rsa",
        protected: true, make: exported("PKCS8", PASSPHRASE),
    },
]

const fixture = tempDir("ssh-interop")
after(fixture.remove)

for (const key of KEYS) {
    describe(key.name, () => {
        let ours = ""
        let forAge = ""
        let publicLine = ""
        before(() => {
            [ours, forAge] = key.make(fixture.dir)
            publicLine = readFileSync(`${ours}.pub`, "utf8").trim()
        })

        test("loads with the key type, protection and public key of ssh-keygen", () => {
            const identity = loadKey(ours)
            assert.equal(identity.keyType, key.keyType)
            assert.equal(identity.needsPassphrase, key.protected)
            assert.equal(identity.file, ours)
            assert.equal(identity.publicKey, publicLine.split(" ").slice(0, 2).join(" "))
        })

        for (const armored of [false, true]) {
            const form = armored ? "armored" : "binary"

            test(`age -R encrypts, homeage decrypts (${form}, sizes ${PLAINTEXT_SIZES.join(", ")})`,
                async () => {
                    const { reader, prompts } = countingReader(PASSPHRASE)
                    const identity = loadKey(ours, { passphrase: reader })
                    for (const size of PLAINTEXT_SIZES) {
                        const plaintext = plaintextOf(size)
                        const input = join(fixture.dir, "plain")
                        writeFileSync(input, plaintext)
                        const args = ["-R", `${ours}.pub`, ...(armored ? ["-a"] : []), input]
                        const ciphertext = run("age", args)

                        const out = await decryptWith([identity], ciphertext)
                        assert.deepEqual(Buffer.from(out), Buffer.from(plaintext), `size ${size}`)
                    }
                    assert.equal(prompts.length, key.protected ? 1 : 0)
                })

            test(`homeage encrypts, age -d -i decrypts (${form}, all sizes)`, async () => {
                for (const size of PLAINTEXT_SIZES) {
                    const plaintext = plaintextOf(size)
                    const file = join(fixture.dir, "cipher.age")
                    const ciphertext = await encryptTo([publicLine], plaintext, armored)
                    writeFileSync(file, ciphertext)
                    if (armored) {
                        assert.match(Buffer.from(ciphertext).toString("latin1"),
                            /^-----BEGIN AGE ENCRYPTED FILE-----\n/)
                    }

                    const out = run("age", ["-d", "-i", forAge, file])
                    assert.deepEqual(out, Buffer.from(plaintext), `size ${size}`)
                }
            })
        }

        test("the stanza has the type, tag and arguments Go age writes", async () => {
            const mine = stanzaArgs(await encryptTo([publicLine], plaintextOf(1), false))
            const go = stanzaArgs(run("age", ["-R", `${ours}.pub`], plaintextOf(1)))
            const [ourType, ourTag, ...ourRest] = mine
            const [goType, goTag, ...goRest] = go
            assert.equal(ourType, key.keyType)
            assert.equal(ourType, goType)
            assert.equal(ourTag, goTag)
            assert.match(ourTag ?? "", /^[A-Za-z0-9+/]{6}$/)
            assert.equal(ourRest.length, goRest.length)
            if (key.keyType === "ssh-ed25519") {
                assert.match(ourRest[0] ?? "", /^[A-Za-z0-9+/]{43}$/)
            }
        })
    })
}

/** The arguments of the one stanza of a binary age file (the words after "-> "). */
function stanzaArgs(file: Uint8Array): string[] {
    const lines = Buffer.from(file).toString("latin1").split("\n")
        .filter((l) => l.startsWith("-> "))
    assert.equal(lines.length, 1)
    return (lines[0] ?? "").slice(3).split(" ")
}

test("a file to an ed25519 key and an rsa key decrypts with either identity, both ways",
    async () => {
        const dir = fixture.dir
        const ed = sshKeygen(dir, "multi-ed", "ed25519")
        const rsa = sshKeygen(dir, "multi-rsa", "rsa", { bits: 2048 })
        const lines = [ed, rsa].map((k) => readFileSync(`${k}.pub`, "utf8"))
        const plaintext = plaintextOf(100)

        const ours = join(dir, "multi.age")
        writeFileSync(ours, await encryptTo(lines, plaintext, false))
        for (const key of [ed, rsa]) {
            assert.deepEqual(run("age", ["-d", "-i", key, ours]), Buffer.from(plaintext))
        }

        const goFile = run("age", ["-R", `${ed}.pub`, "-R", `${rsa}.pub`], plaintext)
        for (const key of [ed, rsa]) {
            assert.deepEqual(Buffer.from(await decryptWith([loadKey(key)], goFile)),
                Buffer.from(plaintext))
        }
    })
