/**
 * `generations`, `rollback` and `deactivate` through the real CLI, with
 * installationType activation (the systemd side is in test/e2e-systemd.test.ts).
 */
import assert from "node:assert/strict"
import {
    existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, renameSync, writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { makeWorld, snapshotOf, type World } from "../helpers/world.js"

let w: World
let secrets: string
let state: string

const ONE = `
[secrets.api]
source = "secrets/api.age"
symlinks = ["~/.config/app/api-token"]
copies = ["~/api-copy"]
`
const TWO = `${ONE}
[secrets."ssh/deploy"]
source = "secrets/deploy.age"
mode = "0600"
symlinks = ["~/deploy-link"]
`

const text = (p: string): string => readFileSync(p, "utf8")
const mode = (p: string): number => lstatSync(p).mode & 0o7777

/** Everything a user would compare, without times. */
function shape(paths: string[]): string[] {
    return [...snapshotOf(paths)].map(([p, e]) =>
        `${p} ${e.kind} ${e.mode.toString(8)} ${e.content ?? ""}`)
}

before(() => {
    w = makeWorld()
    secrets = join(w.run, "secrets")
    state = join(w.home, ".local/state/homeage")
})
after(() => {
    w.destroy()
})

test("generations lists nothing before the first activation", async () => {
    const r = await w.cli(["generations"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^no generations in .*homeage yet; run homeage activate\n$/)
})

test("rollback restores the exact bytes, modes and links of an earlier generation, " +
    "without a new generation", async () => {
    w.encrypt("api", "api-v1\n")
    w.config(ONE)
    assert.equal((await w.cli(["activate"])).code, 0)
    const first = shape([w.home, w.run]).filter((l) => !l.includes(state))

    w.encrypt("api", "api-v2\n")
    w.encrypt("deploy", "deploy-key\n")
    w.config(TWO)
    assert.equal((await w.cli(["activate"])).code, 0)
    assert.equal(text(join(w.home, "api-copy")), "api-v2\n")
    assert.equal(text(join(w.home, "deploy-link")), "deploy-key\n")

    const list = await w.cli(["generations"])
    assert.equal(list.code, 0, list.stderr)
    const lines = list.stdout.split("\n")
    assert.match(lines[0] ?? "", /^1 {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}1 secret$/)
    assert.match(lines[1] ?? "", /^2 {2}\S+ {2}2 secrets {2}\(current\)$/)
    assert.equal(lines[2], "")

    // From the store alone: the dotfiles and config are out of the way.
    renameSync(w.dotfiles, `${w.dotfiles}.away`)
    try {
        const r = await w.cli(["rollback"])
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /^change api: content$/m)
        assert.match(r.stdout, /^removed ssh\/deploy$/m)
        assert.match(r.stdout, /^rolled back: 1 changed, 1 removed \(generation 1\)$/m)
    } finally {
        renameSync(`${w.dotfiles}.away`, w.dotfiles)
    }

    assert.deepEqual(shape([w.home, w.run]).filter((l) => !l.includes(state)), first)
    assert.equal(text(join(w.home, "api-copy")), "api-v1\n")
    assert.equal(mode(join(w.home, "api-copy")), 0o400)
    assert.equal(readlinkSync(join(w.home, ".config/app/api-token")), join(secrets, "api"))
    assert.equal(existsSync(join(w.home, "deploy-link")), false)
    assert.equal(existsSync(join(secrets, "ssh")), false)
    assert.equal(readlinkSync(join(state, "current")), "generations/1.json")
    assert.deepEqual(readdirSync(join(state, "generations")).sort(), ["1.json", "2.json"])

    const forward = await w.cli(["rollback", "2"])
    assert.equal(forward.code, 0, forward.stderr)
    assert.equal(text(join(w.home, "api-copy")), "api-v2\n")
    assert.equal(text(join(secrets, "ssh/deploy")), "deploy-key\n")
    assert.equal(mode(join(secrets, "ssh/deploy")), 0o600)
    assert.equal(readlinkSync(join(state, "current")), "generations/2.json")
})

test("rollback refuses what it cannot do, naming the fix", async () => {
    const bad = await w.cli(["rollback", "two"])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /"two" is not a generation number; homeage generations lists them/)

    const missing = await w.cli(["rollback", "9"])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /generation 9 is not stored \(stored: 1, 2\)/)

    assert.equal((await w.cli(["rollback", "1"])).code, 0)
    const oldest = await w.cli(["rollback"])
    assert.equal(oldest.code, 1)
    assert.match(oldest.stderr, /generation 1 is the oldest stored one/)
    assert.equal((await w.cli(["rollback", "2"])).code, 0)
})

test("old generations beyond generationsToKeep are pruned with their store files", async () => {
    writeFileSync(w.configFile, `${text(w.configFile)}\n`.replace("installationType",
        "generationsToKeep = 1\ninstallationType"))
    w.encrypt("api", "api-v3\n")

    const r = await w.cli(["activate"])

    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(readdirSync(join(state, "generations")), ["3.json"])
    const manifest = JSON.parse(text(join(state, "generations", "3.json"))) as {
        secrets: { storeHash: string }[]
    }
    assert.deepEqual(readdirSync(join(state, "store")).sort(),
        manifest.secrets.map((s) => `${s.storeHash}.age`).sort())
})

test("deactivate removes every output and created folder and nothing else; " +
    "--purge removes the state", async () => {
    // A copy the user edited is kept; an unrelated file in a folder homeage
    // did not create stays too.
    writeFileSync(join(w.home, "api-copy"), "edited by hand\n", { mode: 0o600 })
    writeFileSync(join(w.home, "notes.txt"), "keep me\n")

    const r = await w.cli(["deactivate"])

    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^kept ~\/api-copy: modified since homeage wrote it$/m)
    assert.match(r.stdout, /^deactivated: \d+ path\(s\) removed, 1 kept, generation 3 is no /m)
    assert.equal(text(join(w.home, "api-copy")), "edited by hand\n")
    assert.equal(text(join(w.home, "notes.txt")), "keep me\n")
    for (const gone of [".config/app", "deploy-link"]) {
        assert.equal(existsSync(join(w.home, gone)), false, gone)
    }
    assert.deepEqual(readdirSync(w.run), [])
    assert.equal(existsSync(join(state, "current")), false)
    assert.equal(existsSync(join(state, "generations", "3.json")), true)
    const start = await w.cli(["start"])
    assert.equal(start.code, 1)
    assert.match(start.stderr, /run homeage activate first/)

    const again = await w.cli(["deactivate", "--purge"])

    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /^deactivated: 0 path\(s\) removed, state .*homeage removed$/m)
    assert.equal(existsSync(state), false)
    assert.equal(text(join(w.home, "notes.txt")), "keep me\n")
})
