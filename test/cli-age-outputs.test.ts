/**
 * Where the age commands write: `-o OUT` given as a symlink is written through
 * (as Go age does), so the user's link survives; a folder that does not exist
 * and a full file system (a real, small tmpfs) are errors that say what to do,
 * and leave no file behind.
 */
import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import {
    existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync,
    symlinkSync, writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { homeage, must, tempFolder } from "./age/helpers.js"

const work = tempFolder("outputs")
const dir = work.dir
const full = join(dir, "full")
let key = ""
let recipient = ""
/** The size a tester used: more than the 64 KiB tmpfs below holds. */
const plaintext = randomBytes(460023)
let plainFile = ""
let sealedFile = ""
let mounted = false

before(async () => {
    key = join(dir, "key.txt")
    await must("age-keygen", ["-o", key])
    recipient = (await must("age-keygen", ["-y", key])).toString().trim()
    plainFile = join(dir, "plain")
    writeFileSync(plainFile, plaintext)
    sealedFile = join(dir, "sealed.age")
    await must("age", ["-e", "-r", recipient, "-o", sealedFile, plainFile])

    mkdirSync(full)
    await must("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", full])
    mounted = true
})

after(async () => {
    if (mounted) await must("umount", [full])
    work.remove()
})

/** A fresh folder under the test folder. */
function folder(name: string): string {
    const path = join(dir, name)
    mkdirSync(path, { recursive: true })
    return path
}

function modeOf(path: string): number {
    return statSync(path).mode & 0o777
}

test("decrypt -o a symlink writes through it: the link survives, its target gets the plaintext",
    async () => {
        const links = folder("links-d")
        const targets = folder("targets-d")
        const target = join(targets, "plain.txt")
        writeFileSync(target, "old content\n")
        const link = join(links, "out")
        symlinkSync("../targets-d/plain.txt", link)

        const r = await homeage(["decrypt", "-i", key, "-o", link, sealedFile])
        assert.equal(r.code, 0, r.stderr)
        assert.ok(lstatSync(link).isSymbolicLink(), "the link is still a link")
        assert.equal(readlinkSync(link), "../targets-d/plain.txt")
        assert.ok(readFileSync(target).equals(plaintext))
        assert.equal(modeOf(target), 0o600)
        assert.deepEqual(readdirSync(links), ["out"])
        assert.deepEqual(readdirSync(targets), ["plain.txt"], "no temp file left")
    })

test("encrypt -o a chain of symlinks ending in a file yet to be made writes that file",
    async () => {
        const links = folder("links-e")
        const targets = folder("targets-e")
        const first = join(links, "first")
        const second = join(links, "second")
        const target = join(targets, "sealed.age")
        symlinkSync("second", first)
        symlinkSync(target, second)

        const r = await homeage(["encrypt", "-r", recipient, "-o", first, plainFile])
        assert.equal(r.code, 0, r.stderr)
        assert.equal(readlinkSync(first), "second")
        assert.equal(readlinkSync(second), target)
        assert.equal(modeOf(target), 0o644)
        assert.deepEqual(readdirSync(targets), ["sealed.age"])
        const back = await must("age", ["-d", "-i", key, target])
        assert.ok(back.equals(plaintext))
    })

test("-o a symlink into a folder that does not exist: exit 1 naming both, nothing made",
    async () => {
        const links = folder("links-missing")
        const link = join(links, "out")
        const target = join(dir, "no-such-folder", "out")
        symlinkSync(target, link)

        for (const args of [
            ["decrypt", "-i", key, "-o", link, sealedFile],
            ["encrypt", "-r", recipient, "-o", link, plainFile],
        ]) {
            const r = await homeage(args)
            assert.equal(r.code, 1, r.stderr)
            assert.ok(r.stderr.includes(`cannot write ${link}: it is a symlink to ${target},`
                + ` whose folder ${join(dir, "no-such-folder")} does not exist; create that`
                + " folder, or point the link elsewhere"), r.stderr)
            assert.equal(r.stdout.length, 0)
        }
        assert.equal(existsSync(join(dir, "no-such-folder")), false)
        assert.deepEqual(readdirSync(links), ["out"])
    })

test("keygen -o in a folder that does not exist: exit 1, says to create the folder",
    async () => {
        const missing = join(dir, "nonexist", "x")
        const r = await homeage(["keygen", "-o", join(missing, "key")])
        assert.equal(r.code, 1, r.stderr)
        assert.equal(r.stderr, `homeage: error: keygen: cannot create ${join(missing, "key")}:`
            + ` the folder ${missing} does not exist: create it (mkdir -p ${missing}) or choose`
            + " another path\n")
        assert.equal(existsSync(join(dir, "nonexist")), false)

        const d = await homeage(["decrypt", "-i", key, "-o", join(missing, "out"), sealedFile])
        assert.equal(d.code, 1, d.stderr)
        assert.match(d.stderr, /the folder .*nonexist\/x does not exist: create it \(mkdir -p/)
        assert.ok(!d.stderr.includes("ENOENT: no such file or directory"), d.stderr)
    })

test("a full file system: decrypt -o and encrypt -o exit 1 with advice, nothing left behind",
    async () => {
        for (const [args, out] of [
            [["decrypt", "-i", key, "-o", join(full, "plain"), sealedFile], join(full, "plain")],
            [["encrypt", "-r", recipient, "-o", join(full, "x.age"), plainFile],
                join(full, "x.age")],
        ] as const) {
            const r = await homeage([...args])
            assert.equal(r.code, 1, r.stderr)
            assert.equal(r.stderr, `homeage: error: cannot write ${out}: the file system holding`
                + ` ${full} is full (ENOSPC): free space there (or make the tmpfs bigger) and run`
                + " the command again; nothing was written there\n")
            assert.deepEqual(readdirSync(full), [], "no output and no temp file")
        }
    })

test("a full file system: keygen -o exits 1 and leaves no partial identity file", async () => {
    const filler = join(full, "filler")
    await must("sh", ["-c", `head -c 1048576 /dev/zero > '${filler}' 2>/dev/null; true`])
    try {
        const keyFile = join(full, "key.txt")
        const r = await homeage(["keygen", "-o", keyFile])
        assert.equal(r.code, 1, r.stderr)
        assert.equal(r.stderr, `homeage: error: keygen: cannot write ${keyFile}: the file system`
            + ` holding ${full} is full (ENOSPC): free space there (or make the tmpfs bigger)`
            + " and run the command again; no identity was created\n")
        assert.deepEqual(readdirSync(full), ["filler"])
    } finally {
        await must("rm", ["-f", filler])
    }
})
