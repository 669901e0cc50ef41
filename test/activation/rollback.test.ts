/**
 * `generations`, `rollback` and `deactivate` through the real CLI, with
 * installationType activation (the systemd side is in test/e2e-systemd.test.ts).
 */
import assert from "node:assert/strict"
import {
    existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync,
    writeFileSync,
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
        assert.match(r.stdout, /^changed api: content$/m)
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
    // Nothing is current, but the generations are stored: say so, and how to go on.
    const noneCurrent = "no generation is current (as after homeage deactivate); " +
        "generation 3 is stored: run homeage rollback N to make one current again " +
        "(homeage generations lists them), or homeage activate"
    for (const command of ["start", "status", "stop"]) {
        const r2 = await w.cli([command])
        assert.equal(r2.code, 1, command)
        assert.equal(r2.stderr, `homeage: error: ${noneCurrent}\n`, command)
    }
    const list = await w.cli(["generations"])
    assert.equal(list.code, 0, list.stderr)
    assert.match(list.stdout, /^3 {2}\S+ {2}2 secrets\nnone is current \(as after homeage /)

    const again = await w.cli(["deactivate", "--purge"])

    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.stdout,
        "deactivated: 0 path(s) removed, state ~/.local/state/homeage removed\n")
    assert.equal(existsSync(state), false)
    assert.equal(text(join(w.home, "notes.txt")), "keep me\n")

    // Purging what is already purged says so, and creates nothing.
    const twice = await w.cli(["deactivate", "--purge"])
    assert.equal(twice.code, 0, twice.stderr)
    assert.equal(twice.stdout, "nothing to deactivate: there is no state in " +
        "~/.local/state/homeage (nothing to purge)\n")
    assert.equal(existsSync(join(w.home, ".local")), true)
    assert.equal(existsSync(state), false)
})

test("bare rollback always moves to the generation numbered below the current one, even " +
    "when its files are already in place", async () => {
    rmSync(join(w.home, "api-copy"))
    w.encrypt("api", "api-v1\n")
    w.config(ONE)
    assert.equal((await w.cli(["activate"])).code, 0)
    w.encrypt("api", "api-v2\n")
    assert.equal((await w.cli(["activate"])).code, 0)
    assert.equal((await w.cli(["rollback", "1"])).code, 0)
    const third = await w.cli(["activate"])
    assert.equal(third.code, 0, third.stderr)
    assert.match(third.stdout, /\(generation 3\)$/m)

    // Generation 2 has the same files as 3: it still becomes current.
    let r = await w.cli(["rollback"])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, "rolled back: no file changed (generation 2)\n")
    assert.equal(readlinkSync(join(state, "current")), "generations/2.json")
    assert.equal(text(join(w.home, "api-copy")), "api-v2\n")

    r = await w.cli(["rollback"])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, "changed api: content\nrolled back: 1 changed (generation 1)\n")
    assert.equal(readlinkSync(join(state, "current")), "generations/1.json")
    assert.equal(text(join(w.home, "api-copy")), "api-v1\n")

    r = await w.cli(["rollback"])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /generation 1 is the oldest stored one/)
    assert.deepEqual(readdirSync(join(state, "generations")).sort(),
        ["1.json", "2.json", "3.json"])
})
