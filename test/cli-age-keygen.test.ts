/**
 * `homeage keygen`: the file age-keygen writes (checked with the real
 * age-keygen), mode 0600, never overwriting, `-y` for age, post-quantum and
 * SSH keys, and usage errors.
 */
import assert from "node:assert/strict"
import { readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, test } from "node:test"

import { homeage, must, tempFolder } from "./age/helpers.js"

const work = tempFolder("keygen")
const dir = work.dir
after(() => {
    work.remove()
})

const KEY_FILE = new RegExp([
    /^# created: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)\n/.source,
    /# public key: (age1[0-9a-z]{58})\n/.source,
    /(AGE-SECRET-KEY-1[0-9A-Z]{58})\n$/.source,
].join(""))

test("keygen -o FILE: age-keygen's format, mode 0600, public key on stderr", async () => {
    const file = join(dir, "key.txt")
    const r = await homeage(["keygen", "-o", file])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.length, 0)

    const text = readFileSync(file, "utf8")
    const match = KEY_FILE.exec(text)
    assert.ok(match !== null, text.replace(/AGE-SECRET-KEY-1\S+/, "<key>"))
    assert.equal(r.stderr, `Public key: ${match[1]}\n`)
    assert.equal(statSync(file).mode & 0o777, 0o600)

    const goRecipient = (await must("age-keygen", ["-y", file])).toString()
    assert.equal(goRecipient, `${match[1]}\n`)
    const ours = await homeage(["keygen", "-y", file])
    assert.equal(ours.stdout.toString(), goRecipient)
})

test("keygen to standard output (not a terminal) also prints the public key on stderr",
    async () => {
        const r = await homeage(["keygen"])
        assert.equal(r.code, 0)
        const match = KEY_FILE.exec(r.stdout.toString())
        assert.ok(match !== null)
        assert.equal(r.stderr, `Public key: ${match[1]}\n`)

        const q = await homeage(["-q", "keygen"])
        assert.equal(q.stderr, "")
    })

test("keygen --pq: a post-quantum identity that round-trips (ours only: age 1.1.1 lacks it)",
    async () => {
        const file = join(dir, "pq.txt")
        const r = await homeage(["keygen", "--pq", "-o", file])
        assert.equal(r.code, 0, r.stderr)
        const text = readFileSync(file, "utf8")
        assert.match(text, /\nAGE-SECRET-KEY-PQ-1[0-9A-Z]+\n$/)
        const recipient = (await homeage(["keygen", "-y", file])).stdout.toString().trim()
        assert.match(recipient, /^age1pq1[0-9a-z]+$/)
        assert.ok(r.stderr.includes(recipient))

        const plaintext = Buffer.from("post-quantum secret\n")
        const sealed = await homeage(["encrypt", "-r", recipient, "-a"], { input: plaintext })
        assert.equal(sealed.code, 0, sealed.stderr)
        assert.match(sealed.stdout.toString(), /^-----BEGIN AGE ENCRYPTED FILE-----\n/)
        const opened = await homeage(["decrypt", "-i", file], { input: sealed.stdout })
        assert.equal(opened.code, 0, opened.stderr)
        assert.ok(opened.stdout.equals(plaintext))
    })

test("keygen -y prints the public key line of SSH private keys, and reads stdin", async () => {
    for (const type of ["ed25519", "rsa"]) {
        const key = join(dir, `id_${type}`)
        await must("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "me", "-f", key])
        const expected = readFileSync(`${key}.pub`, "utf8").split(" ").slice(0, 2).join(" ")

        const r = await homeage(["keygen", "-y", key])
        assert.equal(r.code, 0, r.stderr)
        assert.equal(r.stdout.toString().trim().split(" ").slice(0, 2).join(" "), expected)

        const s = await homeage(["keygen", "-y"], { input: readFileSync(key) })
        assert.equal(s.code, 0, s.stderr)
        assert.equal(s.stdout.toString(), r.stdout.toString())
    }
})

test("keygen usage errors: exit 2", async () => {
    const both = await homeage(["keygen", "-y", "--pq"])
    assert.equal(both.code, 2)
    assert.match(both.stderr, /-y and --pq/)

    const file = join(dir, "stray.txt")
    writeFileSync(file, "x")
    const stray = await homeage(["keygen", file])
    assert.equal(stray.code, 2)
    assert.match(stray.stderr, /only read with -y/)
    assert.equal(readFileSync(file, "utf8"), "x")
})
