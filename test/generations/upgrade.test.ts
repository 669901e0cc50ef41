import assert from "node:assert/strict"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { makeWorld, type World } from "../helpers/world.js"

let w: World
let state: string

before(() => {
    w = makeWorld()
    state = join(w.home, ".local/state/homeage")
    w.encrypt("a", "alpha")
})
after(() => {
    w.destroy()
})

test("a manifest from an earlier version gets its digest at the next activate, once", async () => {
    w.config(`
[secrets.a]
source = "secrets/a.age"
symlinks = ["~/a-link"]
`)
    assert.equal((await w.cli(["activate"])).code, 0)
    const file = join(state, "generations", "1.json")
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>
    assert.match(String(parsed.digest), /^sha256:[0-9a-f]{64}$/)

    // As an earlier version wrote it: the same generation, no digest.
    delete parsed.digest
    writeFileSync(file, `${JSON.stringify(parsed, null, 2)}\n`)
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^no changes \(generation 1\)$/m)
    const upgraded = readFileSync(file, "utf8")
    const reread = JSON.parse(upgraded) as Record<string, unknown>
    assert.match(String(reread.digest), /^sha256:[0-9a-f]{64}$/)
    delete reread.digest
    assert.deepEqual(reread, parsed)

    const again = await w.cli(["activate"])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(readFileSync(file, "utf8"), upgraded)
    assert.equal(readFileSync(join(w.home, "a-link"), "utf8"), "alpha")
})
