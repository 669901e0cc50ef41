/**
 * `status`, `generations` and `start` as a user reads them: `-q` prints
 * nothing, a symlink to a missing plaintext is dangling, every path is shown
 * one way, and `start` names every output in its way.
 */
import assert from "node:assert/strict"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { makeWorld, type World } from "../helpers/world.js"

let w: World
let secrets: string

const CONFIG = `
[secrets.gh]
source = "secrets/gh.age"
symlinks = ["~/.config/gh/token", "~/gh-token"]

[secrets.netrc]
source = "secrets/netrc.age"
copies = ["~/.netrc"]
`

before(async () => {
    w = makeWorld()
    secrets = join(w.run, "secrets")
    w.encrypt("gh", "gh-token-value")
    w.encrypt("netrc", "machine m\n")
    w.config(CONFIG)
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
})
after(() => {
    w.destroy()
})

test("-q makes status and generations print nothing; the exit status tells", async () => {
    for (const command of ["status", "generations"]) {
        const r = await w.cli(["-q", command])
        assert.equal(r.code, 0, command)
        assert.equal(r.stdout + r.stderr, "", command)
    }

    rmSync(join(w.home, ".netrc"))
    const r = await w.cli(["-q", "status"])
    assert.equal(r.code, 1)
    assert.equal(r.stdout + r.stderr, "")
    assert.equal((await w.cli(["start"])).code, 0)
})

test("after the runtime dir was wiped, status says the plaintext is missing and its " +
    "symlinks dangle", async () => {
    rmSync(secrets, { recursive: true })

    const r = await w.cli(["status"])

    assert.equal(r.code, 1)
    assert.equal(r.stdout, [
        `generation 1, runtime dir ${secrets}`,
        "gh: not ok",
        `  plaintext ${secrets}/gh: missing (run homeage start to decrypt it again)`,
        "  symlink ~/.config/gh/token: dangling (its plaintext is missing)",
        "  symlink ~/gh-token: dangling (its plaintext is missing)",
        "netrc: not ok",
        `  plaintext ${secrets}/netrc: missing (run homeage start to decrypt it again)`,
        "  copy ~/.netrc: ok",
        "",
    ].join("\n"))
    const json = await w.cli(["status", "--json"])
    const report = JSON.parse(json.stdout) as { secrets: { symlinks: { state: string }[] }[] }
    assert.deepEqual(report.secrets[0]?.symlinks.map((s) => s.state), ["dangling", "dangling"])
    assert.equal((await w.cli(["start"])).code, 0)
})

test("start names every output in its way, not only the first", async () => {
    assert.equal((await w.cli(["stop", "gh"])).code, 0)
    mkdirSync(join(w.home, ".config/gh"), { recursive: true })
    writeFileSync(join(w.home, ".config/gh/token"), "mine\n")
    writeFileSync(join(w.home, "gh-token"), "mine too\n")

    const r = await w.cli(["start"])

    assert.equal(r.code, 1)
    assert.match(r.stderr, new RegExp(`secret gh: ${w.home}/\\.config/gh/token: replaced by ` +
        `something homeage did not make; ${w.home}/gh-token: replaced by something homeage ` +
        "did not make; " +
        "not overwritten \\(move them away and run homeage start again\\)"))
    rmSync(join(w.home, ".config/gh/token"))
    rmSync(join(w.home, "gh-token"))
    assert.equal((await w.cli(["start"])).code, 0)
})

test("status shows every path the same way, the runtime dir too", async () => {
    w.config(`runtimeDir = "~/rt"\nallowPersistentRuntimeDir = true\n${CONFIG}`)
    assert.equal((await w.cli(["activate"])).code, 0)

    const r = await w.cli(["status"])

    assert.equal(r.code, 0, r.stdout)
    assert.equal(r.stdout.split("\n").slice(0, 3).join("\n"), [
        "generation 2, runtime dir ~/rt",
        "gh: ok",
        "  plaintext ~/rt/gh: ok",
    ].join("\n"))
})
