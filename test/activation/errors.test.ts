/**
 * File-system failures during a switch, as a user reads them: which file,
 * what happened in plain words, what was kept, and what to do; never a bare
 * errno. A small tmpfs runs full (ENOSPC) and an immutable folder refuses a
 * copy (EPERM, which root meets too).
 */
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { makeWorld, type World } from "../helpers/world.js"

let w: World
let secrets: string

/** A secret larger than the world's 16 MiB tmpfs (bytes: 20 MiB). */
const TOO_BIG = 20 * 1024 * 1024

before(() => {
    w = makeWorld()
    secrets = join(w.run, "secrets")
    w.encrypt("small", "small")
})
after(() => {
    w.destroy()
})

test("a full tmpfs is named with what was kept and what to do", async () => {
    w.encrypt("big", "x".repeat(TOO_BIG))
    w.config(`
[secrets.small]
source = "secrets/small.age"

[secrets.big]
source = "secrets/big.age"
`)
    const r = await w.cli(["activate"])

    assert.equal(r.code, 1)
    const target = join(secrets, "big")
    assert.equal(r.stderr, "homeage: error: activation failed for 1 secret(s); each path of " +
        "those keeps its old content (or stays absent), the other secrets are switched, and " +
        "the next homeage activate finishes the job once the cause is fixed\n" +
        `  secret big: cannot write ${target}: the file system holding ${target} is full ` +
        "(ENOSPC): free space there (or make the tmpfs bigger) and run the command again; " +
        `${target} keeps its old content (if it had any)\n`)
    assert.deepEqual(readdirSync(secrets), ["small"])
    assert.equal(readFileSync(join(secrets, "small"), "utf8"), "small")
    rmSync(join(w.dotfiles, "secrets/big.age"))
})

test("an immutable target folder is named with the fix", async () => {
    const folder = join(w.home, "locked")
    mkdirSync(folder)
    execFileSync("chattr", ["+i", folder])
    try {
        w.config(`
[secrets.small]
source = "secrets/small.age"
copies = ["~/locked/small"]
`)
        const r = await w.cli(["activate"])

        assert.equal(r.code, 1)
        assert.match(r.stderr, new RegExp(`secret small: cannot create a file in ${folder}: ` +
            `permission denied at ${folder} \\(EPERM\\): give your user write access to its ` +
            "folder \\(or remove the immutable attribute\\), or choose another path; " +
            `${folder}/small keeps its old content`))
        assert.doesNotMatch(r.stderr, /operation not permitted/)
    } finally {
        execFileSync("chattr", ["-i", folder])
    }
    assert.equal(existsSync(join(folder, "small")), false)
})
