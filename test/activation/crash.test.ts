import assert from "node:assert/strict"
import { existsSync, readFileSync, readlinkSync, rmSync, symlinkSync, readdirSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { makeWorld, type World } from "../helpers/world.js"

let w: World
let state: string

const ONE = `
[secrets.a]
source = "secrets/a.age"
symlinks = ["~/a-link"]
`
const TWO = `${ONE}
[secrets.b]
source = "secrets/b.age"
symlinks = ["~/b-link"]
copies = ["~/b-copy"]
`

before(() => {
    w = makeWorld()
    state = join(w.home, ".local/state/homeage")
    w.encrypt("a", "alpha")
    w.encrypt("b", "bravo")
})
after(() => {
    w.destroy()
})

/** Makes the last generation look like a switch that crashed before it became current. */
function crashBeforeCurrent(previous: number, crashed: number): void {
    rmSync(join(state, "current"))
    symlinkSync(`generations/${previous}.json`, join(state, "current"))
    symlinkSync(`generations/${crashed}.json`, join(state, "pending"))
}

test("outputs of a switch that crashed are recognized: activating it again finishes it",
    async () => {
        w.config(ONE)
        assert.equal((await w.cli(["activate"])).code, 0)
        w.config(TWO)
        assert.equal((await w.cli(["activate"])).code, 0)
        crashBeforeCurrent(1, 2)

        const r = await w.cli(["activate"])
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /^completed b: already in place from an interrupted switch$/m)
        assert.match(r.stdout, /\(generation 3\)$/m)
        assert.equal(readlinkSync(join(state, "current")), "generations/3.json")
        assert.equal(existsSync(join(state, "pending")), false)
        assert.equal(readFileSync(join(w.home, "b-copy"), "utf8"), "bravo")
    })

test("outputs of a switch that crashed are cleaned up when the config drops them",
    async () => {
        w.config(ONE)
        assert.equal((await w.cli(["activate"])).code, 0)
        w.config(TWO)
        assert.equal((await w.cli(["activate"])).code, 0)
        crashBeforeCurrent(4, 5)

        w.config(ONE)
        const r = await w.cli(["activate"])
        assert.equal(r.code, 0, r.stderr)
        assert.equal(existsSync(join(w.home, "b-link")), false)
        assert.equal(existsSync(join(w.home, "b-copy")), false)
        assert.deepEqual(readdirSync(join(w.run, "secrets")), ["a"])
        assert.equal(existsSync(join(state, "pending")), false)
        assert.equal(readlinkSync(join(state, "current")), "generations/4.json")
    })

test("a reader never sees a missing, empty or partial secret while it changes",
    async () => {
        const link = join(w.home, "a-link")
        const big = (c: string): string => c.repeat(256 * 1024)
        w.encrypt("a", big("x"))
        w.config(ONE)
        assert.equal((await w.cli(["activate"])).code, 0)

        for (const next of ["y", "z", "x"]) {
            w.encrypt("a", big(next))
            const seen = new Set<string>()
            const reading = { on: true }
            const reader = (async () => {
                while (reading.on) {
                    const content = await readFile(link, "utf8")
                    seen.add(content.length === big("x").length
                        ? content[0]! + content[content.length - 1]! : `bad:${content.length}`)
                }
            })()
            const r = await w.cli(["activate"])
            reading.on = false
            await reader
            assert.equal(r.code, 0, r.stderr)
            for (const value of seen) assert.match(value, /^(xx|yy|zz)$/)
            assert.equal(readFileSync(link, "utf8"), big(next))
        }
    })
