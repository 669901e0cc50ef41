/**
 * SSH key handling beyond the happy path: passphrases asked only when needed
 * and once, skipped keys, wrong passphrases, small RSA keys, key types age
 * cannot use, malformed stanzas and files, and messages free of key material.
 */
import assert from "node:assert/strict"
import { constants, createHash, publicEncrypt, randomBytes } from "node:crypto"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, describe, test } from "node:test"

import { Encrypter, Stanza } from "age-encryption"

import type { Stanza as HeaderStanza } from "../../src/age/index.js"
import { OperationError, UsageError } from "../../src/errors.js"
import {
    isSshPublicKeyLine,
    loadSshIdentity,
    looksLikeSshPrivateKey,
    parseSshRecipient,
} from "../../src/age/ssh/index.js"
import {
    PASSPHRASE,
    convertKey,
    countingReader,
    decryptWith,
    encryptTo,
    keyMaterialFragments,
    loadKey,
    plaintextOf,
    run,
    sshKeygen,
    tempDir,
} from "./ssh-helpers.js"

const fixture = tempDir("ssh-keys")
after(fixture.remove)
const dir = fixture.dir

const ed = sshKeygen(dir, "ed", "ed25519")
const edProtected = sshKeygen(dir, "ed-protected", "ed25519", { passphrase: PASSPHRASE })
const rsaProtected = sshKeygen(dir, "rsa-protected", "rsa",
    { bits: 2048, passphrase: PASSPHRASE, extra: ["-Z", "aes256-cbc"] })
const rsa1024 = sshKeygen(dir, "rsa1024", "rsa", { bits: 1024 })
const ecdsa = sshKeygen(dir, "ecdsa", "ecdsa")

/** Encrypts `plaintext` with Go age to the public key of `key`. */
function ageTo(key: string, plaintext: Uint8Array = plaintextOf(10)): Uint8Array {
    return run("age", ["-R", `${key}.pub`], plaintext)
}

/** The raw SSH wire blob of a .pub file. */
function wireOf(pubFile: string): Buffer {
    return Buffer.from(readFileSync(pubFile, "utf8").split(" ")[1] ?? "", "base64")
}

/** age's key tag, computed independently: base64 of the first 4 bytes of SHA-256 of the blob. */
function tagOf(pubFile: string): string {
    return createHash("sha256").update(wireOf(pubFile)).digest().subarray(0, 4)
        .toString("base64").replace(/=+$/, "")
}

/** Asserts that a message quotes no key material and no passphrase. */
function assertClean(message: string, keyFiles: string[]): void {
    assert.ok(!message.includes(PASSPHRASE), "the passphrase is in the message")
    for (const file of keyFiles) {
        for (const fragment of keyMaterialFragments(file)) {
            assert.ok(!message.includes(fragment), `key material of ${file} is in the message`)
        }
    }
}

/** Runs `fn`, expects it to throw an error of `type`, and returns that error. */
function thrown<T extends Error>(fn: () => unknown, type: new (...args: never[]) => T): T {
    try {
        fn()
    } catch (err) {
        assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`)
        return err
    }
    assert.fail(`expected ${type.name} to be thrown`)
}

/** Awaits `fn`, expects it to reject with an error of `type`, and returns that error. */
async function rejection<T extends Error>(
    fn: () => unknown, type: new (...args: never[]) => T,
): Promise<T> {
    try {
        await fn()
    } catch (err) {
        assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`)
        return err
    }
    assert.fail(`expected ${type.name} to be thrown`)
}

describe("passphrase-protected keys", () => {
    test("a file for another key never calls the passphrase reader", async () => {
        const { reader, prompts } = countingReader(PASSPHRASE)
        const locked = loadKey(edProtected, { passphrase: reader })
        const other = loadKey(ed)
        const plaintext = plaintextOf(33)

        const out = await decryptWith([locked, other], ageTo(ed, plaintext))
        assert.deepEqual(Buffer.from(out), Buffer.from(plaintext))
        await assert.rejects(decryptWith([locked], ageTo(ed)), /no identity matched/)
        assert.deepEqual(prompts, [])
    })

    test("the reader is called once, naming the key file, for two files", async () => {
        const { reader, prompts } = countingReader(PASSPHRASE)
        const locked = loadKey(edProtected, { passphrase: reader })

        for (const size of [5, 6]) {
            const plaintext = plaintextOf(size)
            const out = await decryptWith([locked], ageTo(edProtected, plaintext))
            assert.deepEqual(Buffer.from(out), Buffer.from(plaintext))
        }
        assert.deepEqual(prompts, [`Enter passphrase for ${edProtected}: `])
    })

    test("two files decrypted at the same time still ask once", async () => {
        const { reader, prompts } = countingReader(PASSPHRASE)
        const locked = loadKey(rsaProtected, { passphrase: reader })

        const files = [ageTo(rsaProtected, plaintextOf(7)), ageTo(rsaProtected, plaintextOf(8))]
        const outs = await Promise.all(files.map((f) => decryptWith([locked], f)))
        assert.deepEqual(outs.map((o) => o.length), [7, 8])
        assert.equal(prompts.length, 1)
    })

    test("no passphrase available: null, one warning naming the file, nothing blocks",
        async () => {
            const { reader, prompts } = countingReader(undefined)
            const warnings: string[] = []
            const locked = loadKey(edProtected, {
                passphrase: reader,
                warn: (m) => { warnings.push(m) },
            })
            const stanzas = await parseSshRecipient(readFileSync(`${edProtected}.pub`, "utf8"))
                .wrapFileKey(randomBytes(16))

            assert.equal(await locked.unwrapFileKey(stanzas), null)
            assert.equal(await locked.unwrapFileKey(stanzas), null)
            await assert.rejects(decryptWith([locked], ageTo(edProtected)), /no identity matched/)
            assert.equal(prompts.length, 1)
            assert.deepEqual(warnings, [`${edProtected}: skipped this passphrase-protected ` +
                "key: there is no terminal to ask for its passphrase and HOMEAGE_ASKPASS is " +
                "not set"])
            assert.match(locked.skipReason ?? "", /^there is no terminal/)
        })

    test("a skipped protected key lets another identity decrypt the file", async () => {
        const warnings: string[] = []
        const locked = loadKey(edProtected, {
            passphrase: countingReader(undefined).reader,
            warn: (m) => { warnings.push(m) },
        })
        const e = new Encrypter()
        for (const key of [edProtected, ed]) {
            e.addRecipient(parseSshRecipient(readFileSync(`${key}.pub`, "utf8")))
        }
        const plaintext = plaintextOf(12)
        const file = await e.encrypt(plaintext)

        const out = await decryptWith([locked, loadKey(ed)], file)
        assert.deepEqual(Buffer.from(out), Buffer.from(plaintext))
        assert.equal(warnings.length, 1)
    })

    for (const [label, make] of [
        ["OpenSSH ed25519 (aes256-ctr)", () => edProtected],
        ["OpenSSH rsa (aes256-cbc)", () => rsaProtected],
        ["PEM PKCS#1 rsa", () => convertKey(rsaProtected, join(dir, "rsa-pem"),
            { oldPassphrase: PASSPHRASE, passphrase: PASSPHRASE, format: "PEM" })],
        ["PKCS#8 rsa", () => convertKey(rsaProtected, join(dir, "rsa-pkcs8"),
            { oldPassphrase: PASSPHRASE, passphrase: PASSPHRASE, format: "PKCS8" })],
    ] as const) {
        test(`a wrong passphrase (${label}) is an OperationError naming the file, asked once`,
            async () => {
                const key = make()
                const wrong = `${PASSPHRASE} nope`
                const { reader, prompts } = countingReader(wrong)
                const locked = loadKey(key, { passphrase: reader })

                const err = await rejection(() => decryptWith([locked], ageTo(key)),
                    OperationError)
                assert.equal(err.exitCode, 1)
                assert.ok(err.message.startsWith(`incorrect passphrase for ${key}`), err.message)
                assert.ok(!err.message.includes(wrong))
                assertClean(err.message, [key, `${key}.pub`])

                await rejection(() => decryptWith([locked], ageTo(key)), OperationError)
                assert.equal(prompts.length, 1)
            })
    }

    test("a protected PEM key without FILE.pub is refused with a message saying so", () => {
        const key = convertKey(rsaProtected, join(dir, "rsa-pem-nopub"),
            { oldPassphrase: PASSPHRASE, passphrase: PASSPHRASE, format: "PEM" })
        const err = thrown(() => loadSshIdentity(readFileSync(key, "utf8"), key, {
            passphrase: countingReader(PASSPHRASE).reader, warn: () => undefined,
        }), UsageError)
        assert.match(err.message, /is a passphrase-protected PEM key/)
        assert.ok(err.message.includes(`${key}.pub, which does not exist`), err.message)
        assertClean(err.message, [key])
    })

    test("a protected PEM key whose FILE.pub is another key fails after the passphrase",
        async () => {
            const key = convertKey(rsaProtected, join(dir, "rsa-pem-wrongpub"),
                { oldPassphrase: PASSPHRASE, passphrase: PASSPHRASE, format: "PEM" })
            const other = sshKeygen(dir, "rsa-other", "rsa", { bits: 2048 })
            const locked = loadSshIdentity(readFileSync(key, "utf8"), key, {
                passphrase: countingReader(PASSPHRASE).reader,
                warn: () => undefined,
                publicKeyText: readFileSync(`${other}.pub`, "utf8"),
            })

            const err = await rejection(() => decryptWith([locked], ageTo(other)), UsageError)
            assert.match(err.message, /rsa-pem-wrongpub\.pub is not the public key of/)
        })
})

describe("small RSA keys", () => {
    test("an RSA 1024 recipient is refused, naming the size", () => {
        const err = thrown(() => parseSshRecipient(readFileSync(`${rsa1024}.pub`, "utf8")),
            UsageError)
        assert.match(err.message, /is 1024 bits; age refuses to encrypt to RSA keys below 2048/)
        assertClean(err.message, [`${rsa1024}.pub`])
    })

    test("an RSA 1024 identity still decrypts (stanza built by hand, checked with Go age)",
        async () => {
            const publicKey = run("ssh-keygen", ["-e", "-m", "PKCS8", "-f", `${rsa1024}.pub`])
            const wrapFileKey = (fileKey: Uint8Array): Stanza[] => {
                const body = publicEncrypt({
                    key: publicKey.toString(),
                    padding: constants.RSA_PKCS1_OAEP_PADDING,
                    oaepHash: "sha256",
                    oaepLabel: Buffer.from("age-encryption.org/v1/ssh-rsa"),
                }, fileKey)
                return [new Stanza(["ssh-rsa", tagOf(`${rsa1024}.pub`)], body)]
            }
            const e = new Encrypter()
            e.addRecipient({ wrapFileKey })
            const plaintext = plaintextOf(1000)
            const file = await e.encrypt(plaintext)
            const path = join(dir, "rsa1024.age")
            writeFileSync(path, file)
            assert.deepEqual(run("age", ["-d", "-i", rsa1024, path]), Buffer.from(plaintext))

            const out = await decryptWith([loadKey(rsa1024)], file)
            assert.deepEqual(Buffer.from(out), Buffer.from(plaintext))
        })
})

/** A length-prefixed SSH wire string. */
function wireString(value: string | Uint8Array): Buffer {
    const bytes = Buffer.from(value)
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    return Buffer.concat([length, bytes])
}

/** An sk-ssh-ed25519@openssh.com public key blob, as a security key would make. */
function skBlob(): Buffer {
    return Buffer.concat([wireString("sk-ssh-ed25519@openssh.com"),
        wireString(randomBytes(32)), wireString("ssh:")])
}

/** An OpenSSH private key file whose public key is `publicBlob` (private part unreadable). */
function openSshFile(publicBlob: Buffer): string {
    const section = Buffer.concat([Buffer.alloc(8, 7), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])])
    const blob = Buffer.concat([Buffer.from("openssh-key-v1\0"), wireString("none"),
        wireString("none"), wireString(""), Buffer.from([0, 0, 0, 1]), wireString(publicBlob),
        wireString(section)])
    const lines = blob.toString("base64").match(/.{1,70}/g) ?? []
    return ["-----BEGIN OPENSSH PRIVATE KEY-----", ...lines,
        "-----END OPENSSH PRIVATE KEY-----", ""].join("\n")
}

function loadText(text: string, file: string): unknown {
    return loadSshIdentity(text, file, {
        passphrase: countingReader(PASSPHRASE).reader, warn: () => undefined,
    })
}

describe("key types age cannot use", () => {
    test("an ecdsa public key line is refused, naming the type", () => {
        const err = thrown(() => parseSshRecipient(readFileSync(`${ecdsa}.pub`, "utf8")),
            UsageError)
        assert.match(err.message, /is an ecdsa-sha2-nistp256 key, which age cannot use/)
        assertClean(err.message, [`${ecdsa}.pub`])
    })

    test("an sk-ssh-ed25519 public key line is refused, naming the type", () => {
        const line = `sk-ssh-ed25519@openssh.com ${skBlob().toString("base64")} me@key`
        assert.ok(isSshPublicKeyLine(line))
        const err = thrown(() => parseSshRecipient(line), UsageError)
        assert.match(err.message, /sk-ssh-ed25519@openssh\.com key, which age cannot use/)
    })

    test("an ecdsa private key (OpenSSH and PEM) is refused, naming the type and file", () => {
        const pem = convertKey(ecdsa, join(dir, "ecdsa-pem"), { format: "PEM" })
        for (const key of [ecdsa, pem]) {
            const err = thrown(() => loadKey(key), UsageError)
            assert.equal(err.message, `${key} is an ecdsa-sha2-nistp256 key, which age cannot ` +
                "use; use an ssh-ed25519 or ssh-rsa key, or an age1 recipient")
            assertClean(err.message, [key])
        }
    })

    test("a dsa private key is refused, naming the type", () => {
        const key = sshKeygen(dir, "dsa", "dsa")
        const err = thrown(() => loadKey(key), UsageError)
        assert.match(err.message, /dsa is an ssh-dss key, which age cannot use/)
    })

    test("an sk-ssh-ed25519 private key file is refused, naming the type", () => {
        const err = thrown(() => loadText(openSshFile(skBlob()), "~/.ssh/id_ed25519_sk"),
            UsageError)
        assert.match(err.message,
            /^~\/\.ssh\/id_ed25519_sk is an sk-ssh-ed25519@openssh\.com key, which age cannot/)
    })
})

describe("stanzas", () => {
    const edLine = readFileSync(`${ed}.pub`, "utf8")
    const edTag = tagOf(`${ed}.pub`)
    const rsaTag = tagOf(`${rsaProtected}.pub`)

    async function edStanza(): Promise<{ fileKey: Uint8Array, stanza: HeaderStanza }> {
        const fileKey = new Uint8Array(randomBytes(16))
        const stanzas = await parseSshRecipient(edLine).wrapFileKey(fileKey)
        assert.equal(stanzas.length, 1)
        return { fileKey, stanza: stanzas[0]! }
    }

    test("ssh-ed25519: a valid stanza unwraps; other tags and types give null", async () => {
        const identity = loadKey(ed)
        const { fileKey, stanza } = await edStanza()
        assert.deepEqual(await identity.unwrapFileKey([stanza]), fileKey)

        const others = [
            new Stanza(["ssh-ed25519", "AAAAAA", stanza.args[2]!], stanza.body),
            new Stanza(["ssh-ed25519", "AAAAAA"], stanza.body),
            new Stanza(["ssh-ed25519"], stanza.body),
            new Stanza(["ssh-rsa", edTag], stanza.body),
            new Stanza(["X25519", edTag], stanza.body),
        ]
        assert.equal(await identity.unwrapFileKey(others), null)
    })

    test("ssh-ed25519: malformed stanzas with our tag throw, naming the key file", async () => {
        const identity = loadKey(ed)
        const { stanza } = await edStanza()
        const share = stanza.args[2]!
        const tampered = new Uint8Array(stanza.body)
        tampered[3]! ^= 1
        const cases: [Stanza, RegExp][] = [
            [new Stanza(["ssh-ed25519", edTag], stanza.body), /expected 2 arguments, found 1/],
            [new Stanza(["ssh-ed25519", edTag, share, "x"], stanza.body), /found 3/],
            [new Stanza(["ssh-ed25519", edTag, "AAAA"], stanza.body), /not 32 bytes/],
            [new Stanza(["ssh-ed25519", edTag, share + "="], stanza.body), /not 32 bytes/],
            [new Stanza(["ssh-ed25519", edTag, share], stanza.body.subarray(0, 31)),
                /body is 31 bytes/],
            [new Stanza(["ssh-ed25519", edTag, share], tampered), /does not authenticate/],
            [new Stanza(["ssh-ed25519", edTag, "A".repeat(43)], stanza.body), /low-order/],
        ]
        for (const [bad, reason] of cases) {
            const err = await rejection(() => identity.unwrapFileKey([bad]), OperationError)
            assert.ok(err.message.startsWith(`the ssh-ed25519 stanza for ${ed} is invalid`))
            assert.match(err.message, reason)
            assertClean(err.message, [ed])
        }
    })

    test("ssh-rsa: malformed or tampered stanzas with our tag throw; others give null",
        async () => {
            const { reader, prompts } = countingReader(PASSPHRASE)
            const identity = loadKey(rsaProtected, { passphrase: reader })
            const line = readFileSync(`${rsaProtected}.pub`, "utf8")
            const fileKey = new Uint8Array(randomBytes(16))
            const stanza = (await parseSshRecipient(line).wrapFileKey(fileKey))[0]!

            await rejection(() => identity.unwrapFileKey(
                [new Stanza(["ssh-rsa", rsaTag, "extra"], stanza.body)]), OperationError)
            assert.equal(prompts.length, 0, "a malformed stanza is refused before the prompt")
            assert.equal(await identity.unwrapFileKey(
                [new Stanza(["ssh-rsa", "AAAAAA", "extra"], stanza.body)]), null)
            assert.equal(prompts.length, 0)

            assert.deepEqual(await identity.unwrapFileKey([stanza]), fileKey)
            const tampered = new Uint8Array(stanza.body)
            tampered[10]! ^= 1
            const err = await rejection(() => identity.unwrapFileKey(
                [new Stanza(["ssh-rsa", rsaTag], tampered)]), OperationError)
            assert.match(err.message, /ssh-rsa stanza for .*rsa-protected is invalid/)
            assert.equal(prompts.length, 1)
        })
})

describe("key files", () => {
    test("CRLF line ends and a byte-order mark are accepted (OpenSSH and PEM)", async () => {
        const rsaPem = convertKey(rsaProtected, join(dir, "rsa-pem-plain"),
            { oldPassphrase: PASSPHRASE, format: "PEM" })
        for (const key of [ed, edProtected, rsaPem]) {
            const crlf = `${key}-crlf`
            writeFileSync(crlf, "\uFEFF" + readFileSync(key, "utf8").replace(/\n/g, "\r\n"))
            writeFileSync(`${crlf}.pub`, readFileSync(`${key}.pub`))

            const plaintext = plaintextOf(3)
            const out = await decryptWith([loadKey(crlf)], ageTo(key, plaintext))
            assert.deepEqual(Buffer.from(out), Buffer.from(plaintext))
        }
    })

    test("an Ed25519 PKCS#8 key made by openssl works both ways with Go age", async () => {
        const key = join(dir, "openssl-ed25519.pem")
        run("openssl", ["genpkey", "-algorithm", "ed25519", "-out", key])
        const identity = loadKey(key)
        assert.equal(identity.keyType, "ssh-ed25519")
        assert.match(identity.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+$/)

        const plaintext = plaintextOf(70000)
        const path = join(dir, "openssl.age")
        writeFileSync(path, await encryptTo([identity.publicKey], plaintext, false))
        assert.deepEqual(run("age", ["-d", "-i", key, path]), Buffer.from(plaintext))

        writeFileSync(`${key}.line`, identity.publicKey + "\n")
        const goFile = run("age", ["-R", `${key}.line`], plaintext)
        assert.deepEqual(Buffer.from(await decryptWith([identity], goFile)), Buffer.from(plaintext))
    })

    test("malformed files are UsageErrors naming the file, without key material", () => {
        const text = readFileSync(ed, "utf8")
        const lines = text.split("\n")
        const truncated = [...lines.slice(0, 3), lines.at(-2), ""].join("\n")
        const noEnd = lines.slice(0, -2).join("\n")

        const blob = Buffer.from(lines.slice(1, -2).join(""), "base64")
        let sectionBytes = 8
        while (blob.readUInt32BE(blob.length - sectionBytes - 4) !== sectionBytes) sectionBytes += 8
        const corrupt = Buffer.from(blob)
        corrupt[blob.length - sectionBytes]! ^= 0xff
        const corruptText = ["-----BEGIN OPENSSH PRIVATE KEY-----",
            ...(corrupt.toString("base64").match(/.{1,70}/g) ?? []),
            "-----END OPENSSH PRIVATE KEY-----", ""].join("\n")

        const cases: [string, RegExp][] = [
            [truncated, /is a malformed OpenSSH private key \(field runs past the end/],
            [noEnd, /is truncated: its "-----END OPENSSH PRIVATE KEY-----" line is missing/],
            [corruptText, /is a malformed OpenSSH private key \(the check integers differ\)/],
            ["hello\n", /is not a PEM private key file/],
            ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                /holds a "CERTIFICATE", not an SSH private key/],
        ]
        for (const [bad, reason] of cases) {
            const err = thrown(() => loadText(bad, "~/.ssh/broken"), UsageError)
            assert.ok(err.message.startsWith("~/.ssh/broken "), err.message)
            assert.match(err.message, reason)
            assertClean(err.message, [ed])
        }
    })

    test("the private key detector accepts key files and nothing else", () => {
        const pkcs8 = convertKey(rsaProtected, join(dir, "rsa-detect"),
            { oldPassphrase: PASSPHRASE, passphrase: PASSPHRASE, format: "PKCS8" })
        for (const key of [ed, edProtected, rsaProtected, rsa1024, ecdsa, pkcs8]) {
            assert.ok(looksLikeSshPrivateKey(readFileSync(key, "utf8")), key)
        }
        assert.ok(looksLikeSshPrivateKey("\r\n  -----BEGIN RSA PRIVATE KEY-----\r\nAAAA"))
        for (const text of ["", "AGE-SECRET-KEY-1QQQ\n", "# comment\n",
            readFileSync(`${ed}.pub`, "utf8"), "-----BEGIN CERTIFICATE-----\n"]) {
            assert.ok(!looksLikeSshPrivateKey(text), text)
        }
    })
})

describe("public key lines", () => {
    test("the line detector knows SSH public keys of every type", () => {
        for (const key of [ed, rsa1024, ecdsa]) {
            assert.ok(isSshPublicKeyLine(readFileSync(`${key}.pub`, "utf8")), key)
        }
        assert.ok(isSshPublicKeyLine(`${readFileSync(`${ed}.pub`, "utf8").trim()}\r`))
        const notKeys = ["age1qqqq", "ssh-ed25519", "ssh-ed25519 notbase64", "hello world",
            "AGE-SECRET-KEY-1QQQ", ""]
        for (const text of notKeys) assert.ok(!isSshPublicKeyLine(text), text)
    })

    test("bad lines are UsageErrors that never quote the key", () => {
        const [, edData] = readFileSync(`${ed}.pub`, "utf8").split(" ")
        const [, rsaData] = readFileSync(`${rsa1024}.pub`, "utf8").split(" ")
        const cases: [string, RegExp][] = [
            ["hello", /not an SSH public key line/],
            [`ssh-rsa ${edData ?? ""}`, /says ssh-rsa but holds a ssh-ed25519 key/],
            [`ssh-ed25519 ${rsaData ?? ""}`, /says ssh-ed25519 but holds a ssh-rsa key/],
            [`ssh-ed25519 ${(edData ?? "").slice(0, 40)}`, /malformed ssh-ed25519 key/],
            [`ssh-ed25519 ${(edData ?? "").slice(0, 41)}`, /not valid base64/],
            [`ssh-dss ${edData ?? ""}`, /is an ssh-dss key, which age cannot use/],
        ]
        for (const [line, reason] of cases) {
            const err = thrown(() => parseSshRecipient(line), UsageError)
            assert.match(err.message, reason)
            assert.equal(err.exitCode, 2)
            assertClean(err.message, [`${ed}.pub`, `${rsa1024}.pub`])
        }
    })
})
