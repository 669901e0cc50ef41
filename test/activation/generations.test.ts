import assert from "node:assert/strict"
import {
    lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, existsSync,
    rmSync, readdirSync,
} from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { makeWorld, snapshotOf, diffSnapshots, type World } from "../helpers/world.js"

let w: World
const mode = (p: string): number => lstatSync(p).mode & 0o7777
const text = (p: string): string => readFileSync(p, "utf8")

before(() => {
    w = makeWorld()
})
after(() => {
    w.destroy()
})

test("several generations in a row: add, change, rename, move a link, drop a copy, " +
    "remove all", async () => {
    const h = (p: string): string => join(w.home, p)
    const secrets = join(w.run, "secrets")

    // Unmanaged neighbours that must stay byte-identical through every generation.
    mkdirSync(h(".config/app"), { recursive: true })
    writeFileSync(h(".config/app/settings.ini"), "theme=dark\n", { mode: 0o644 })
    mkdirSync(h("notes"))
    writeFileSync(h("notes/todo.txt"), "buy milk\n")
    symlinkSync("/etc/hostname", h("foreign-link"))
    writeFileSync(h(".profile"), "export A=1\n")
    const unmanaged = [h(".config/app/settings.ini"), h("notes"), h("foreign-link")]
    const unmanagedBefore = snapshotOf(unmanaged)

    // Generation 1: three secrets; ~/.profile is in the way and backed up.
    w.encrypt("api", "api-v1")
    w.encrypt("netrc", "machine example.com login me password pw\n")
    w.encrypt("deploy", "deploy-key")
    w.config(`
[secrets.api]
source = "secrets/api.age"
symlinks = ["~/.config/app/api-token", "~/.profile"]
copies = ["~/api-copy"]

[secrets.netrc]
source = "secrets/netrc.age"
mode = "0600"
copies = ["~/.netrc"]

[secrets.deploy]
source = "secrets/deploy.age"
path = "ci/deploy"
symlinks = ["~/deploy-link"]
`)
    let r = await w.cli(["activate"])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr,
        /~\/\.profile: a regular file that homeage does not manage is in the way/)

    r = await w.cli(["activate", "--backup", ".bak"]) // the same as bak: one dot
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^moved ~\/\.profile to ~\/\.profile\.bak$/m)
    assert.match(r.stdout,
        /^added api -> ~\/\.config\/app\/api-token, ~\/\.profile, ~\/api-copy$/m)
    assert.match(r.stdout, /^added netrc -> ~\/\.netrc$/m)
    assert.match(r.stdout, /^added deploy -> ~\/deploy-link$/m)
    assert.match(r.stdout, /^3 added \(generation 1\)$/m)
    assert.equal(text(h(".profile.bak")), "export A=1\n")

    assert.equal(text(join(secrets, "api")), "api-v1")
    assert.equal(mode(join(secrets, "api")), 0o400)
    assert.equal(mode(secrets), 0o700)
    assert.equal(mode(join(secrets, "ci")), 0o700)
    assert.equal(readlinkSync(h(".config/app/api-token")), join(secrets, "api"))
    assert.equal(readlinkSync(h(".profile")), join(secrets, "api"))
    assert.equal(text(h("api-copy")), "api-v1")
    assert.equal(mode(h("api-copy")), 0o400)
    assert.ok(lstatSync(h("api-copy")).isFile())
    assert.equal(text(h(".netrc")), "machine example.com login me password pw\n")
    assert.equal(mode(h(".netrc")), 0o600)
    assert.equal(text(join(secrets, "ci/deploy")), "deploy-key")
    assert.equal(readlinkSync(h("deploy-link")), join(secrets, "ci/deploy"))
    const netrcMtime = lstatSync(h(".netrc")).mtimeMs

    // Generation 2: api changes content, deploy is renamed to release (same source).
    w.encrypt("api", "api-v2")
    w.config(`
[secrets.api]
source = "secrets/api.age"
symlinks = ["~/.config/app/api-token", "~/.profile"]
copies = ["~/api-copy"]

[secrets.netrc]
source = "secrets/netrc.age"
mode = "0600"
copies = ["~/.netrc"]

[secrets.release]
source = "secrets/deploy.age"
path = "ci/release"
symlinks = ["~/deploy-link"]
`)
    r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^changed api: content$/m)
    assert.match(r.stdout, /^added release -> ~\/deploy-link$/m)
    assert.match(r.stdout, /^removed deploy$/m)
    assert.match(r.stdout, /^1 added, 1 changed, 1 removed \(generation 2\)$/m)
    assert.doesNotMatch(r.stdout, /netrc/)
    assert.equal(text(join(secrets, "api")), "api-v2")
    assert.equal(text(h("api-copy")), "api-v2")
    assert.equal(text(h(".config/app/api-token")), "api-v2")
    assert.equal(lstatSync(h(".netrc")).mtimeMs, netrcMtime)
    assert.equal(existsSync(join(secrets, "ci/deploy")), false)
    assert.equal(text(join(secrets, "ci/release")), "deploy-key")
    assert.equal(readlinkSync(h("deploy-link")), join(secrets, "ci/release"))

    // Generation 3: api's link moves to app2; netrc's copy is dropped but the user
    // edited it, so it is kept; the user re-points the release link.
    writeFileSync(h(".netrc"), "machine example.com login me password CHANGED\n")
    rmSync(h("deploy-link"))
    symlinkSync("/etc/hostname", h("deploy-link"))
    w.config(`
[secrets.api]
source = "secrets/api.age"
symlinks = ["~/.config/app2/api-token", "~/.profile"]
copies = ["~/api-copy"]

[secrets.netrc]
source = "secrets/netrc.age"
mode = "0600"

[secrets.release]
source = "secrets/deploy.age"
path = "ci/release"
`)
    r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^changed api: symlinks$/m)
    assert.match(r.stdout, /^changed netrc: copies$/m)
    assert.match(r.stdout, /^changed release: symlinks$/m)
    assert.match(r.stdout, /^kept ~\/\.netrc: modified since homeage wrote it$/m)
    assert.match(r.stdout,
        /^kept ~\/deploy-link: points to \/etc\/hostname now, not where homeage/m)
    assert.equal(existsSync(h(".config/app/api-token")), false)
    assert.equal(readlinkSync(h(".config/app2/api-token")), join(secrets, "api"))
    assert.equal(mode(h(".config/app2")), 0o700)
    assert.equal(text(h(".netrc")), "machine example.com login me password CHANGED\n")
    assert.equal(readlinkSync(h("deploy-link")), "/etc/hostname")
    // ~/.config/app was not made by homeage: it stays with the user's file.
    assert.deepEqual(readdirSync(h(".config/app")), ["settings.ini"])

    // Generation 4: everything removed.
    w.config("")
    r = await w.cli(["activate"])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^removed api$/m)
    assert.match(r.stdout, /^removed netrc$/m)
    assert.match(r.stdout, /^removed release$/m)
    assert.match(r.stdout, /^3 removed \(generation 4\)$/m)
    assert.equal(existsSync(h(".profile")), false)
    assert.equal(existsSync(h("api-copy")), false)
    assert.equal(existsSync(h(".config/app2")), false)
    assert.equal(existsSync(secrets), false)
    assert.deepEqual(readdirSync(w.run), [])
    // Kept before, still kept: the user's edited copy and re-pointed link.
    assert.equal(text(h(".netrc")), "machine example.com login me password CHANGED\n")
    assert.equal(readlinkSync(h("deploy-link")), "/etc/hostname")
    assert.equal(text(h(".profile.bak")), "export A=1\n")
    assert.deepEqual(diffSnapshots(unmanagedBefore, snapshotOf(unmanaged)), [])
    assert.deepEqual(readdirSync(h(".config")).sort(), ["app"])

    // The state has generations 1-4 with their manifests and only encrypted sources.
    const state = join(w.home, ".local/state/homeage")
    assert.deepEqual(readdirSync(join(state, "generations")).sort(),
        ["1.json", "2.json", "3.json", "4.json"])
    assert.equal(readlinkSync(join(state, "current")), "generations/4.json")
    for (const name of readdirSync(join(state, "store"))) {
        assert.match(readFileSync(join(state, "store", name), "latin1"),
            /^age-encryption\.org\/v1\n/)
    }
    const g1 = JSON.parse(readFileSync(join(state, "generations/1.json"), "utf8")) as {
        secrets: { name: string, path: string, plaintextHash: string }[]
    }
    assert.deepEqual(g1.secrets.map((s) => s.path),
        [join(secrets, "api"), join(secrets, "netrc"), join(secrets, "ci/deploy")])
    assert.match(g1.secrets[0]!.plaintextHash, /^hmac-sha256:[0-9a-f]{64}$/)
    assert.equal(mode(join(state, "hash-key")), 0o600)
})
