/**
 * Many secrets at once, as activation and `start` run them side by side: the
 * report keeps the config's order, one failing secret neither stops nor hides
 * the others, folders shared by many secrets are recorded once (and only
 * when homeage made them), and a passphrase-protected identity is asked for
 * once per run however many secrets need it at the same time.
 */
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import {
    lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { readCurrent } from "../../src/generations/generations.js"
import { statePaths } from "../../src/generations/state.js"
import { makeWorld, type World } from "../helpers/world.js"

/** Secrets in the config: more than the pool runs at once. */
const SECRETS = 30

/** The secrets in config order, deliberately not sorted by name. */
const NAMES = Array.from({ length: SECRETS },
    (_, i) => `s${String((i * 7) % SECRETS).padStart(2, "0")}`)

/** Secrets whose symlink (in ~/links) a user replaces with a file of their own before `start`. */
const BLOCKED = new Set([NAMES[4], NAMES[12], NAMES[22]])

/** Where a secret's symlink goes: half in a new folder, half in one under a found folder. */
function linkOf(w: World, index: number, name: string): string {
    return index % 2 === 0 ? join(w.home, "links", name) : join(w.home, "found", "sub", name)
}

let w: World
let secrets: string

before(() => {
    w = makeWorld()
    secrets = join(w.run, "secrets")
    mkdirSync(join(w.home, "found"), { mode: 0o755 })
    const sections = NAMES.map((name, i) => {
        w.encrypt(name, `value of ${name}\n`)
        const link = linkOf(w, i, name).slice(w.home.length + 1)
        return `[secrets.${name}]\nsource = "secrets/${name}.age"\nsymlinks = ["~/${link}"]\n`
    })
    w.config(sections.join("\n"))
})
after(() => {
    w.destroy()
})

async function createdFolders(): Promise<string[]> {
    const manifest = await readCurrent(statePaths({ HOME: w.home }))
    assert.ok(manifest !== undefined)
    return manifest.createdFolders
}

test("activate adds every secret, reported in config order; shared new folders are " +
    "recorded once, a folder found is not", async () => {
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    const expected = NAMES.map((name, i) =>
        `added ${name} -> ${linkOf(w, i, name).replace(w.home, "~")}`)
    assert.deepEqual(r.stdout.split("\n").filter((l) => l.startsWith("added ")), expected)

    for (const [i, name] of NAMES.entries()) {
        assert.equal(readlinkSync(linkOf(w, i, name)), join(secrets, name))
        assert.equal(readFileSync(join(secrets, name), "utf8"), `value of ${name}\n`)
    }
    const folders = await createdFolders()
    assert.equal(new Set(folders).size, folders.length, folders.join(", "))
    assert.ok(folders.includes(join(w.home, "links")))
    assert.ok(folders.includes(join(w.home, "found", "sub")))
    assert.ok(!folders.includes(join(w.home, "found")))
    assert.equal(lstatSync(join(w.home, "links")).mode & 0o7777, 0o700)
    assert.equal(lstatSync(join(w.home, "found")).mode & 0o7777, 0o755)
})

test("start with some secrets blocked starts all the others, lists every failure, " +
    "and reports in config order", async () => {
    rmSync(secrets, { recursive: true })
    rmSync(join(w.home, "found", "sub"), { recursive: true })
    for (const [i, name] of NAMES.entries()) {
        if (!BLOCKED.has(name)) continue
        rmSync(linkOf(w, i, name))
        writeFileSync(linkOf(w, i, name), `mine ${name}\n`)
    }

    const r = await w.cli(["start"])
    assert.equal(r.code, 1, r.stderr)

    // The symlinks in ~/found/sub went with their folder, so those come back too.
    const started = NAMES.flatMap((name, i) => {
        if (BLOCKED.has(name)) return []
        const link = i % 2 === 0 ? "" : `, ~/found/sub/${name}`
        return [`started ${name} -> ${join(secrets, name)}${link}`]
    })
    assert.deepEqual(r.stdout.split("\n").filter((l) => l !== ""), started)
    const lines = r.stderr.split("\n").filter((l) => l !== "")
    assert.match(lines[0] ?? "", /3 secret\(s\) could not be started$/)
    assert.deepEqual(lines.slice(1), NAMES.flatMap((name, i) => BLOCKED.has(name)
        ? [`  secret ${name}: ${linkOf(w, i, name)}: replaced by something homeage did not ` +
            "make; not overwritten (move it away and run homeage start again)"]
        : []))

    for (const [i, name] of NAMES.entries()) {
        if (BLOCKED.has(name)) {
            assert.equal(readFileSync(linkOf(w, i, name), "utf8"), `mine ${name}\n`)
            assert.throws(() => lstatSync(join(secrets, name)), { code: "ENOENT" })
            continue
        }
        assert.equal(readFileSync(linkOf(w, i, name), "utf8"), `value of ${name}\n`)
        assert.equal(lstatSync(join(secrets, name)).mode & 0o7777, 0o400)
    }
    const folders = await createdFolders()
    assert.equal(new Set(folders).size, folders.length, folders.join(", "))
    assert.ok(folders.includes(join(w.home, "found", "sub")))
    assert.ok(!folders.includes(join(w.home, "found")))
})

test("a passphrase-protected identity is asked for once per run, however many secrets " +
    "need it at once", async () => {
    const world = makeWorld()
    try {
        const key = join(world.home, "keys", "id_ed25519")
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "open sesame", "-f", key])
        const log = join(world.root, "askpass.log")
        const askpass = join(world.root, "askpass.sh")
        writeFileSync(askpass, `#!/bin/sh\necho asked >> ${log}\necho "open sesame"\n`,
            { mode: 0o755 })
        const count = (): number => readFileSync(log, "utf8").split("\n").length - 1

        const sections: string[] = []
        for (const name of NAMES) {
            const out = join(world.dotfiles, "secrets", `${name}.age`)
            execFileSync("age", ["-R", `${key}.pub`, "-o", out], { input: `ssh ${name}\n` })
            sections.push(`[secrets.${name}]\nsource = "secrets/${name}.age"\n`)
        }
        writeFileSync(world.configFile, "identityPaths = [\"~/keys/id_ed25519\"]\n" +
            `installationType = "activation"\n${sections.join("\n")}`)
        writeFileSync(log, "")
        const env = { HOMEAGE_ASKPASS: askpass }

        let r = await world.cli(["check"], env)
        assert.equal(r.code, 0, r.stderr)
        assert.equal(count(), 1)

        r = await world.cli(["activate"], env)
        assert.equal(r.code, 0, r.stderr)
        assert.equal(count(), 2)
        const stored = join(world.run, "secrets")
        for (const name of NAMES) {
            assert.equal(readFileSync(join(stored, name), "utf8"), `ssh ${name}\n`)
        }

        rmSync(stored, { recursive: true })
        r = await world.cli(["start"], env)
        assert.equal(r.code, 0, r.stderr)
        assert.equal(count(), 3)
        assert.match(r.stdout, new RegExp(`^${SECRETS} started, 0 already in place`, "m"))
    } finally {
        world.destroy()
    }
})
