/**
 * What the service units rely on, through the real CLI without a service
 * manager: `stop --from-unit` and the handover mark of a running activate,
 * `stop` of names the current generation no longer has, `start -- NAME`, a
 * failed start removing outdated plaintext, and the check's service problems.
 */
import assert from "node:assert/strict"
import {
    chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { UNIT_MARKER } from "../../src/services/systemd.js"
import { diffSnapshots, makeWorld, type World } from "../helpers/world.js"

let w: World
let secrets: string
let state: string

const BOTH = `
[secrets.a]
source = "secrets/a.age"
symlinks = ["~/a-link"]

[secrets.b]
source = "secrets/b.age"
copies = ["~/b-copy"]
`
const ONLY_A = `
[secrets.a]
source = "secrets/a.age"
symlinks = ["~/a-link"]
`

const text = (p: string): string => readFileSync(p, "utf8")
const handover = (pid: number, names: string[]): void => {
    writeFileSync(join(state, "handover.json"), JSON.stringify({ pid, names }))
}

before(async () => {
    w = makeWorld()
    secrets = join(w.run, "secrets")
    state = join(w.home, ".local/state/homeage")
    w.encrypt("a", "alpha\n")
    w.encrypt("b", "bravo\n")
    w.config(BOTH)
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
})
after(() => {
    w.destroy()
})

test("a unit's stop keeps the files of a secret a running activate is replacing", async () => {
    handover(process.pid, ["a"])
    try {
        const kept = await w.cli(["stop", "--from-unit", "--", "a"])
        assert.equal(kept.code, 0, kept.stderr)
        assert.match(kept.stdout, /^kept a: homeage activate is replacing it$/m)
        assert.equal(text(join(w.home, "a-link")), "alpha\n")

        // Not listed, or stopped by the user: removed as always.
        const other = await w.cli(["stop", "--from-unit", "--", "b"])
        assert.equal(other.code, 0, other.stderr)
        assert.equal(existsSync(join(w.home, "b-copy")), false)
        const byUser = await w.cli(["stop", "a"])
        assert.equal(byUser.code, 0, byUser.stderr)
        assert.equal(existsSync(join(w.home, "a-link")), false)
        assert.equal(existsSync(join(secrets, "a")), false)
    } finally {
        rmSync(join(state, "handover.json"), { force: true })
    }
})

test("a mark left by a process that is gone, or outdated plaintext, does not keep files",
    async () => {
        assert.equal((await w.cli(["start", "--", "a"])).code, 0)
        handover(2147483646, ["a"])
        try {
            const r = await w.cli(["stop", "--from-unit", "--", "a"])
            assert.equal(r.code, 0, r.stderr)
            assert.equal(existsSync(join(secrets, "a")), false)

            assert.equal((await w.cli(["start"])).code, 0)
            handover(process.pid, ["a"])
            chmodSync(join(secrets, "a"), 0o600)
            writeFileSync(join(secrets, "a"), "an older alpha\n")
            const old = await w.cli(["stop", "--from-unit", "--", "a"])
            assert.equal(old.code, 0, old.stderr)
            assert.equal(existsSync(join(secrets, "a")), false)
            assert.equal(existsSync(join(w.home, "a-link")), false)
        } finally {
            rmSync(join(state, "handover.json"), { force: true })
        }
    })

test("start -- NAME starts one secret; a secret that fails loses its outdated plaintext",
    async () => {
        assert.equal((await w.cli(["stop"])).code, 0)
        const one = await w.cli(["start", "--", "a"])
        assert.equal(one.code, 0, one.stderr)
        assert.equal(text(join(w.home, "a-link")), "alpha\n")
        assert.equal(existsSync(join(w.home, "b-copy")), false)

        // b's stored copy is damaged, and an older plaintext of b is in place.
        const manifest = JSON.parse(text(join(state, "current"))) as {
            secrets: { name: string, storeHash: string }[]
        }
        const hash = manifest.secrets.find((s) => s.name === "b")?.storeHash ?? ""
        const stored = join(state, "store", `${hash}.age`)
        const good = readFileSync(stored)
        chmodSync(stored, 0o600)
        writeFileSync(stored, "damaged\n")
        writeFileSync(join(secrets, "b"), "bravo from last week\n", { mode: 0o400 })
        assert.equal((await w.cli(["stop", "a"])).code, 0)

        const r = await w.cli(["start"])

        assert.equal(r.code, 1)
        assert.match(r.stderr, /1 secret\(s\) could not be started/)
        assert.match(r.stderr, /secret b: the stored source .* is damaged/)
        assert.match(r.stdout, /^removed the outdated plaintext .*secrets\/b of b$/m)
        assert.equal(existsSync(join(secrets, "b")), false)
        assert.equal(existsSync(join(w.home, "b-copy")), false)
        assert.equal(text(join(w.home, "a-link")), "alpha\n")

        // The next activate stores the source again from the dotfiles.
        const fixed = await w.cli(["activate"])
        assert.equal(fixed.code, 0, fixed.stderr)
        assert.match(fixed.stdout, /^restored b: /m)
        assert.deepEqual(readFileSync(stored), good)
        assert.equal(text(join(w.home, "b-copy")), "bravo\n")
    })

test("stop of a name only an earlier generation had exits 0; a name never declared exits 2",
    async () => {
        w.config(ONLY_A)
        assert.equal((await w.cli(["activate"])).code, 0)

        const gone = await w.cli(["stop", "b"])
        assert.equal(gone.code, 0, gone.stderr)
        assert.match(gone.stdout, /^b is not in generation 2; nothing to stop$/m)
        assert.equal(text(join(w.home, "a-link")), "alpha\n")

        const unknown = await w.cli(["stop", "nope"])
        assert.equal(unknown.code, 2)
        assert.match(unknown.stderr, /no secret named nope in generation 2/)

        const fromUnit = await w.cli(["stop", "--from-unit", "--", "nope"])
        assert.equal(fromUnit.code, 0, fromUnit.stderr)

        const empty = join(w.root, "empty-state")
        mkdirSync(empty)
        const none = await w.cli(["stop", "--from-unit", "--", "a"], { XDG_STATE_HOME: empty })
        assert.equal(none.code, 0, none.stderr)
        assert.match(none.stdout, /^no current generation; nothing to stop$/m)
        const noneByUser = await w.cli(["stop", "a"], { XDG_STATE_HOME: empty })
        assert.equal(noneByUser.code, 1)
        assert.match(noneByUser.stderr, /run homeage activate first/)
    })

test("leaving systemd while its manager cannot be reached changes nothing", async () => {
    // The current generation says systemd, and a unit homeage wrote is installed.
    const current = join(state, readlinkSync(join(state, "current")))
    const saved = text(current)
    writeFileSync(current, saved.replace("\"installationType\": \"activation\"",
        "\"installationType\": \"systemd\""))
    const unitDir = join(w.home, ".config/systemd/user")
    mkdirSync(unitDir, { recursive: true })
    writeFileSync(join(unitDir, "homeage.service"), `${UNIT_MARKER}\n[Unit]\n`)
    try {
        const snap = w.snapshot()

        const r = await w.cli(["activate"])

        assert.equal(r.code, 1, r.stderr)
        assert.match(r.stderr, /homeage's systemd units in .*\/systemd\/user cannot be stopped: /)
        assert.match(r.stderr, /cannot reach the systemd user manager/)
        assert.match(r.stderr, /nothing was changed/)
        assert.deepEqual(diffSnapshots(snap, w.snapshot()), [])
    } finally {
        writeFileSync(current, saved)
        rmSync(join(w.home, ".config/systemd"), { recursive: true })
    }
})

test("launchd: check warns that the runtime dir is on disk and needs macOS", async () => {
    const disk = join(w.root, "disk-run")
    mkdirSync(disk, { mode: 0o700 })
    writeFileSync(w.configFile, [
        "identityPaths = [\"~/keys/identity.txt\"]",
        "installationType = \"launchd\"",
        `runtimeDir = "${disk}"`,
        "allowPersistentRuntimeDir = true",
        ONLY_A,
    ].join("\n"))

    const r = await w.cli(["check"])

    assert.equal(r.code, process.platform === "darwin" ? 0 : 1, r.stderr)
    assert.match(r.stderr,
        /^homeage: warning: installationType launchd: macOS has no memory-backed /m)
    assert.match(r.stderr, /\(default \$TMPDIR\/homeage-secrets\) is on disk; mount a RAM disk/)
    if (process.platform !== "darwin") {
        assert.match(r.stderr, /installationType "launchd" needs macOS, and this is linux/)
    }
})
