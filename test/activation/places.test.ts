/**
 * Where plaintext and outputs may go: a secret's path outside the runtime dir
 * must be on tmpfs too; no symlink is followed inside the runtime dir; outputs
 * are compared once symlinks are followed; nothing may land in the state dir;
 * and a damaged state dir is explained with its fix.
 */
import assert from "node:assert/strict"
import {
    existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync,
    writeFileSync,
} from "node:fs"
import { dirname, join } from "node:path"
import { after, before, beforeEach, test } from "node:test"
import { fileURLToPath } from "node:url"

import { diffSnapshots, makeWorld, type World } from "../helpers/world.js"

let w: World
let secrets: string
let state: string

before(() => {
    w = makeWorld()
    secrets = join(w.run, "secrets")
    state = join(w.home, ".local/state/homeage")
    w.encrypt("a", "alpha")
    w.encrypt("b", "bravo")
})
after(() => {
    w.destroy()
})
beforeEach(async () => {
    // Start every test from nothing: no outputs, no state, an empty runtime tmpfs.
    if (existsSync(state)) await w.cli(["deactivate", "--purge"])
    for (const name of readdirSync(w.home)) {
        if (name !== "keys") rmSync(join(w.home, name), { recursive: true, force: true })
    }
    for (const name of readdirSync(w.run)) rmSync(join(w.run, name), { recursive: true })
})

/** Runs `args`, asserts exit 1 and that HOME and the runtime dir did not change. */
async function refused(args: string[]): Promise<string> {
    const snapBefore = w.snapshot()
    const r = await w.cli(args)
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`)
    assert.deepEqual(diffSnapshots(snapBefore, w.snapshot()), [])
    assert.equal(r.stdout, "")
    return r.stderr
}

test("a secret path outside the runtime dir on disk is refused, allowed with a warning",
    async () => {
        w.config(`
[secrets.a]
source = "secrets/a.age"
path = "~/plain-on-disk"

[secrets.b]
source = "secrets/b.age"
path = "~/not/yet/made/b"
`)
        for (const command of ["check", "activate"]) {
            const err = await refused([command])
            assert.match(err, /activation check failed with 2 problems; nothing was changed/)
            assert.match(err, new RegExp("secret a: its plaintext ~/plain-on-disk is outside " +
                "the runtime dir and not on tmpfs or ramfs \\(file system type 0x[0-9a-f]+\\), " +
                "so it would be written to disk and survive a reboot; remove " +
                "secrets\\.a\\.path"))
            assert.match(err, /secret b: its plaintext ~\/not\/yet\/made\/b is outside/)
        }

        writeFileSync(w.configFile, readFileSync(w.configFile, "utf8")
            .replace("installationType", "allowPersistentRuntimeDir = true\ninstallationType"))
        const r = await w.cli(["activate"])
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stderr, new RegExp("warning: secret a: its plaintext ~/plain-on-disk is " +
            "outside .*; allowed by allowPersistentRuntimeDir"))
        assert.equal(readFileSync(join(w.home, "plain-on-disk"), "utf8"), "alpha")
    })

test("a secret path on another tmpfs outside the runtime dir is accepted", async () => {
    w.config(`
[secrets.a]
source = "secrets/a.age"
path = "$XDG_RUNTIME_DIR/elsewhere/a"
`)
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, "")
    assert.equal(readFileSync(join(w.run, "elsewhere/a"), "utf8"), "alpha")
})

test("a symlinked folder inside the runtime dir is never followed", async () => {
    const disk = join(w.home, "disk")
    mkdirSync(disk)
    mkdirSync(secrets, { mode: 0o700 })
    symlinkSync(disk, join(secrets, "sub"))
    w.config(`
[secrets."sub/x"]
source = "secrets/a.age"
`)
    const err = await refused(["activate"])
    assert.match(err, new RegExp(`secret sub/x: ${secrets}/sub is a symlink inside the ` +
        "runtime dir; homeage never follows one there, since it could lead plaintext to a " +
        "disk: remove it"))
    assert.deepEqual(readdirSync(disk), [])

    // Planted after activation: start refuses that secret and writes nothing to disk.
    rmSync(join(secrets, "sub"))
    assert.equal((await w.cli(["activate"])).code, 0)
    rmSync(join(secrets, "sub"), { recursive: true })
    symlinkSync(disk, join(secrets, "sub"))
    const r = await w.cli(["start"])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /secret sub\/x: .*\/secrets\/sub is a symlink inside the runtime dir/)
    assert.deepEqual(readdirSync(disk), [])
})

test("outputs that are one file once symlinks are followed are a conflict", async () => {
    mkdirSync(join(w.home, "x"))
    symlinkSync(join(w.home, "x"), join(w.home, "xl"))
    w.config(`
[secrets.a]
source = "secrets/a.age"
copies = ["~/x/f"]

[secrets.b]
source = "secrets/b.age"
copies = ["~/xl/f"]
`)
    const err = await refused(["activate"])
    assert.match(err, new RegExp(`secrets\\.b\\.copies\\[0\\]: ${w.home}/xl/f is the same ` +
        `file as secrets\\.a\\.copies\\[0\\] \\(${w.home}/x/f\\) once symlinks are followed ` +
        `\\(both are ${w.home}/x/f\\); a file can be the output of one secret only`))
    assert.deepEqual(readdirSync(join(w.home, "x")), [])
})

test("a symlink that reaches its own plaintext through a link to the runtime dir is " +
    "refused, even before the runtime dir exists", async () => {
    symlinkSync(secrets, join(w.home, "rtlink"))
    w.config(`
[secrets.a]
source = "secrets/a.age"
symlinks = ["~/rtlink/a"]
`)
    const err = await refused(["activate"])
    assert.match(err, new RegExp(`secrets\\.a\\.symlinks\\[0\\]: ${w.home}/rtlink/a is the ` +
        `secret's own path ${secrets}/a once symlinks are followed .*; a symlink there would ` +
        "replace the plaintext with a link to itself"))
    assert.equal(existsSync(secrets), false)
})

test("no output may land in or above the state dir, by text or through a symlink",
    async () => {
        assert.equal((await w.cli(["activate"])).code, 0)
        w.config(`
[secrets.a]
source = "secrets/a.age"
path = "~/.local/state/homeage/x"
symlinks = ["~/.local/state/homeage/current"]
`)
        let err = await refused(["activate"])
        assert.match(err, /secrets\.a\.path: .*\/\.local\/state\/homeage\/x is in homeage's state/)
        assert.match(err, /secrets\.a\.symlinks\[0\]: .*\/homeage\/current is in homeage's state/)

        symlinkSync(state, join(w.home, "statelink"))
        w.config(`
[secrets.a]
source = "secrets/a.age"
symlinks = ["~/statelink/current"]
`)
        err = await refused(["activate"])
        assert.match(err, new RegExp(`secrets\\.a\\.symlinks\\[0\\]: ${w.home}/statelink/current ` +
            "is in homeage's state dir .* once symlinks are followed; choose a target outside it"))
        assert.equal(readlinkSync(join(state, "current")), "generations/1.json")
    })

test("a damaged state dir is explained with its fix, not a bare errno", async () => {
    w.config(`
[secrets.a]
source = "secrets/a.age"
`)
    assert.equal((await w.cli(["activate"])).code, 0)
    rmSync(join(state, "current"))
    writeFileSync(join(state, "current"), "1\n")

    for (const command of ["activate", "status", "start", "generations", "rollback"]) {
        const r = await w.cli([command])
        assert.equal(r.code, 1, command)
        assert.equal(r.stderr, `homeage: error: homeage's state dir ${state} is damaged; ` +
            `nothing was changed\n  ${state}/current is a regular file, but homeage keeps ` +
            "the link to the current generation there as a symlink; remove it, then run " +
            "homeage rollback N (homeage generations lists them) or homeage activate\n", command)
    }

    rmSync(join(state, "current"))
    rmSync(join(state, "generations"), { recursive: true })
    writeFileSync(join(state, "generations"), "")
    const r = await w.cli(["activate"])
    assert.equal(r.code, 1)
    assert.match(r.stderr, new RegExp(`${state}/generations is a regular file, but homeage ` +
        "keeps the generations there as a folder; move it away, then run homeage activate"))
    assert.doesNotMatch(r.stderr, /ENOTDIR/)
})

test("a target folder replaced by a symlink after the check gets nothing", async () => {
    const folder = join(w.home, "app")
    const attacker = join(w.root, "attacker")
    mkdirSync(folder)
    mkdirSync(attacker, { recursive: true })
    w.config(`
[secrets.a]
source = "secrets/a.age"
copies = ["~/app/token"]
`)
    const preload = fileURLToPath(new URL("./signal-preload.js", import.meta.url))

    const r = await w.cli(["activate"], {
        NODE_OPTIONS: `--import=${preload}`,
        HOMEAGE_TEST_SWAP: `${folder}>${attacker}`,
        HOMEAGE_TEST_SWAP_IN: join(state, "generations"),
    })

    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, new RegExp(`secret a: ${folder} leads to ${attacker} now, not to ` +
        `${folder} as at the check: a folder on the way was replaced by a symlink; nothing ` +
        "was written there"))
    assert.deepEqual(readdirSync(attacker), [])
    rmSync(folder)
    rmSync(attacker, { recursive: true })
})

test("a target holding the config, a source or an identity, or the home folder, is refused " +
    "even with --backup", async () => {
    w.encrypt("a", "token\n")
    const targets = [w.dotfiles, join(w.home, "keys"), w.home, dirname(w.home)]
    const kept = [join(w.dotfiles, "secrets"), join(w.home, "keys")]
    const before = w.snapshot(kept)
    for (const target of targets) {
        w.config(`
[secrets.a]
source = "secrets/a.age"
copies = [${JSON.stringify(target)}]
`)
        const r = await w.cli(["activate", "--backup", "bak"],
            { XDG_STATE_HOME: join(w.root, "st") })
        assert.equal(r.code, 1, r.stderr)
        assert.ok(!existsSync(`${target}.bak`), `${target} was moved aside`)
        const holds = target === w.dotfiles ? "the config file" : "an identity file"
        const expected = target === w.home
            ? `${target} is the home folder ${w.home}; a secret must never take its place`
            : target === dirname(w.home)
                ? `${target} is above the home folder ${w.home}; a secret must never take its ` +
                    "place"
                : `${target} is a folder holding ${holds}`
        assert.ok(r.stderr.includes(expected), r.stderr)
        assert.ok(!r.stderr.includes("in the way"), `--backup advised: ${r.stderr}`)
    }
    assert.deepEqual(diffSnapshots(before, w.snapshot(kept)), [])
})

test("a backup name that is another target of the run, and a home or input named through " +
    "a symlink, are refused", async () => {
    w.encrypt("a", "token\n")
    const user = join(w.home, ".netrc")
    writeFileSync(user, "user data\n")
    w.config(`
[secrets.a]
source = "secrets/a.age"
copies = ["~/.netrc"]

[secrets.d]
source = "secrets/a.age"
copies = ["~/.netrc.bak"]
`)
    let r = await w.cli(["activate", "--backup", "bak"])
    assert.equal(r.code, 1, r.stderr)
    assert.ok(r.stderr.includes("~/.netrc cannot be backed up to ~/.netrc.bak: that is a " +
        "target of secret d; use another --backup extension"), r.stderr)
    assert.equal(readFileSync(user, "utf8"), "user data\n")
    assert.equal(existsSync(`${user}.bak`), false)
    rmSync(user)

    // HOME reached through a symlink, and the identity named through one.
    const homeLink = join(w.root, "home-link")
    symlinkSync(w.home, homeLink)
    const keysLink = join(w.home, "keys-link")
    symlinkSync("keys", keysLink)
    for (const target of [homeLink, keysLink]) {
        writeFileSync(w.configFile, "identityPaths = [\"~/keys-link/identity.txt\"]\n" +
            "installationType = \"activation\"\n[secrets.a]\nsource = \"secrets/a.age\"\n" +
            `copies = [${JSON.stringify(target)}]\n`)
        r = await w.cli(["activate", "--backup", "bak"],
            { HOME: homeLink, XDG_STATE_HOME: join(w.root, "st") })
        assert.equal(r.code, 1, r.stderr)
        assert.equal(lstatSync(target).isSymbolicLink(), true, `${target} was replaced`)
        assert.equal(existsSync(`${target}.bak`), false)
        const expected = target === homeLink
            ? `${target} is the home folder ${homeLink}`
            : `${target} is a folder holding an identity file`
        assert.ok(r.stderr.includes(expected), r.stderr)
    }
    rmSync(homeLink)
    rmSync(keysLink)
})
