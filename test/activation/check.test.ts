import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import {
    chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync,
    writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { after, before, beforeEach, test } from "node:test"

import { diffSnapshots, makeWorld, type World } from "../helpers/world.js"

let w: World

const SECRETS = `
[secrets.token]
source = "secrets/token.age"
symlinks = ["~/.config/tool/token"]
copies = ["~/token-copy"]
`

before(() => {
    w = makeWorld()
    w.encrypt("token", "t0ken")
})
after(() => {
    w.destroy()
})
beforeEach(() => {
    for (const path of [join(w.run, "secrets"), join(w.home, "token-copy"),
        join(w.home, ".config"), join(w.home, "link"), join(w.home, "link.bak")]) {
        rmSync(path, { recursive: true, force: true })
    }
    w.config(SECRETS)
})

/** Runs `args`, asserts the exit code and that HOME and the runtime dir did not change. */
async function refused(args: string[], code: number, extra?: NodeJS.ProcessEnv) {
    const snapBefore = w.snapshot()
    const r = await w.cli(args, extra)
    assert.equal(r.code, code, `${r.stdout}\n${r.stderr}`)
    assert.deepEqual(diffSnapshots(snapBefore, w.snapshot()), [])
    assert.equal(r.stdout, "")
    return r.stderr
}

test("a config error exits 2 and changes nothing", async () => {
    w.config(`${SECRETS}mode = 400\nbogus = 1\n`)
    const err = await refused(["activate"], 2)
    assert.match(err, /secrets\.token\.mode/)
    assert.match(err, /secrets\.token\.bogus/)
})

test("no usable identity: exit 1 naming the files tried", async () => {
    writeFileSync(w.configFile, "identityPaths = [\"~/keys/missing.txt\"]\n" +
        `installationType = "activation"\n${SECRETS}`)
    const err = await refused(["activate"], 1)
    assert.match(err, /no usable identity.*keys\/missing\.txt/)
    await refused(["check"], 1)
})

test("a tampered or truncated source is refused before anything is written", async () => {
    const good = readFileSync(join(w.dotfiles, "secrets/token.age"))
    const tampered = Buffer.from(good)
    tampered[tampered.length - 1]! ^= 0x01
    writeFileSync(join(w.dotfiles, "secrets/tampered.age"), tampered)
    writeFileSync(join(w.dotfiles, "secrets/short.age"), good.subarray(0, good.length - 5))
    w.config(`${SECRETS}
[secrets.tampered]
source = "secrets/tampered.age"
[secrets.short]
source = "secrets/short.age"
`)
    const err = await refused(["activate"], 1)
    assert.match(err, /activation check failed with 2 problems; nothing was changed/)
    assert.match(err, /secret tampered \(.*tampered\.age\)/)
    assert.match(err, /secret short \(.*short\.age\)/)
    assert.doesNotMatch(err, /t0ken/)
})

test("two secrets with the same symlink are a conflict", async () => {
    w.config(`${SECRETS}
[secrets.other]
source = "secrets/token.age"
symlinks = ["~/.config/tool/token"]
`)
    const err = await refused(["activate"], 1)
    assert.match(err, /\.config\/tool\/token/)
})

test("unmanaged file, folder and foreign symlink in the way: all listed, exit 1", async () => {
    mkdirSync(join(w.home, ".config/tool"), { recursive: true })
    writeFileSync(join(w.home, ".config/tool/token"), "mine\n")
    mkdirSync(join(w.home, "token-copy"))
    writeFileSync(join(w.home, "token-copy/inside"), "x")
    symlinkSync("/etc/hostname", join(w.home, "link"))
    w.config(`${SECRETS}
[secrets.linked]
source = "secrets/token.age"
symlinks = ["~/link"]
`)
    const err = await refused(["activate"], 1)
    assert.match(err, /with 3 problems/)
    assert.match(err, new RegExp("secret token: ~/\\.config/tool/token: a regular file that " +
        "homeage does not manage is in the way; move it away, or run homeage activate " +
        "--backup EXT"))
    assert.match(err, /secret token: ~\/token-copy: a folder that homeage does not manage/)
    assert.match(err, /secret linked: ~\/link: a symlink to \/etc\/hostname that homeage/)
    await refused(["check"], 1)
    await refused(["activate", "--dry-run"], 1)

    // --backup is refused when FILE.EXT exists too.
    writeFileSync(join(w.home, "link.bak"), "")
    const err2 = await refused(["activate", "--backup", "bak"], 1)
    assert.match(err2, /~\/link: .* cannot be backed up: ~\/link\.bak exists/)
})

test("a runtime dir not on tmpfs is refused unless allowed", async () => {
    const config = `runtimeDir = "~/persistent"\n${SECRETS}`
    w.config(config)
    const err = await refused(["activate"], 1)
    assert.match(err, /runtime dir .*\/home\/persistent is not on tmpfs or ramfs/)
    assert.match(err, /allowPersistentRuntimeDir/)
})

test("a runtime dir whose parent is missing is a clear error, no fallback", async () => {
    const missing = join(w.root, "no-such-run")
    const err = await refused(["activate"], 1, { XDG_RUNTIME_DIR: missing })
    assert.match(err, new RegExp(`its parent ${missing} does not exist`))
})

test("a runtime dir owned by someone else is refused", async () => {
    mkdirSync(join(w.run, "secrets"), { mode: 0o700 })
    chownSync(join(w.run, "secrets"), 65534, 65534)
    const err = await refused(["activate"], 1)
    assert.match(err, /is owned by uid 65534, not by you/)
})

test("a runtime dir reached through someone else's symlink is refused", async () => {
    mkdirSync(join(w.run, "real"))
    symlinkSync(join(w.run, "real"), join(w.run, "link"))
    lchownSync(join(w.run, "link"), 65534, 65534)
    w.config(`runtimeDir = "$XDG_RUNTIME_DIR/link/secrets"\n${SECRETS}`)
    const err = await refused(["activate"], 1)
    assert.match(err, /is reached through the symlink .*\/run\/link, owned by uid 65534/)
    rmSync(join(w.run, "link"))
    rmSync(join(w.run, "real"), { recursive: true })
})

test("an unknown owner is a clear error", async () => {
    w.config(`${SECRETS}owner = "no-such-user-homeage"\n`)
    const err = await refused(["activate"], 1)
    assert.match(err, /secret token: owner "no-such-user-homeage" is not a user on this machine/)
})

test("every problem of a run is listed at once", async () => {
    writeFileSync(join(w.home, "token-copy"), "mine")
    const bad = Buffer.from(readFileSync(join(w.dotfiles, "secrets/token.age")))
    bad[bad.length - 1]! ^= 0x80
    writeFileSync(join(w.dotfiles, "secrets/bad.age"), bad)
    w.config(`runtimeDir = "~/persistent"\n${SECRETS}group = "no-such-group-homeage"
[secrets.bad]
source = "secrets/bad.age"
symlinks = ["~/.config/tool/token"]
`)
    const err = await refused(["activate"], 1)
    assert.match(err, /group "no-such-group-homeage" is not a group/)
    assert.match(err, /secret bad \(/)
    assert.match(err, /~\/token-copy: a regular file that homeage does not manage/)
    assert.match(err, /not on tmpfs or ramfs/)
    assert.match(err, /\.config\/tool\/token/)
})

test("check passes, decrypts and changes nothing; a loose runtime dir is tightened " +
    "by activate only", async () => {
    mkdirSync(join(w.run, "secrets"))
    chmodSync(join(w.run, "secrets"), 0o755)
    const snapBefore = w.snapshot()
    let r = await w.cli(["check"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /check passed: 1 secret decrypted and verified/)
    assert.match(r.stderr, /accessible to others \(mode 0755\); activate makes it 0700/)
    r = await w.cli(["activate", "--dry-run"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^would add token -> ~\/\.config\/tool\/token, ~\/token-copy$/m)
    assert.match(r.stdout, /dry run: 1 added; nothing was changed/)
    assert.deepEqual(diffSnapshots(snapBefore, w.snapshot()), [])

    r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(lstatSync(join(w.run, "secrets")).mode & 0o777, 0o700)
    assert.equal(readFileSync(join(w.run, "secrets/token"), "utf8"), "t0ken")
})

test("allowPersistentRuntimeDir accepts a disk folder with a warning", async () => {
    w.config(`runtimeDir = "~/persistent"\nallowPersistentRuntimeDir = true\n${SECRETS}`)
    const r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /warning: runtime dir .* is not on tmpfs or ramfs .* allowed by/)
    assert.equal(readFileSync(join(w.home, "persistent/token"), "utf8"), "t0ken")
})

test("check warns when a secret is not encrypted to every declared recipient", async () => {
    const other = join(w.home, "keys/other.txt")
    execFileSync("age-keygen", ["-o", other], { stdio: "ignore" })
    const otherRecipient = execFileSync("age-keygen", ["-y", other], { encoding: "utf8" }).trim()
    w.config(`recipients = ["${w.recipient}", "${otherRecipient}"]\n${SECRETS}`)
    const source = join(w.dotfiles, "secrets/token.age")

    const r = await w.cli(["check"])

    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stderr, `homeage: warning: ${source} is encrypted to 1 X25519 recipient ` +
        "but token declares 2; run `homeage rekey token`\n")
    assert.match(r.stdout, /check passed: 1 secret decrypted and verified/)
    rmSync(other)
})
