/**
 * The age commands' failures, through the CLI: each test checks the exit
 * status, the gist of the message, that the message does not echo what it
 * must not, and that no output file (nor temp file) exists afterwards.
 */
import assert from "node:assert/strict"
import { spawn, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import {
    existsSync, mkdirSync, openSync, readFileSync, readdirSync, symlinkSync, writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import * as vectors from "cctv-age"

import { CLI } from "./helpers/cli.js"
import { homeage, inTerminal, must, tempFolder } from "./age/helpers.js"

const work = tempFolder("errors")
const dir = work.dir
const outDir = join(dir, "out")
const out = join(outDir, "plain.txt")
let key = ""
let recipient = ""
const plaintext = randomBytes(3 * 65536 + 100)
let encrypted: Buffer = Buffer.alloc(0)

before(async () => {
    mkdirSync(outDir)
    key = join(dir, "key.txt")
    await must("age-keygen", ["-o", key])
    recipient = (await must("age-keygen", ["-y", key])).toString().trim()
    writeFileSync(join(dir, "plain"), plaintext)
    encrypted = await must("age", ["-e", "-r", recipient, join(dir, "plain")])
})

after(() => {
    work.remove()
})

/** Writes `bytes` as a file to decrypt and returns its path. */
function input(name: string, bytes: Uint8Array): string {
    const path = join(dir, name)
    writeFileSync(path, bytes)
    return path
}

function assertNoOutput(): void {
    assert.deepEqual(readdirSync(outDir), [], "no output or temp file may exist")
}

/** Where the payload starts: after the MAC line and the 16-byte nonce. */
function payloadStart(file: Buffer): number {
    return file.indexOf("\n---") + file.subarray(file.indexOf("\n---") + 1).indexOf("\n") + 2
        + 16
}

/** Size of a sealed full chunk. */
const SEALED = 65536 + 16

async function decryptFails(file: string, code: number, gist: RegExp): Promise<string> {
    const r = await homeage(["decrypt", "-i", key, "-o", out, file])
    assert.equal(r.code, code, r.stderr)
    assert.match(r.stderr, gist)
    assert.ok(r.stderr.includes(file), "the message names the input file")
    assertNoOutput()

    const stdout = await homeage(["decrypt", "-i", key, file])
    assert.equal(stdout.code, code)
    assert.equal(stdout.stdout.length, 0, "no plaintext on standard output")
    return r.stderr
}

test("the unmodified file decrypts (the baseline of the cases below)", async () => {
    const r = await homeage(["decrypt", "-i", key, "-o", out, input("good.age", encrypted)])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(readFileSync(out).equals(plaintext))
    assert.equal(readdirSync(outDir).length, 1)
    await must("rm", [out])
})

test("malformed header: exit 1, not a valid age file", async () => {
    const bad = Buffer.from(encrypted)
    bad.write("-> X25519  ", encrypted.indexOf("-> X25519"), "latin1")
    await decryptFails(input("bad-header.age", bad), 1, /not a valid age file/)

    const notAge = input("not-age.age", Buffer.from("hello, world\n"))
    await decryptFails(notAge, 1, /not an age file/)
})

test("an input that is a folder: exit 1, the input named as the folder", async () => {
    const folder = join(dir, "a-folder.age")
    mkdirSync(folder)
    const message = await decryptFails(folder, 1, /is a folder, not a file/)
    assert.match(message, new RegExp(`cannot read ${folder}:`))
    assert.ok(!message.includes(out), "the message blames the output")
})

test("-o naming the input file (or a link to it): exit 2, the input kept", async () => {
    const file = input("in-place.age", encrypted)
    const link = join(dir, "link-to-in-place.age")
    symlinkSync(file, link)
    for (const output of [file, link]) {
        const r = await homeage(["decrypt", "-i", key, "-o", output, file])
        assert.equal(r.code, 2, r.stderr)
        assert.equal(r.stderr, `homeage: error: -o ${output} is the input file ${file}; writing ` +
            "it would replace the file being read: choose another output path\n")
        assert.deepEqual(readFileSync(file), encrypted)
    }
    const plain = input("in-place.txt", plaintext)
    const r = await homeage(["encrypt", "-r", recipient, "-o", plain, plain])
    assert.equal(r.code, 2, r.stderr)
    assert.deepEqual(readFileSync(plain), plaintext)

    // The same file given as standard input.
    const viaStdin = spawnSync(process.execPath, [CLI, "decrypt", "-i", key, "-o", file],
        { stdio: [openSync(file, "r"), "pipe", "pipe"], encoding: "utf8" })
    assert.equal(viaStdin.status, 2, viaStdin.stderr)
    assert.match(viaStdin.stderr, /is standard input; writing it would replace/)
    assert.deepEqual(readFileSync(file), encrypted)
})

test("truncated at a chunk boundary: exit 1, truncated", async () => {
    const cut = encrypted.subarray(0, payloadStart(encrypted) + 2 * SEALED)
    await decryptFails(input("truncated.age", cut), 1, /truncated.*without its last chunk/)

    const headerOnly = encrypted.subarray(0, payloadStart(encrypted) - 16)
    await decryptFails(input("header-only.age", headerOnly), 1, /truncated/)
})

test("truncated inside the last chunk: exit 1, cut short", async () => {
    const cut = encrypted.subarray(0, encrypted.length - 7)
    await decryptFails(input("cut.age", cut), 1, /chunk 4 \(the last\).*cut short/)
})

test("tampered payload, last chunk: exit 1, tampered, nothing written", async () => {
    const bad = Buffer.from(encrypted)
    bad[bad.length - 20]! ^= 0x01
    await decryptFails(input("tampered-last.age", bad), 1, /tampered.*chunk 4/)
})

test("tampered payload, middle chunk: exit 1, tampered, an existing output kept", async () => {
    const bad = Buffer.from(encrypted)
    bad[payloadStart(encrypted) + SEALED + 100]! ^= 0x80
    const file = input("tampered-middle.age", bad)

    writeFileSync(out, "old content\n")
    const r = await homeage(["decrypt", "-i", key, "-o", out, file])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /tampered.*chunk 2 failed authentication/)
    assert.equal(readFileSync(out, "utf8"), "old content\n")
    assert.deepEqual(readdirSync(outDir), ["plain.txt"])
    await must("rm", [out])
    await decryptFails(file, 1, /chunk 2/)
})

test("wrong key: exit 1, no identity matched, the identity files tried listed", async () => {
    const other = join(dir, "other.txt")
    await must("age-keygen", ["-o", other])
    const r = await homeage(["decrypt", "-i", other, "-o", out, input("wrong.age", encrypted)])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /no identity matched/)
    assert.ok(r.stderr.includes(`identity files tried: ${other}`), r.stderr)
    assertNoOutput()
})

test("identity file errors: exit 2, file and line number, the line not echoed", async () => {
    const secretish = "NOT-A-KEY-but-private-looking-text"
    const file = input("broken-id.txt", Buffer.from(`# comment\n\n${secretish}\n`))
    const r = await homeage(["decrypt", "-i", file, "-o", out, input("x.age", encrypted)])
    assert.equal(r.code, 2)
    assert.ok(r.stderr.includes(`${file}:3: not an identity line`), r.stderr)
    assert.ok(!r.stderr.includes(secretish))
    assertNoOutput()

    const bad = Buffer.from(readFileSync(key, "utf8").replace(/AGE-SECRET-KEY-1(.)/, (m, c) =>
        m.slice(0, -1) + (c === "Q" ? "P" : "Q")))
    const corrupt = input("corrupt-id.txt", bad)
    const c = await homeage(["decrypt", "-i", corrupt, "-o", out, input("x.age", encrypted)])
    assert.equal(c.code, 2)
    assert.match(c.stderr, /corrupt-id\.txt:3: malformed X25519 identity/)
    assert.ok(!c.stderr.includes("AGE-SECRET-KEY"))
    assertNoOutput()
})

test("a recipient given as an identity: exit 2, says so, not echoed", async () => {
    const file = input("recipient-as-id.txt", Buffer.from(`${recipient}\n`))
    const r = await homeage(["decrypt", "-i", file, "-o", out, input("x.age", encrypted)])
    assert.equal(r.code, 2)
    assert.ok(r.stderr.includes(`${file}:1: this is a recipient (a public key), not an identity`))
    assert.ok(!r.stderr.includes(recipient))
    assertNoOutput()

    const pub = input("ssh-as-id.txt", Buffer.from(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOAxapmJ4AItUEE1OXs151/MRw16MMQq+3e0lGc6jP/b me\n"))
    const s = await homeage(["decrypt", "-i", pub, "-o", out, input("x.age", encrypted)])
    assert.equal(s.code, 2)
    assert.match(s.stderr, /:1: this is an SSH public key, not an identity/)
    assertNoOutput()
})

test("an identity given as a recipient: exit 2, the secret key not echoed", async () => {
    const secret = readFileSync(key, "utf8").split("\n").find((l) => l.startsWith("AGE-"))!
    const r = await homeage(["encrypt", "-r", secret, "-o", join(outDir, "x.age"),
        join(dir, "plain")])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /this is an identity \(a secret key\), not a recipient/)
    assert.ok(!r.stderr.includes(secret))
    assertNoOutput()
})

test("keygen -o an existing file: exit 1, the file byte-identical", async () => {
    const existing = join(dir, "existing-key.txt")
    const before = Buffer.from("# precious\nAGE-SECRET-KEY-1EXISTING\n")
    writeFileSync(existing, before, { mode: 0o600 })
    const r = await homeage(["keygen", "-o", existing])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /already exists; keygen never overwrites/)
    assert.ok(readFileSync(existing).equals(before))
    assert.equal(r.stdout.length, 0)
})

test("scrypt stanza not alone: exit 1, header error", async () => {
    const vector = Buffer.from((vectors as Record<string, Uint8Array>).scrypt_and_x25519!)
    const file = input("scrypt-not-alone.age", vector.subarray(vector.indexOf("\n\n") + 2))
    await decryptFails(file, 1, /passphrase \(scrypt\) stanza must be the only stanza/)
})

test("excessive scrypt work factor: exit 1, refused before asking a passphrase", async () => {
    const vector = Buffer.from((vectors as Record<string, Uint8Array>).scrypt_work_factor_23!)
    const file = input("work-factor.age", vector.subarray(vector.indexOf("\n\n") + 2))
    const r = await homeage(["decrypt", "-o", out, file], { env: { HOMEAGE_ASKPASS: "false" } })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /work factor 23 is above the limit of 22/)
    assertNoOutput()
})

test("a passphrase file given identities: exit 1, says to drop -i", async () => {
    const vector = Buffer.from((vectors as Record<string, Uint8Array>).scrypt!)
    const file = input("scrypt.age", vector.subarray(vector.indexOf("\n\n") + 2))
    await decryptFails(file, 1, /encrypted with a passphrase.*without -i/)
})

test("encrypt refuses binary output to a terminal: exit 2; -a is accepted", async () => {
    const plain = join(dir, "plain")
    const cli = `${process.execPath} ${CLI}`
    const binary = await inTerminal(`${cli} encrypt -r ${recipient} ${plain}; echo "rc=$?"`,
        "", dir)
    assert.match(binary.stdout.toString(), /refusing to write binary ciphertext to the terminal/)
    assert.match(binary.stdout.toString(), /rc=2/)

    const armored = await inTerminal(`${cli} encrypt -a -r ${recipient} ${plain} | head -1`,
        "", dir)
    assert.match(armored.stdout.toString(), /-----BEGIN AGE ENCRYPTED FILE-----/)
})

test("a missing input file: exit 1, nothing created", async () => {
    await decryptFails(join(dir, "missing.age"), 1, /cannot read .*missing\.age: no such file/)
})

test("SIGTERM while decrypting into -o: the temp file is removed", async () => {
    const big = randomBytes(4 * 1024 * 1024)
    const bigFile = input("big", big)
    const sealed = await must("age", ["-e", "-r", recipient, bigFile])

    const child = spawn(process.execPath, [CLI, "decrypt", "-i", key, "-o", out],
        { stdio: ["pipe", "ignore", "pipe"], detached: true })
    const exited = new Promise<NodeJS.Signals | null>((resolve) => {
        child.on("close", (_code, signal) => {
            resolve(signal)
        })
    })
    child.stdin.on("error", () => undefined)
    // Half the file, then wait (stdin stays open) until the temp file exists.
    child.stdin.write(sealed.subarray(0, sealed.length / 2))
    while (readdirSync(outDir).length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.match(readdirSync(outDir)[0]!, /^\.homeage-tmp-/)
    child.kill("SIGTERM")
    assert.equal(await exited, "SIGTERM")
    assertNoOutput()
    assert.equal(existsSync(out), false)
})

/** A passphrase-protected ssh-ed25519 key, a file encrypted to it, and an askpass script. */
async function protectedKeyFixture(): Promise<{ key: string, file: string }> {
    const key = join(dir, "protected-ed")
    if (!existsSync(key)) {
        await must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "right", "-C", "", "-f", key])
    }
    const file = join(dir, "to-protected.age")
    await must("age", ["-e", "-R", `${key}.pub`, "-o", file, join(dir, "plain")])
    return { key, file }
}

function askpassProgram(name: string, body: string): string {
    const path = join(dir, name)
    writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 })
    return path
}

test("HOMEAGE_ASKPASS exiting 3: the key is skipped, the program and its status named",
    async () => {
        const { key, file } = await protectedKeyFixture()
        const program = askpassProgram("exit3.sh", "exit 3")
        const r = await homeage(["decrypt", "-i", key, "-o", out, file],
            { env: { HOMEAGE_ASKPASS: program } })
        assert.equal(r.code, 1, r.stderr)
        assert.ok(r.stderr.includes(`warning: ${key}: skipped this passphrase-protected key:`
            + ` HOMEAGE_ASKPASS program ${program} failed with exit status 3; fix the program`
            + " or unset HOMEAGE_ASKPASS"), r.stderr)
        assert.ok(r.stderr.includes(`identity files tried: none; skipped: ${key} (HOMEAGE_ASKPASS`
            + ` program ${program} failed with exit status 3)`), r.stderr)
        assert.ok(!r.stderr.includes("no terminal"), r.stderr)
        assertNoOutput()
    })

test("HOMEAGE_ASKPASS printing nothing: an empty passphrase, not an incorrect one", async () => {
    const { key, file } = await protectedKeyFixture()
    const program = askpassProgram("empty.sh", "printf '\\n'")
    const r = await homeage(["decrypt", "-i", key, "-o", out, file],
        { env: { HOMEAGE_ASKPASS: program } })
    assert.equal(r.code, 1, r.stderr)
    assert.ok(r.stderr.includes(`HOMEAGE_ASKPASS program ${program} returned an empty`
        + " passphrase"), r.stderr)
    assert.ok(!r.stderr.includes("incorrect passphrase"), r.stderr)
    assertNoOutput()

    const right = askpassProgram("right.sh", "echo right")
    const ok = await homeage(["decrypt", "-i", key, "-o", out, file],
        { env: { HOMEAGE_ASKPASS: right } })
    assert.equal(ok.code, 0, ok.stderr)
    assert.ok(readFileSync(out).equals(plaintext))
    await must("rm", [out])
})

test("a failing HOMEAGE_ASKPASS for a passphrase file or encrypt -p: exit 1, program named",
    async () => {
        const program = askpassProgram("exit3-file.sh", "exit 3")
        const vector = Buffer.from((vectors as Record<string, Uint8Array>).scrypt!)
        const file = input("scrypt-askpass.age", vector.subarray(vector.indexOf("\n\n") + 2))
        const d = await homeage(["decrypt", "-o", out, file], { env: { HOMEAGE_ASKPASS: program } })
        assert.equal(d.code, 1, d.stderr)
        assert.ok(d.stderr.includes(`${file}: cannot decrypt: it is encrypted with a passphrase,`
            + ` and HOMEAGE_ASKPASS program ${program} failed with exit status 3`), d.stderr)
        assertNoOutput()

        const sealed = join(outDir, "p.age")
        const e = await homeage(["encrypt", "-p", "-o", sealed, join(dir, "plain")],
            { env: { HOMEAGE_ASKPASS: program } })
        assert.equal(e.code, 1, e.stderr)
        assert.match(e.stderr, /HOMEAGE_ASKPASS program .*exit3-file\.sh failed with exit status 3/)
        assertNoOutput()
    })

test("a protected key skipped for want of a terminal is listed as skipped, not as tried",
    async () => {
        const { key, file } = await protectedKeyFixture()
        const other = join(dir, "other-for-skip.txt")
        await must("age-keygen", ["-o", other])
        const r = await homeage(["decrypt", "-i", key, "-i", other, "-o", out, file],
            { env: { HOMEAGE_ASKPASS: "" } })
        assert.equal(r.code, 1, r.stderr)
        assert.ok(r.stderr.includes(`identity files tried: ${other}; skipped: ${key} (there is`
            + " no terminal to ask for its passphrase and HOMEAGE_ASKPASS is not set)"), r.stderr)
        assertNoOutput()
    })

test("an identity file that could not be loaded is listed as skipped, with its reason",
    async () => {
        const missing = join(dir, "no-such-key.txt")
        const other = join(dir, "other-for-missing.txt")
        await must("age-keygen", ["-o", other])
        const r = await homeage(["decrypt", "-i", missing, "-i", other, "-o", out,
            input("y.age", encrypted)])
        assert.equal(r.code, 1, r.stderr)
        assert.ok(r.stderr.includes(`identity files tried: ${other}; skipped: ${missing} (no such`
            + " identity file)"), r.stderr)
        assertNoOutput()
    })

test("decrypt without -i: the advice is -i FILE; decrypt does not read identityPaths",
    async () => {
        const r = await homeage(["decrypt", "-o", out, input("no-i.age", encrypted)])
        assert.equal(r.code, 1, r.stderr)
        assert.ok(r.stderr.includes("no identity file was given. Give the identity it was"
            + " encrypted to (-i FILE), or re-encrypt it"), r.stderr)
        assert.ok(!r.stderr.includes("identityPaths"), r.stderr)
        assertNoOutput()
    })

test("no usable identity among several files: each file's reason on its own line", async () => {
    const typo = input("typo-key.txt", Buffer.from(readFileSync(key, "utf8")
        .replace(/AGE-SECRET-KEY-1(.)/, (m, c) => m.slice(0, -1) + (c === "Q" ? "P" : "Q"))))
    const pub = input("pub-as-key.txt", Buffer.from(`${recipient}\n`))
    const r = await homeage(["decrypt", "-i", typo, "-i", pub, "-o", out,
        input("z.age", encrypted)])
    assert.equal(r.code, 2, r.stderr)
    assert.deepEqual(r.stderr.split("\n").slice(0, 3), [
        "homeage: error: no usable identity among the 2 identity files given; fix or replace"
            + " them",
        `  ${typo}:3: malformed X25519 identity (bad encoding or checksum); restore the file`
            + " from a backup or create a new key",
        `  ${pub}:1: this is a recipient (a public key), not an identity; an identity file`
            + " holds the AGE-SECRET-KEY-1… line that `homeage keygen` writes",
    ])
    const typoKey = readFileSync(typo, "utf8").split("\n").find((l) => l.startsWith("AGE-"))!
    assert.ok(!r.stderr.includes(typoKey.slice("AGE-SECRET-KEY-1".length)), "no key material")
    assert.ok(!r.stderr.includes(recipient))
    assertNoOutput()
})
