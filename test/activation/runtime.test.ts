import assert from "node:assert/strict"
import {
    existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync,
    symlinkSync, writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"
import { setTimeout as sleep } from "node:timers/promises"

import { diffSnapshots, makeWorld, type World } from "../helpers/world.js"

let w: World
let secrets: string

before(async () => {
    w = makeWorld()
    secrets = join(w.run, "secrets")
    w.encrypt("gh", "gh-token-value")
    w.encrypt("netrc", "machine m login l password p\n")
    w.config(`
[secrets.gh-token]
source = "secrets/gh.age"
symlinks = ["~/.config/gh/token"]

[secrets.netrc]
source = "secrets/netrc.age"
mode = "0640"
copies = ["~/.netrc"]
`)
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
})
after(() => {
    w.destroy()
})

test("a re-run with nothing changed rewrites nothing and says so", async () => {
    // Files written within the last 100 ms are not noted as settled.
    await sleep(150)
    const snapBefore = w.snapshot()
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, "no changes (generation 1)\n")
    // Only the state dir's own mtime moves (the lock file came and went), the
    // lock's epoch token, which every run that takes the lock renews, and the
    // record of a run that found nothing to change (activation/unchanged.ts).
    const stateDir = join(w.home, ".local/state/homeage")
    assert.deepEqual(diffSnapshots(snapBefore, w.snapshot()), [`changed ${stateDir}`,
        `changed ${stateDir}/epoch`, `added ${stateDir}/unchanged.json`])

    // The next run finds that record still true: it touches nothing at all.
    const snapRecorded = w.snapshot()
    const fast = await w.cli(["activate"])
    assert.equal(fast.stdout, "no changes (generation 1)\n")
    assert.deepEqual(diffSnapshots(snapRecorded, w.snapshot()), [])

    const quiet = await w.cli(["-q", "activate"])
    assert.equal(quiet.code, 0)
    assert.equal(quiet.stdout + quiet.stderr, "")

    // Nothing is decrypted when nothing changed: the identity is not even read.
    renameSync(w.identity, `${w.identity}.away`)
    try {
        const r2 = await w.cli(["activate"])
        assert.equal(r2.code, 0, r2.stderr)
        assert.equal(r2.stdout, "no changes (generation 1)\n")
    } finally {
        renameSync(`${w.identity}.away`, w.identity)
    }
})

test("a missing symlink is restored without a new generation", async () => {
    rmSync(join(w.home, ".config/gh/token"))
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^restored gh-token: ~\/\.config\/gh\/token$/m)
    assert.match(r.stdout, /^1 restored \(generation 1\)$/m)
    assert.equal(readlinkSync(join(w.home, ".config/gh/token")), join(secrets, "gh-token"))
})

test("status reports every output and exits 0 when all are ok", async () => {
    const r = await w.cli(["status"])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, [
        `generation 1, runtime dir ${secrets}`,
        "gh-token: ok",
        `  plaintext ${secrets}/gh-token: ok`,
        "  symlink ~/.config/gh/token: ok",
        "netrc: ok",
        `  plaintext ${secrets}/netrc: ok`,
        "  copy ~/.netrc: ok",
        "",
    ].join("\n"))
})

test("path prints the plaintext path from the config, or from the generation", async () => {
    let r = await w.cli(["path", "gh-token"])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `${secrets}/gh-token\n`)
    r = await w.cli(["path", "nope"])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /no secret named nope/)
    r = await w.cli(["path", "netrc"], { HOMEAGE_CONFIG: "" })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `${secrets}/netrc\n`)
})

test("start after a reboot emptied the runtime dir restores everything without the " +
    "config or the dotfiles", async () => {
    const away = join(w.root, "dotfiles-away")
    renameSync(w.dotfiles, away)
    try {
        rmSync(secrets, { recursive: true })
        const netrcMtime = lstatSync(join(w.home, ".netrc")).mtimeMs

        let r = await w.cli(["status", "--json"])
        assert.equal(r.code, 1)
        const report = JSON.parse(r.stdout) as {
            ok: boolean, secrets: { name: string, plaintext: { state: string } }[]
        }
        assert.equal(report.ok, false)
        assert.deepEqual(report.secrets.map((s) => s.plaintext.state), ["missing", "missing"])

        r = await w.cli(["start"])
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /^started gh-token -> .*\/secrets\/gh-token$/m)
        assert.match(r.stdout, /^2 started, 0 already in place \(generation 1\)$/m)
        assert.equal(readFileSync(join(w.home, ".config/gh/token"), "utf8"), "gh-token-value")
        assert.equal(readFileSync(join(secrets, "netrc"), "utf8"),
            "machine m login l password p\n")
        assert.equal(lstatSync(join(secrets, "netrc")).mode & 0o7777, 0o640)
        assert.equal(lstatSync(secrets).mode & 0o7777, 0o700)
        assert.equal(lstatSync(join(w.home, ".netrc")).mtimeMs, netrcMtime)

        // start takes the state lock, so only the outputs are compared here.
        const outputs = [w.run, join(w.home, ".config"), join(w.home, ".netrc")]
        const snapBefore = w.snapshot(outputs)
        r = await w.cli(["start"])
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /nothing to start: 2 secret\(s\) already in place/)
        assert.deepEqual(diffSnapshots(snapBefore, w.snapshot(outputs)), [])
    } finally {
        renameSync(away, w.dotfiles)
    }
})

test("status tells modified, elsewhere and missing apart, and exits 1", async () => {
    writeFileSync(join(w.home, ".netrc"), "edited")
    rmSync(join(w.home, ".config/gh/token"))
    symlinkSync("/etc/hostname", join(w.home, ".config/gh/token"))
    const r = await w.cli(["status", "--json"])
    assert.equal(r.code, 1)
    const report = JSON.parse(r.stdout) as {
        secrets: { symlinks: unknown[], copies: unknown[] }[]
    }
    assert.deepEqual(report.secrets[0]!.symlinks, [{
        path: join(w.home, ".config/gh/token"), state: "elsewhere", target: "/etc/hostname",
    }])
    assert.deepEqual(report.secrets[1]!.copies, [
        { path: join(w.home, ".netrc"), state: "modified" },
    ])
    const text = await w.cli(["status"])
    assert.match(text.stdout,
        /^ {2}symlink ~\/\.config\/gh\/token: elsewhere \(-> \/etc\/hostname\)$/m)
    assert.match(text.stdout, /^ {2}copy ~\/\.netrc: modified$/m)
})

test("start leaves paths it did not write alone, starts the others, exits 1", async () => {
    rmSync(secrets, { recursive: true })
    const r = await w.cli(["start"])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /2 secret\(s\) could not be started/)
    assert.match(r.stderr, /secret gh-token: .*\.config\/gh\/token: points to \/etc\/hostname now/)
    assert.match(r.stderr, /secret netrc: .*\.netrc: modified since homeage wrote it/)
    assert.equal(readFileSync(join(w.home, ".netrc"), "utf8"), "edited")
    assert.equal(readlinkSync(join(w.home, ".config/gh/token")), "/etc/hostname")

    rmSync(join(w.home, ".config/gh/token"))
    const one = await w.cli(["start", "gh-token"])
    assert.equal(one.code, 0, one.stderr)
    assert.equal(readFileSync(join(w.home, ".config/gh/token"), "utf8"), "gh-token-value")
    assert.equal(existsSync(join(secrets, "netrc")), false)

    const unknown = await w.cli(["start", "nope"])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /no secret named nope in generation 1/)
})

test("stop removes outputs with the cleanup rules and keeps a modified copy", async () => {
    let r = await w.cli(["stop"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^stopped gh-token$/m)
    assert.match(r.stdout, /^kept ~\/\.netrc: modified since homeage wrote it$/m)
    assert.equal(existsSync(join(w.home, ".config/gh/token")), false)
    assert.equal(existsSync(join(w.home, ".config/gh")), false)
    assert.equal(existsSync(secrets), false)
    assert.equal(readFileSync(join(w.home, ".netrc"), "utf8"), "edited")

    r = await w.cli(["status"])
    assert.equal(r.code, 1)
    assert.match(r.stdout, /^gh-token: not ok$/m)
    assert.match(r.stdout, /^ {2}symlink ~\/\.config\/gh\/token: missing$/m)

    rmSync(join(w.home, ".netrc"))
    r = await w.cli(["start"])
    assert.equal(r.code, 0, r.stderr)
    r = await w.cli(["status"])
    assert.equal(r.code, 0, r.stdout)

    r = await w.cli(["stop", "netrc"])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(existsSync(join(w.home, ".netrc")), false)
    assert.deepEqual(readdirSync(secrets), ["gh-token"])
})

test("leftover temp files of a crash are removed by the next run", async () => {
    await w.cli(["start"])
    const leftover = join(secrets, ".homeage-tmp-0123456789abcdef0123456789abcdef")
    writeFileSync(leftover, "partial", { mode: 0o400 })
    const r = await w.cli(["-v", "activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /removed leftover temp file .*\.homeage-tmp-0123/)
    assert.equal(existsSync(leftover), false)
})

test("a second mutating run waits for the lock, then exits 1 naming the holder", async () => {
    const lock = join(w.home, ".local/state/homeage/lock")
    writeFileSync(lock, `${process.pid} activate\n`)
    try {
        const snapBefore = w.snapshot([w.run])
        const r = await w.cli(["start"])
        assert.equal(r.code, 1)
        assert.match(r.stderr,
            new RegExp(`another homeage is running: pid ${process.pid} \\(homeage activate\\)`))
        assert.deepEqual(diffSnapshots(snapBefore, w.snapshot([w.run])), [])
        const a = await w.cli(["activate"])
        assert.equal(a.code, 1)
        assert.match(a.stderr, /another homeage is running/)
    } finally {
        rmSync(lock, { force: true })
    }

    // A lock whose pid is gone is stale and taken over.
    writeFileSync(lock, "2147483646 activate\n")
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(existsSync(lock), false)
})

test("owner and group are applied when root", async () => {
    w.encrypt("svc", "service-secret")
    w.config(`
[secrets.svc]
source = "secrets/svc.age"
owner = "nobody"
group = "nogroup"
mode = "0440"
copies = ["~/svc-copy"]
`)
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    for (const path of [join(secrets, "svc"), join(w.home, "svc-copy")]) {
        const st = lstatSync(path)
        assert.equal(st.uid, 65534)
        assert.equal(st.gid, 65534)
        assert.equal(st.mode & 0o7777, 0o440)
    }
    mkdirSync(join(w.home, "unrelated"), { recursive: true })
    const status = await w.cli(["status"])
    assert.equal(status.code, 0, status.stdout)
})
