import assert from "node:assert/strict"
import {
    chmodSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync,
    utimesSync, writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"
import { setTimeout as sleep } from "node:timers/promises"

import {
    lookAt, recordPath, recordUnchanged, runKey, runStarted,
} from "../../src/activation/unchanged.js"
import { acquireLock } from "../../src/generations/lock.js"
import { statePaths } from "../../src/generations/state.js"
import { makeWorld, type World } from "../helpers/world.js"

/** Longer than the record's racy window (100 ms), so that files written before count as settled. */
const SETTLE_MS = 150

/** Two secrets: one linked, one copied. */
const CONFIG = `
[secrets.a]
source = "secrets/a.age"
symlinks = ["~/links/a"]

[secrets.b]
source = "secrets/b.age"
copies = ["~/copies/b"]
`

let w: World
let state: string
let linkA: string

before(() => {
    w = makeWorld()
    state = join(w.home, ".local/state/homeage")
    linkA = join(w.home, "links", "a")
    w.encrypt("a", "alpha")
    w.encrypt("b", "bravo")
    w.config(CONFIG)
})
after(() => {
    w.destroy()
})

function epoch(): string {
    try {
        return readFileSync(join(state, "epoch"), "utf8")
    } catch {
        return "none yet"
    }
}

/**
 * Runs activate and says whether it ran the whole check: a run that takes the
 * state lock writes a new epoch token, one that used the record does not.
 */
async function activate(args: string[] = [], env: NodeJS.ProcessEnv = {}) {
    const before = epoch()
    const r = await w.cli(["activate", ...args], env)
    return { ...r, checked: epoch() !== before }
}

/** Activates until a run has left a record: one run after the files settled. */
async function settle(): Promise<void> {
    await sleep(SETTLE_MS)
    const r = await activate()
    assert.equal(r.code, 0, r.stderr)
    assert.ok(readFileSync(recordPath(statePaths(w.env())), "utf8").length > 0)
}

test("a no-op activate after one that found nothing to change exits at once", async () => {
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /2 added \(generation 1\)/)
    await settle()

    for (let i = 0; i < 2; i++) {
        const again = await activate()
        assert.equal(again.code, 0)
        assert.equal(again.stdout, "no changes (generation 1)\n")
        assert.equal(again.stderr, "")
        assert.equal(again.checked, false)
    }
    const quiet = await activate(["-q"])
    assert.equal(quiet.checked, true, "-q is another command line")
    assert.equal(quiet.stdout, "")
})

test("a changed output, source, link or environment makes the next run check in full", async () => {
    await settle()
    const plaintext = join(w.run, "secrets", "a")
    unlinkSync(plaintext)
    let r = await activate()
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.checked, true)
    assert.match(r.stdout, /1 restored/)
    assert.equal(readFileSync(linkA, "utf8"), "alpha")

    // The same bytes again: only the times differ, and the full check finds nothing.
    await settle()
    const source = join(w.dotfiles, "secrets", "a.age")
    writeFileSync(source, readFileSync(source))
    r = await activate()
    assert.equal(r.checked, true)
    assert.equal(r.stdout, "no changes (generation 1)\n")

    // A link replaced by an identical one is a new inode.
    await settle()
    unlinkSync(linkA)
    symlinkSync(plaintext, linkA)
    r = await activate()
    assert.equal(r.checked, true)
    assert.equal(r.stdout, "no changes (generation 1)\n")

    // A copy written again, with its times set back, still has a new change time.
    await settle()
    const copy = join(w.home, "copies", "b")
    writeFileSync(copy, "bravo")
    utimesSync(copy, new Date(0), new Date(0))
    r = await activate()
    assert.equal(r.checked, true)
    assert.equal(r.stdout, "no changes (generation 1)\n")

    // Content changed in place is found by the full check, and refused as before.
    await settle()
    writeFileSync(copy, "BRAVO")
    r = await activate()
    assert.equal(r.code, 1)
    assert.match(r.stderr, /changed since homeage wrote it/)
    writeFileSync(copy, "bravo")

    await settle()
    r = await activate([], { SOME_VARIABLE: "1" })
    assert.equal(r.checked, true)
    assert.equal(r.stdout, "no changes (generation 1)\n")
})

test("a folder above an output that changes mode, or another run, means a full check", async () => {
    await settle()
    chmodSync(join(w.home, "links"), 0o750)
    let r = await activate()
    assert.equal(r.checked, true)
    chmodSync(join(w.home, "links"), 0o755)

    await settle()
    const stop = await w.cli(["stop"])
    assert.equal(stop.code, 0, stop.stderr)
    r = await activate()
    assert.equal(r.checked, true)
    assert.match(r.stdout, /restored/)
    assert.equal(readFileSync(linkA, "utf8"), "alpha")

    await settle()
    w.encrypt("c", "charlie")
    w.config(`${CONFIG}\n[secrets.c]\nsource = "secrets/c.age"\n`)
    r = await activate()
    assert.equal(r.checked, true)
    assert.match(r.stdout, /1 added \(generation 2\)/)
})

test("-v and --dry-run always check in full; a damaged record is ignored", async () => {
    await settle()
    let r = await activate(["-v"])
    assert.equal(r.checked, true)
    assert.match(r.stderr, /installationType activation/)
    r = await activate(["--dry-run"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /no changes/)

    const file = recordPath(statePaths(w.env()))
    for (const damaged of ["", "{", "[]", readFileSync(file, "utf8").replace(/"-"/, "\"x\"")]) {
        await settle()
        writeFileSync(file, damaged)
        r = await activate()
        assert.equal(r.code, 0, r.stderr)
        assert.equal(r.checked, true, `record ${JSON.stringify(damaged.slice(0, 20))}`)
        assert.equal(r.stdout, "no changes (generation 2)\n")
    }
    rmSync(file)
    r = await activate()
    assert.equal(r.checked, true)
})

test("no record is written while a file is too fresh, or for another lock epoch", async () => {
    const paths = statePaths(w.env())
    const lock = await acquireLock(paths, "test")
    await lock.release()
    rmSync(recordPath(paths), { force: true })
    const fresh = join(w.root, "fresh")
    writeFileSync(fresh, "x")
    const input = {
        key: "k", epoch: lock.epoch, output: "no changes\n", editBases: [],
        whole: [fresh], through: [], sweep: [], identity: new Map<string, string>(),
        real: new Map(), since: runStarted(),
    }
    assert.equal(await recordUnchanged(paths, input), false)

    await sleep(SETTLE_MS)
    assert.equal(await recordUnchanged(paths, input), false, "changed after the run began")
    assert.equal(await recordUnchanged(paths, { ...input, since: runStarted() }), true)
    assert.equal(await recordUnchanged(paths, { ...input, since: runStarted(), epoch: "another" }),
        false)
    assert.throws(() => readFileSync(recordPath(paths)), { code: "ENOENT" })

    // A system clock set back while the run was at work: file times cannot be trusted.
    const old = { ...input, whole: [process.execPath] }
    assert.equal(await recordUnchanged(paths, { ...old, since: runStarted() }), true)
    const stepped = runStarted()
    stepped.wallNs -= 30_000_000_000n
    assert.equal(await recordUnchanged(paths, { ...old, since: stepped }), false)
})

test("a source or config file behind a symlink is compared by what the link leads to", async () => {
    // The dotfiles keep the real files elsewhere and link them in.
    const real = join(w.root, "real")
    mkdirSync(real, { recursive: true })
    const source = join(w.dotfiles, "secrets", "a.age")
    renameSync(source, join(real, "a.age"))
    symlinkSync(join(real, "a.age"), source)
    // Sources are relative to the config file's real folder: name them whole.
    writeFileSync(join(real, "homeage.toml"), readFileSync(w.configFile, "utf8")
        .replaceAll("\"secrets/", `"${w.dotfiles}/secrets/`))
    rmSync(w.configFile)
    symlinkSync(join(real, "homeage.toml"), w.configFile)
    let r = await activate()
    assert.equal(r.code, 0, r.stderr)

    await settle()
    const replaced = w.encrypt("a-new", "ALPHA")
    renameSync(replaced, join(real, "a.age"))
    r = await activate()
    assert.equal(r.checked, true)
    assert.match(r.stdout, /1 changed/)
    assert.equal(readFileSync(linkA, "utf8"), "ALPHA")

    await settle()
    const config = readFileSync(join(real, "homeage.toml"), "utf8")
    writeFileSync(join(real, "homeage.toml"),
        config.replace("[secrets.c]", "[secrets.c]\nmode = \"0440\""))
    r = await activate()
    assert.equal(r.checked, true)
    assert.match(r.stdout, /1 changed/)
})

test("a config file found by the search is watched with the places the search looked", async () => {
    const xdg = join(w.root, "xdg")
    mkdirSync(join(xdg, "homeage"), { recursive: true })
    const found = join(xdg, "homeage", "homeage.toml")
    writeFileSync(found, readFileSync(w.configFile, "utf8")
        .replaceAll("\"secrets/", `"${w.dotfiles}/secrets/`))
    const search = { HOMEAGE_CONFIG: "", XDG_CONFIG_HOME: xdg }
    let r = await activate([], search)
    assert.equal(r.code, 0, r.stderr)
    await sleep(SETTLE_MS)
    r = await activate([], search)
    assert.equal(r.code, 0, r.stderr)
    r = await activate([], search)
    assert.equal(r.checked, false)

    // A second config file beside it makes the search ambiguous.
    writeFileSync(join(xdg, "homeage", "homeage.json"), "{}")
    r = await activate([], search)
    assert.equal(r.code, 2)
    assert.match(r.stderr, /has 2 config files/)
    rmSync(join(xdg, "homeage", "homeage.json"))
})

test("without HOME or USER, the user database's entry is part of the key", () => {
    const saved = { HOME: process.env.HOME, USER: process.env.USER }
    try {
        process.env.HOME = "/root"
        process.env.USER = "root"
        process.env.SHLVL = "7"
        const key = runKey(["activate"])
        assert.equal(typeof key, "string")
        process.env.SHLVL = "8"
        assert.equal(runKey(["activate"]), key, "shell bookkeeping is not part of the key")
        process.env.OTHER_VARIABLE = "1"
        assert.notEqual(runKey(["activate"]), key)
        delete process.env.OTHER_VARIABLE

        delete process.env.HOME
        const fromDatabase = runKey(["activate"])
        assert.equal(typeof fromDatabase, "string")
        assert.notEqual(fromDatabase, key)
        process.env.HOME = "/root"
        process.env.USER = ""
        assert.notEqual(runKey(["activate"]), key)
    } finally {
        if (saved.HOME === undefined) delete process.env.HOME
        else process.env.HOME = saved.HOME
        if (saved.USER === undefined) delete process.env.USER
        else process.env.USER = saved.USER
        delete process.env.SHLVL
    }
})

test("a folder that changes while the run checks means no record", async () => {
    const paths = statePaths(w.env())
    const lock = await acquireLock(paths, "test")
    await lock.release()
    const folder = join(w.root, "watched")
    mkdirSync(folder, { recursive: true })
    const input = {
        key: "k", epoch: lock.epoch, output: "no changes\n", editBases: [],
        whole: [], through: [], sweep: [],
        identity: lookAt([folder]), real: new Map(), since: runStarted(),
    }
    chmodSync(folder, 0o700)
    assert.equal(await recordUnchanged(paths, input), false)
    assert.equal(await recordUnchanged(paths, { ...input, identity: lookAt([folder]) }), true)
})

test("bin/homeage.js answers from the record without loading the command line", async () => {
    const probe = join(w.root, "probe.cjs")
    writeFileSync(probe, "process.on(\"exit\", () => { process.stderr.write(JSON.stringify(" +
        "Object.keys(require.cache).filter((f) => f.endsWith(\".cjs\") && f !== __filename)" +
        ".map((f) => require(\"node:path\").basename(f)))) })")
    const env = { NODE_OPTIONS: `--require ${probe}` }
    await sleep(SETTLE_MS)
    let r = await activate([], env)
    assert.equal(r.code, 0)
    assert.deepEqual(JSON.parse(r.stderr), ["early.cjs", "launch.cjs"])

    r = await activate([], env)
    assert.equal(r.checked, false)
    assert.match(r.stdout, /^no changes \(generation \d+\)\n$/)
    assert.deepEqual(JSON.parse(r.stderr), ["early.cjs"], "only the early answer was loaded")

    r = await activate(["-q"], env)
    assert.equal(r.checked, true)
    assert.deepEqual(JSON.parse(r.stderr), ["early.cjs", "launch.cjs"])
})

test("the key holds the script run and the user's groups", () => {
    const script = process.argv[1]
    const groups = process.getgroups?.() ?? []
    const key = runKey(["activate"])
    try {
        process.argv[1] = "/another/install/bin/homeage.js"
        assert.notEqual(runKey(["activate"]), key, "one install never answers from another's")
        // A link to the script is the script: what it leads to is what counts.
        const link = join(w.root, "homeage-link")
        symlinkSync(script ?? "", link)
        process.argv[1] = link
        assert.equal(runKey(["activate"]), key)
        unlinkSync(link)
        process.argv[1] = script ?? ""
        process.setgroups?.([...groups, 4242])
        assert.notEqual(runKey(["activate"]), key)
    } finally {
        process.argv[1] = script ?? ""
        process.setgroups?.(groups)
    }
    assert.equal(runKey(["activate"]), key)
})

test("the default identity files and the config's real folder are watched", async () => {
    // No identityPaths: the files present among the defaults are used.
    const defaults = join(w.home, ".config", "homeage")
    mkdirSync(defaults, { recursive: true })
    writeFileSync(join(defaults, "identity.txt"), readFileSync(w.identity))
    const real = join(w.root, "real-a")
    const other = join(w.root, "real-b")
    for (const [folder, text] of [[real, "from a"], [other, "from b"]] as const) {
        mkdirSync(join(folder, "secrets"), { recursive: true })
        renameSync(w.encrypt("r", text), join(folder, "secrets", "r.age"))
    }
    // The config is a link whose target goes through a folder link; its sources
    // are relative to its real folder. The same file (a hard link) is in both.
    writeFileSync(join(real, "homeage.toml"), "installationType = \"activation\"\n" +
        "[secrets.r]\nsource = \"secrets/r.age\"\nsymlinks = [\"~/links/r\"]\n")
    linkSync(join(real, "homeage.toml"), join(other, "homeage.toml"))
    const via = join(w.root, "via")
    symlinkSync(real, via)
    symlinkSync(join(via, "homeage.toml"), join(w.root, "linked.toml"))
    const config = { HOMEAGE_CONFIG: join(w.root, "linked.toml") }
    let r = await activate([], config)
    assert.equal(r.code, 0, r.stderr)
    await sleep(SETTLE_MS)
    r = await activate([], config)
    r = await activate([], config)
    assert.equal(r.checked, false)

    unlinkSync(via)
    symlinkSync(other, via)
    r = await activate([], config)
    assert.equal(r.checked, true)
    assert.match(r.stdout, /1 changed/)
    assert.equal(readFileSync(join(w.home, "links", "r"), "utf8"), "from b")

    await sleep(SETTLE_MS)
    r = await activate([], config)
    r = await activate([], config)
    assert.equal(r.checked, false)
    mkdirSync(join(w.home, ".ssh"), { recursive: true })
    writeFileSync(join(w.home, ".ssh", "id_ed25519"), "not read by a run with nothing to do")
    r = await activate([], config)
    assert.equal(r.checked, true, "a new default identity file is seen")
    rmSync(join(w.home, ".ssh"), { recursive: true })
})

test("a leftover temp file in a swept folder means a full run, which removes it", async () => {
    assert.equal((await activate()).code, 0)
    await settle()
    const leftover = join(w.home, "copies", ".homeage-tmp-0123456789abcdef0123456789abcdef")
    writeFileSync(leftover, "perhaps plaintext", { mode: 0o600 })
    const r = await activate()
    assert.equal(r.checked, true)
    assert.match(r.stdout, /^no changes \(generation \d+\)\n$/)
    assert.throws(() => readFileSync(leftover), { code: "ENOENT" })
})
