/**
 * Interoperability with the real Go age binary, both directions, through the
 * CLI: files age writes decrypt with `homeage decrypt`, and files `homeage
 * encrypt` writes decrypt with `age -d`, byte for byte, for every key type
 * (X25519, ssh-ed25519, ssh-rsa of 2048, 3072, 4096 and 2050 bits,
 * passphrase-protected OpenSSH keys, scrypt passphrases), several recipients
 * in one file, binary and armored, at the sizes around the 64 KiB chunk edge.
 */
import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, before, describe, test } from "node:test"

import { askpassScript, homeage, inTerminal, must, run, tempFolder } from "./age/helpers.js"

/** Plaintext sizes: empty, one byte, exactly one chunk, one chunk and a byte, 5 MiB. */
const SIZES = [0, 1, 65536, 65537, 5 * 1024 * 1024]

/** The passphrase of the protected SSH keys and of the scrypt files. */
const PASSPHRASE = "correct horse battery staple"

interface Key {
    name: string
    /** The identity file homeage decrypts with. */
    identity: string
    /** The identity file Go age decrypts with (an unprotected copy of a protected key). */
    ageIdentity: string
    /** The recipient, as given to `-r`. */
    recipient: string
}

const work = tempFolder("interop")
const dir = work.dir
const keys: Key[] = []
const plaintexts = new Map<number, string>()
let askpass = ""

async function sshKey(
    name: string, type: string, bits: number | undefined, protect: boolean,
): Promise<Key> {
    const file = join(dir, name)
    const size = bits === undefined ? [] : ["-b", String(bits)]
    await must("ssh-keygen", ["-q", "-t", type, ...size, "-N", protect ? PASSPHRASE : "",
        "-C", name, "-f", file])
    let ageIdentity = file
    if (protect) {
        ageIdentity = `${file}.plain`
        copyFileSync(file, ageIdentity)
        await must("ssh-keygen", ["-q", "-p", "-P", PASSPHRASE, "-N", "", "-f", ageIdentity])
    }
    const recipient = readFileSync(`${file}.pub`, "utf8").trim()
    return { name, identity: file, ageIdentity, recipient }
}

before(async () => {
    await must("age-keygen", ["-o", join(dir, "x25519.key")])
    const x25519 = (await must("age-keygen", ["-y", join(dir, "x25519.key")])).toString().trim()
    const x25519Key = join(dir, "x25519.key")
    keys.push({ name: "x25519", identity: x25519Key, ageIdentity: x25519Key, recipient: x25519 })

    keys.push(...await Promise.all([
        sshKey("ed25519", "ed25519", undefined, false),
        sshKey("rsa2048", "rsa", 2048, false),
        sshKey("rsa3072", "rsa", 3072, false),
        sshKey("rsa4096", "rsa", 4096, false),
        sshKey("rsa2050", "rsa", 2050, false),
        sshKey("ed25519-protected", "ed25519", undefined, true),
        sshKey("rsa-protected", "rsa", 3072, true),
    ]))

    for (const size of SIZES) {
        const file = join(dir, `plain-${size}`)
        writeFileSync(file, randomBytes(size))
        plaintexts.set(size, file)
    }
    askpass = askpassScript(dir, PASSPHRASE)
})

after(() => {
    work.remove()
})

function plaintext(size: number): string {
    const file = plaintexts.get(size)
    assert.ok(file !== undefined)
    return file
}

const env = (): NodeJS.ProcessEnv => ({ HOMEAGE_ASKPASS: askpass })

function assertSameFile(actual: string, expected: string): void {
    assert.ok(readFileSync(actual).equals(readFileSync(expected)), `${actual} differs`)
}

describe("age -> homeage decrypt", () => {
    let file = 0
    for (const armor of [false, true]) {
        for (const size of SIZES) {
            const kind = armor ? "armored" : "binary"
            const index = file++
            test(`${kind}, ${size} bytes, encrypted to all 8 key types`, async () => {
                const encrypted = join(dir, `age-${kind}-${size}.age`)
                const recipients = keys.flatMap((k) => ["-r", k.recipient])
                await must("age", ["-e", ...(armor ? ["-a"] : []), ...recipients,
                    "-o", encrypted, plaintext(size)])
                if (armor) assert.match(readFileSync(encrypted, "latin1"), /^-----BEGIN AGE/)

                // Each file is decrypted with another key type, so that every type is
                // found among several recipients; each type alone is tested below.
                const key = keys[index % keys.length]!
                const out = join(dir, `age-${kind}-${size}.out`)
                const r = await homeage(["decrypt", "-i", key.identity, "-o", out, encrypted],
                    { env: env() })
                assert.equal(r.code, 0, `${key.name}: ${r.stderr}`)
                assertSameFile(out, plaintext(size))
            })
        }
    }

    test("each key type alone, decrypted to standard output", async () => {
        for (const key of keys) {
            const encrypted = join(dir, `age-alone-${key.name}.age`)
            await must("age", ["-e", "-r", key.recipient, "-o", encrypted, plaintext(65537)])
            const r = await homeage(["decrypt", "-i", key.identity, encrypted], { env: env() })
            assert.equal(r.code, 0, `${key.name}: ${r.stderr}`)
            assert.ok(r.stdout.equals(readFileSync(plaintext(65537))), key.name)
        }
    })

    test("scrypt: age -p, homeage decrypt asks HOMEAGE_ASKPASS", async () => {
        for (const armor of [false, true]) {
            const encrypted = join(dir, `age-scrypt-${String(armor)}.age`)
            const flags = armor ? "-p -a" : "-p"
            await inTerminal(`age ${flags} -o ${encrypted} ${plaintext(65537)}`,
                `${PASSPHRASE}\n${PASSPHRASE}\n`, dir)
            assert.ok(existsSync(encrypted), "age -p wrote its file")

            const out = join(dir, `age-scrypt-${String(armor)}.out`)
            const r = await homeage(["decrypt", "-o", out, encrypted], { env: env() })
            assert.equal(r.code, 0, r.stderr)
            assertSameFile(out, plaintext(65537))
        }
    })
})

describe("homeage encrypt -> age -d", () => {
    for (const armor of [false, true]) {
        for (const size of SIZES) {
            const kind = armor ? "armored" : "binary"
            test(`${kind}, ${size} bytes, to all 8 key types in one file`, async () => {
                const encrypted = join(dir, `homeage-${kind}-${size}.age`)
                const recipients = keys.flatMap((k) => ["-r", k.recipient])
                const r = await homeage(["encrypt", ...(armor ? ["-a"] : []), ...recipients,
                    "-o", encrypted, plaintext(size)])
                assert.equal(r.code, 0, r.stderr)
                if (armor) assert.match(readFileSync(encrypted, "latin1"), /^-----BEGIN AGE/)

                const expected = readFileSync(plaintext(size))
                for (const key of keys) {
                    const out = await must("age", ["-d", "-i", key.ageIdentity, encrypted])
                    assert.ok(out.equals(expected), key.name)
                }
            })
        }
    }

    test("each key type alone, from standard input, via -R and -i", async () => {
        for (const key of keys) {
            const encrypted = join(dir, `homeage-alone-${key.name}.age`)
            const pub = join(dir, `${key.name}.recipients`)
            writeFileSync(pub, `# ${key.name}\n${key.recipient}\n`)
            const r = await homeage(["encrypt", "-R", pub, "-o", encrypted],
                { input: readFileSync(plaintext(1)) })
            assert.equal(r.code, 0, `${key.name}: ${r.stderr}`)
            const expected = readFileSync(plaintext(1))
            const out = await must("age", ["-d", "-i", key.ageIdentity, encrypted])
            assert.ok(out.equals(expected), key.name)

            const viaIdentity = join(dir, `homeage-i-${key.name}.age`)
            const i = await homeage(["encrypt", "-i", key.identity, "-o", viaIdentity,
                plaintext(1)], { env: env() })
            assert.equal(i.code, 0, `${key.name}: ${i.stderr}`)
            const again = await must("age", ["-d", "-i", key.ageIdentity, viaIdentity])
            assert.ok(again.equals(expected), key.name)
        }
    })

    test("scrypt: homeage encrypt -p with HOMEAGE_ASKPASS, age -d in a terminal", async () => {
        for (const armor of [false, true]) {
            const encrypted = join(dir, `homeage-scrypt-${String(armor)}.age`)
            const r = await homeage(["encrypt", "-p", ...(armor ? ["-a"] : []), "-o", encrypted,
                plaintext(65537)], { env: env() })
            assert.equal(r.code, 0, r.stderr)
            const header = readFileSync(encrypted, "latin1")
            if (!armor) assert.match(header, /^age-encryption\.org\/v1\n-> scrypt \S{22} 18\n/)

            const out = join(dir, `homeage-scrypt-${String(armor)}.out`)
            await inTerminal(`age -d -o ${out} ${encrypted}`, `${PASSPHRASE}\n`, dir)
            assertSameFile(out, plaintext(65537))
        }
    })
})

test("a protected key is skipped, not prompted for, without a terminal or askpass", async () => {
    const key = keys.find((k) => k.name === "ed25519-protected")
    assert.ok(key !== undefined)
    const encrypted = join(dir, "skip.age")
    await must("age", ["-e", "-r", key.recipient, "-o", encrypted, plaintext(1)])
    const out = join(dir, "skip.out")
    const d = await homeage(["decrypt", "-i", key.identity, "-o", out, encrypted],
        { env: { HOMEAGE_ASKPASS: "" } })
    assert.equal(d.code, 1)
    assert.match(d.stderr, /passphrase/)
    assert.match(d.stderr, /no identity matched/)
    assert.equal(existsSync(out), false)
})

test("whitespace around the armor decrypts as the C2SP vectors require; Go age 1.1.1 refuses it",
    async () => {
        const key = keys.find((k) => k.name === "x25519")
        assert.ok(key !== undefined)
        const armored = await must("age", ["-e", "-a", "-r", key.recipient, plaintext(1)])
        const padded = join(dir, "whitespace.age")
        // The whitespace of the vector armor_whitespace_outside ("expect: success").
        writeFileSync(padded, Buffer.concat([Buffer.from("\n\r   \t\n"), armored,
            Buffer.from("\n\r   \t\n")]))

        const out = join(dir, "whitespace.out")
        const r = await homeage(["decrypt", "-i", key.identity, "-o", out, padded])
        assert.equal(r.code, 0, r.stderr)
        assertSameFile(out, plaintext(1))

        const go = await run("age", ["-d", "-i", key.ageIdentity, padded])
        assert.equal(go.code, 1, "age 1.1.1 predates this rule; a newer age accepts the file")
        assert.match(go.stderr, /unexpected intro/)
    })
