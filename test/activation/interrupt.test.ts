/**
 * Signals during mutating commands, and what dead runs leave behind: a signal
 * while a file is written leaves no temp file and no lock, exits 128 + N with
 * one line; the next run sweeps `.homeage-tmp-*` of dead runs everywhere it
 * knows and reports an interrupted switch as completed, not as added.
 */
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import {
    existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync,
    writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { after, before, test } from "node:test"

import { CLI } from "../helpers/cli.js"
import { makeWorld, type World } from "../helpers/world.js"

let w: World
let secrets: string
let state: string

/** The preload that sends a signal while homeage writes a temp file (see its comment). */
const PRELOAD = fileURLToPath(new URL("./signal-preload.js", import.meta.url))

/** Size of the secret being written when the signal comes (bytes: 4 MiB). */
const BIG = 4 * 1024 * 1024

const CONFIG = `
[secrets.big]
source = "secrets/big.age"
copies = ["~/big-copy"]

[secrets.small]
source = "secrets/small.age"
symlinks = ["~/small-link"]
`

/** Every `.homeage-tmp-*` path under the world's root. */
function temps(dir = w.root): string[] {
    const found: string[] = []
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.name.startsWith(".homeage-tmp-")) found.push(path)
        if (entry.isDirectory()) found.push(...temps(path))
    }
    return found
}

function signalled(signal: string, folder: string): NodeJS.ProcessEnv {
    return {
        NODE_OPTIONS: `--import=${PRELOAD}`,
        HOMEAGE_TEST_SIGNAL: signal,
        HOMEAGE_TEST_SIGNAL_IN: folder,
    }
}

before(async () => {
    w = makeWorld()
    secrets = join(w.run, "secrets")
    state = join(w.home, ".local/state/homeage")
    w.encrypt("big", "a".repeat(BIG))
    w.encrypt("small", "small-1")
    w.config(CONFIG)
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
})
after(() => {
    w.destroy()
})

test("SIGTERM while a copy is written: no temp file, no lock, the old content, exit 143, " +
    "one line; the next activate finishes", async () => {
    w.encrypt("big", "b".repeat(BIG))
    w.encrypt("small", "small-2")

    const r = await w.cli(["activate"], signalled("SIGTERM", w.home))

    assert.equal(r.code, 143, r.stderr)
    assert.equal(r.stderr, "homeage: error: interrupted by SIGTERM; the switch to generation " +
        "2 is partly done (every file holds its old or its new content): run homeage " +
        "activate to finish it\n")
    assert.deepEqual(temps(), [])
    assert.equal(existsSync(join(state, "lock")), false)
    assert.equal(readFileSync(join(w.home, "big-copy"), "utf8"), "a".repeat(BIG))
    assert.equal(readlinkSync(join(state, "current")), "generations/1.json")
    assert.equal(readlinkSync(join(state, "pending")), "generations/2.json")

    const again = await w.cli(["activate"])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(readFileSync(join(w.home, "big-copy"), "utf8"), "b".repeat(BIG))
    assert.equal(readFileSync(join(w.home, "small-link"), "utf8"), "small-2")
    assert.equal(existsSync(join(state, "pending")), false)
    assert.deepEqual(temps(), [])
})

test("SIGINT before any output changes says nothing was changed, exit 130", async () => {
    w.encrypt("small", "small-3")

    const r = await w.cli(["activate"], signalled("SIGINT", join(state, "store")))

    assert.equal(r.code, 130, r.stderr)
    assert.equal(r.stderr, "homeage: error: interrupted by SIGINT; nothing was changed\n")
    assert.deepEqual(temps(), [])
    assert.equal(existsSync(join(state, "lock")), false)
    assert.equal(readFileSync(join(w.home, "small-link"), "utf8"), "small-2")
    assert.equal((await w.cli(["activate"])).code, 0)
})

test("SIGHUP during start leaves no temp file and exits 129", async () => {
    assert.equal((await w.cli(["stop"])).code, 0)

    const r = await w.cli(["start"], signalled("SIGHUP", secrets))

    assert.equal(r.code, 129, r.stderr)
    assert.match(r.stderr, /^homeage: error: interrupted by SIGHUP; the secrets started so far /)
    assert.deepEqual(temps(), [])
    assert.equal(existsSync(join(state, "lock")), false)
    assert.equal((await w.cli(["start"])).code, 0)
})

/** Plants a temp file a SIGKILLed run would leave, with plaintext-like content. */
function plant(folder: string): string {
    mkdirSync(folder, { recursive: true })
    const path = join(folder, ".homeage-tmp-00112233445566778899aabbccddeeff")
    writeFileSync(path, "left by a killed run", { mode: 0o400 })
    return path
}

test("leftover temp files of dead runs are swept by stop, start, activate and deactivate, " +
    "in every folder homeage knows", async () => {
    const folders = [w.home, secrets, join(secrets, "deeper"), state, join(state, "store"),
        join(state, "generations")]
    for (const command of [["stop"], ["start"], ["activate"], ["deactivate"]]) {
        const planted = folders.map(plant)
        const r = await w.cli(["-v", ...command])
        assert.equal(r.code, 0, `${command[0]}: ${r.stderr}`)
        for (const path of planted) {
            assert.equal(existsSync(path), false, `${command[0]} left ${path}`)
            assert.match(r.stderr, new RegExp(`removed leftover temp file ${path}`))
        }
        if (command[0] === "stop") assert.equal((await w.cli(["start"])).code, 0)
    }
    // After deactivate nothing is current and the runtime dir is gone; nothing was left.
    assert.deepEqual(temps(), [])
    assert.equal(lstatSync(state).isDirectory(), true)
})

test("activate and start remove the plaintext folders of killed edits, not live ones",
    async () => {
        const live = join(w.run, `homeage-edit-${process.pid}-LiVe00`)
        mkdirSync(live, { mode: 0o700 })
        for (const command of ["activate", "start"]) {
            const dead = join(w.run, "homeage-edit-2147483646-AbC123")
            mkdirSync(dead, { mode: 0o700 })
            writeFileSync(join(dead, "token"), "plaintext being edited", { mode: 0o600 })

            const r = await w.cli(["-v", command])

            assert.equal(r.code, 0, `${command}: ${r.stderr}`)
            assert.equal(existsSync(dead), false, command)
            assert.equal(existsSync(live), true, command)
        }
        rmSync(live, { recursive: true })
    })

test("a reader that closes the output early (activate | head -1) does not stop the switch",
    async () => {
        w.encrypt("small", "small-closed-pipe")
        const child = spawn(process.execPath, [CLI, "activate"],
            { env: w.env(), cwd: w.root, stdio: ["ignore", "pipe", "pipe"] })
        child.stdout.destroy()
        let stderr = ""
        child.stderr.on("data", (piece: Buffer) => { stderr += piece.toString() })
        const code = await new Promise<number | null>((resolve) => {
            child.on("close", (status) => { resolve(status) })
        })

        assert.equal(code, 0, stderr)
        assert.equal(stderr, "")
        assert.equal(readFileSync(join(secrets, "small"), "utf8"), "small-closed-pipe")
        assert.equal(existsSync(join(state, "lock")), false)
        assert.equal(existsSync(join(state, "pending")), false)
        assert.deepEqual(temps(), [])
    })

test("output to a full disk (> /dev/full) is dropped; the switch finishes", async () => {
    w.encrypt("small", "small-full-disk")
    const child = spawn(process.execPath, [CLI, "activate"],
        { env: w.env(), cwd: w.root, stdio: ["ignore", openSync("/dev/full", "w"), "pipe"] })
    let stderr = ""
    child.stderr?.on("data", (piece: Buffer) => { stderr += piece.toString() })
    const code = await new Promise<number | null>((resolve) => {
        child.on("close", (status) => { resolve(status) })
    })

    assert.equal(code, 0, stderr)
    assert.equal(readFileSync(join(secrets, "small"), "utf8"), "small-full-disk")
    assert.equal(existsSync(join(state, "lock")), false)
    assert.deepEqual(temps(), [])
})
