import assert from "node:assert/strict"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, beforeEach, test } from "node:test"

import { environment, findConfigFile } from "../../src/config/index.js"
import { UsageError } from "../../src/errors.js"
import { type Home, makeHome } from "./fixtures.js"

let h: Home
let cwd: string
let xdg: string

beforeEach(() => {
    h = makeHome()
    cwd = join(h.root, "work")
    xdg = join(h.home, ".config", "homeage")
    mkdirSync(cwd, { recursive: true })
    mkdirSync(xdg, { recursive: true })
})

afterEach(() => {
    h.cleanup()
})

function touch(file: string): string {
    writeFileSync(file, "")
    return file
}

function findError(options: Parameters<typeof findConfigFile>[0]): UsageError {
    try {
        findConfigFile(options)
    } catch (err) {
        assert.ok(err instanceof UsageError)
        return err
    }
    assert.fail("expected a UsageError")
}

test("lookup order: --config, then $HOMEAGE_CONFIG, then ./, then $XDG_CONFIG_HOME", () => {
    const inXdg = touch(join(xdg, "homeage.yaml"))
    const inCwd = touch(join(cwd, "homeage.json"))
    const fromEnv = touch(join(h.root, "env.toml"))
    const explicit = touch(join(h.root, "explicit.yml"))
    const env = environment({ HOME: h.home, HOMEAGE_CONFIG: fromEnv })

    assert.equal(findConfigFile({ explicit, env, cwd }), explicit)
    assert.equal(findConfigFile({ env, cwd }), fromEnv)
    assert.equal(findConfigFile({ env: h.env, cwd }), inCwd)
    assert.equal(findConfigFile({ env: h.env, cwd: h.root }), inXdg)
})

test("--config and $HOMEAGE_CONFIG are taken relative to the working folder", () => {
    const env = environment({ HOME: h.home, HOMEAGE_CONFIG: "sub/env.toml" })
    assert.equal(findConfigFile({ env, cwd }), join(cwd, "sub", "env.toml"))
    assert.equal(findConfigFile({ explicit: "../x.yaml", env, cwd }), join(h.root, "x.yaml"))
})

test("each extension is found in the working folder", () => {
    for (const ext of ["toml", "yaml", "yml", "json"]) {
        const folder = join(h.root, ext)
        mkdirSync(folder)
        const file = touch(join(folder, `homeage.${ext}`))
        assert.equal(findConfigFile({ env: h.env, cwd: folder }), file)
    }
})

test("$XDG_CONFIG_HOME decides the user-wide folder", () => {
    const other = join(h.root, "elsewhere")
    mkdirSync(join(other, "homeage"), { recursive: true })
    const file = touch(join(other, "homeage", "homeage.toml"))
    const env = environment({ HOME: h.home, XDG_CONFIG_HOME: other })
    assert.equal(findConfigFile({ env, cwd }), file)
})

test("two config files in one folder are an error naming both", () => {
    const toml = touch(join(cwd, "homeage.toml"))
    const yaml = touch(join(cwd, "homeage.yaml"))
    const err = findError({ env: h.env, cwd })
    assert.equal(err.exitCode, 2)
    assert.equal(err.message, `${cwd} has 2 config files (${toml}, ${yaml}); keep one, `
        + "or choose with --config FILE")
    assert.deepEqual(err.problems, [toml, yaml])
})

test("two config files in the XDG folder are an error too", () => {
    touch(join(xdg, "homeage.yml"))
    touch(join(xdg, "homeage.json"))
    const err = findError({ env: h.env, cwd })
    assert.match(err.message, /has 2 config files .*homeage\.yml, .*homeage\.json/)
})

test("no config file: an error saying where it looked and suggesting homeage init", () => {
    const err = findError({ env: h.env, cwd })
    assert.equal(err.exitCode, 2)
    assert.equal(err.message, "no config file found (looked for "
        + `${join(cwd, "homeage.{toml,yaml,yml,json}")} and `
        + `${join(xdg, "homeage.{toml,yaml,yml,json}")}, and $HOMEAGE_CONFIG is not set); `
        + "run `homeage init` to write one, or pass --config FILE")
})
