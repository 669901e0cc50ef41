import assert from "node:assert/strict"
import { join } from "node:path"
import { afterEach, beforeEach, test } from "node:test"

import { runCli } from "../helpers/cli.js"
import { type Home, makeHome } from "./fixtures.js"

let h: Home
let env: NodeJS.ProcessEnv

beforeEach(() => {
    h = makeHome()
    h.write("secrets/a.age", "encrypted")
    env = {
        PATH: process.env.PATH,
        HOME: h.home,
        USER: "alice",
        XDG_RUNTIME_DIR: join(h.root, "run"),
    }
})

afterEach(() => {
    h.cleanup()
})

const BAD = [
    "[secrets.gh-token]",
    "source = \"secrets/missing.age\"",
    "mode = 400",
    "symlinks = [\"relative/link\"]",
].join("\n")

test("a config error exits 2 and lists every problem with its key path", async () => {
    const file = h.write("homeage.toml", BAD)
    const r = await runCli(["--config", file, "path", "gh-token"], { env, cwd: h.root })

    assert.equal(r.code, 2)
    assert.equal(r.stdout, "")
    assert.equal(r.stderr, [
        `homeage: error: config file ${file} has 3 errors; fix them and run again`,
        `  secrets.gh-token.source: ${join(h.dotfiles, "secrets", "missing.age")} does not `
            + `exist (relative sources are taken from the config file's folder, ${h.dotfiles})`,
        "  secrets.gh-token.mode: must be a quoted octal string such as \"0400\" (unquoted, "
            + "YAML reads 0400 as the number 400, and TOML refuses it)",
        "  secrets.gh-token.symlinks[0]: \"relative/link\" is relative; write an absolute path "
            + "or one starting with ~/",
        "",
    ].join("\n"))
})

test("the config is found through $HOMEAGE_CONFIG and in the working folder", async () => {
    const file = h.write("homeage.toml", "[secrets.gh-token]\nsource = \"secrets/a.age\"\n")
    const want = `${join(h.root, "run", "secrets", "gh-token")}\n`

    const viaEnv = await runCli(["path", "gh-token"],
        { env: { ...env, HOMEAGE_CONFIG: file }, cwd: h.root })
    assert.equal(viaEnv.stderr, "")
    assert.equal(viaEnv.stdout, want)
    assert.equal(viaEnv.code, 0)

    const viaCwd = await runCli(["path", "gh-token"], { env, cwd: h.dotfiles })
    assert.equal(viaCwd.stdout, want)
    assert.equal(viaCwd.code, 0)
})

test("a syntax error exits 2 naming the file, line and column", async () => {
    const file = h.write("homeage.yaml", "secrets:\n  a: [\n")
    const r = await runCli(["--config", file, "path", "a"], { env, cwd: h.root })
    assert.equal(r.code, 2)
    assert.match(r.stderr, new RegExp(`is not valid YAML: ${file}:3:1: `))
})
