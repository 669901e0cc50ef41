import assert from "node:assert/strict"
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, beforeEach, test } from "node:test"

import { parse as parseToml } from "smol-toml"

import {
    configDigest, validatorVersion, configValidations, readConfigCache, writeConfigCache,
} from "../../src/config/cache.js"
import { cacheValidatedConfig, environment, loadConfig } from "../../src/config/index.js"
import { configFileSchema } from "../../src/config/schema.js"
import type { UsageError } from "../../src/errors.js"
import { packageVersion } from "../../src/package.js"
import { type Home, makeHome, usageError } from "./fixtures.js"

const CONFIG = `identityPaths = ["~/.ssh/id_ed25519"]
runtimeDir = "$XDG_RUNTIME_DIR/secrets"

[secrets.gh-token]
source = "secrets/a.age"
symlinks = ["~/.config/gh/token"]

[secrets."app/db"]
source = "secrets/b.age"
path = "db.txt"
mode = "0440"
copies = ["$XDG_DATA_HOME/app/db"]
`

let h: Home
let state: string
let cache: string
let file: string

beforeEach(() => {
    h = makeHome()
    h.write("secrets/a.age", "ENCRYPTED-A")
    h.write("secrets/b.age", "ENCRYPTED-B")
    state = join(h.env.XDG_STATE_HOME, "homeage")
    cache = join(state, "config-cache.json")
    mkdirSync(state, { recursive: true, mode: 0o700 })
    file = h.write("homeage.toml", CONFIG)
})

afterEach(() => {
    h.cleanup()
})

/**
 * Loads `file` with the cache, then caches it as a run that succeeded does;
 * returns the config and how many validations the load ran.
 */
async function load(env = h.env) {
    const before = configValidations()
    const config = await loadConfig(file, env, { cacheFile: cache })
    const validations = configValidations() - before
    await cacheValidatedConfig(config, cache)
    return { config, validations }
}

/** The error a load throws, and how many validations it ran. */
async function loadError(cacheFile: string | undefined) {
    const before = configValidations()
    const err: UsageError = await usageError(() => loadConfig(file, h.env, { cacheFile }))
    return { err, validations: configValidations() - before }
}

function cacheRecord(): Record<string, unknown> {
    return JSON.parse(readFileSync(cache, "utf8")) as Record<string, unknown>
}

test("an unchanged config is served from the cache, resolved the same", async () => {
    const first = await load()
    assert.equal(first.validations, 1)
    assert.equal(statSync(cache).mode & 0o777, 0o600)

    const second = await load()
    assert.equal(second.validations, 0)
    assert.deepEqual(second.config, first.config)
    assert.deepEqual(second.config, await loadConfig(file, h.env))
})

test("loading alone writes no cache: only a run that succeeded keeps it", async () => {
    const config = await loadConfig(file, h.env, { cacheFile: cache })
    assert.equal(existsSync(cache), false)

    await cacheValidatedConfig(config, cache)
    assert.equal(cacheRecord().sha256, configDigest(readFileSync(file)))
})

test("a config taken from the cache is not written again", async () => {
    await load()
    const before = statSync(cache)

    const run = await load()
    assert.equal(run.validations, 0)
    const after = statSync(cache)
    assert.equal(after.ino, before.ino)
    assert.equal(after.mtimeMs, before.mtimeMs)
})

test("a changed byte is validated again, and the cache follows it", async () => {
    await load()
    const before = cacheRecord().sha256

    writeFileSync(file, CONFIG.replace("0440", "0640"))
    const changed = await load()
    assert.equal(changed.validations, 1)
    assert.equal(changed.config.secrets[1]?.mode, 0o640)
    assert.notEqual(cacheRecord().sha256, before)
    assert.equal(cacheRecord().sha256, configDigest(readFileSync(file)))

    assert.equal((await load()).validations, 0)
})

test("a cache written by another homeage version is not used", async () => {
    const bytes = readFileSync(file)
    const config = configFileSchema.parse(parseToml(CONFIG))
    await writeConfigCache(cache,
        { file, sha256: configDigest(bytes), version: "0.0.0-other" }, config)
    assert.equal(cacheRecord().version, "0.0.0-other")

    assert.equal((await load()).validations, 1)
    assert.equal(cacheRecord().version, await validatorVersion())
    assert.equal((await load()).validations, 0)
})

test("a cache for another config file is not used", async () => {
    await load()
    const other = h.write("other.toml", CONFIG)

    const before = configValidations()
    await cacheValidatedConfig(await loadConfig(other, h.env, { cacheFile: cache }), cache)
    assert.equal(configValidations() - before, 1)
    assert.equal(cacheRecord().file, other)
})

test("a broken, edited or foreign cache file is ignored and replaced", async () => {
    const broken = ["{not json", "", "[]", "{\"format\":1}", "\u0000\u0001"]
    for (const text of broken) {
        writeFileSync(cache, text)
        const run = await load()
        assert.equal(run.validations, 1, `cache ${JSON.stringify(text)}`)
        assert.equal(cacheRecord().sha256, configDigest(readFileSync(file)))
    }

    const record = cacheRecord()
    const config = record.config as { generationsToKeep: number }
    config.generationsToKeep = 3
    writeFileSync(cache, JSON.stringify(record))
    const edited = await load()
    assert.equal(edited.validations, 1)
    assert.equal(edited.config.generationsToKeep, 10)

    rmSync(cache)
    mkdirSync(cache)
    assert.equal((await load()).validations, 1)
    assert.equal((await load()).validations, 1)
    assert.ok(statSync(cache).isDirectory())
})

test("no cache is written when the state dir does not exist, and none is created", async () => {
    rmSync(state, { recursive: true })

    assert.equal((await load()).validations, 1)
    assert.equal((await load()).validations, 1)
    assert.equal(existsSync(state), false)
})

test("schema errors of a bad config are the same with and without the cache", async () => {
    await load()
    writeFileSync(file, `generationsToKeep = 0\nruntimeDirr = "/x"\n${CONFIG}` +
        "[secrets.x]\nsource = 3\nmode = 400\n")

    const cached = await loadError(cache)
    const plain = await loadError(undefined)
    assert.equal(cached.validations, 1)
    assert.equal(cached.err.message, plain.err.message)
    assert.deepEqual(cached.err.problems, plain.err.problems)
    assert.deepEqual(cached.err.problems, [
        "generationsToKeep: must be at least 1",
        "runtimeDirr: unknown key; did you mean runtimeDir?",
        "secrets.x.source: must be a string, not the number 3",
        "secrets.x.mode: must be a quoted octal string such as \"0400\" (unquoted, YAML reads "
            + "0400 as the number 400, and TOML refuses it)",
    ])

    assert.equal(cacheRecord().sha256, configDigest(Buffer.from(CONFIG)))
    assert.equal((await loadError(cache)).validations, 1)
})

test("a bad config leaves no cache behind", async () => {
    writeFileSync(file, "[secrets.x]\nsource = \"secrets/a.age\"\nmode = \"9\"\n")

    await loadError(cache)
    assert.equal(existsSync(cache), false)
})

test("paths are resolved against the environment at every load, after the cache", async () => {
    await load()
    const other = makeHome()
    try {
        const env = environment({
            HOME: other.home, USER: "bob", XDG_RUNTIME_DIR: join(other.root, "run2"),
            XDG_DATA_HOME: join(other.root, "data"),
        })
        const run = await load(env)

        assert.equal(run.validations, 0)
        assert.deepEqual(run.config, await loadConfig(file, env))
        assert.equal(run.config.runtimeDir, join(other.root, "run2", "secrets"))
        assert.deepEqual(run.config.identityPaths, [join(other.home, ".ssh", "id_ed25519")])
        const [token, db] = run.config.secrets
        assert.ok(token !== undefined && db !== undefined)
        assert.equal(token.source, join(h.dotfiles, "secrets", "a.age"))
        assert.deepEqual(token.symlinks, [join(other.home, ".config", "gh", "token")])
        assert.deepEqual(db.copies, [join(other.root, "data", "app", "db")])
    } finally {
        other.cleanup()
    }
})

test("a cached config still has its environment and sources checked", async () => {
    await load()
    rmSync(join(h.dotfiles, "secrets", "b.age"))
    const env = environment({ HOME: h.home, USER: "alice" })

    const before = configValidations()
    const cached = await usageError(() => loadConfig(file, env, { cacheFile: cache }))
    assert.equal(configValidations(), before)
    const plain = await usageError(() => loadConfig(file, env))

    assert.equal(cached.message, plain.message)
    assert.deepEqual(cached.problems, plain.problems)
    assert.equal(cached.problems.length, 2)
    assert.match(cached.problems[0] ?? "", /^runtimeDir: .*XDG_RUNTIME_DIR/)
    assert.match(cached.problems[1] ?? "", /^secrets\.app\/db\.source: .*b\.age does not exist/)
})

test("the cache holds the config's own contents and nothing else", async () => {
    await load()
    const text = readFileSync(cache, "utf8")
    const record = cacheRecord()

    assert.deepEqual(Object.keys(record).sort(),
        ["check", "config", "file", "format", "sha256", "version"])
    assert.equal(record.file, file)
    assert.equal(record.version, await validatorVersion())
    assert.ok(record.version.startsWith(`${packageVersion()}+`), "no schema fingerprint")
    assert.deepEqual(record.config, configFileSchema.parse(parseToml(CONFIG)))
    assert.ok(!text.includes("ENCRYPTED"), "the cache holds a source's content")
    assert.ok(!text.includes(join(h.root, "run")), "the cache holds a resolved path")
    assert.ok(!text.includes(join(h.home, ".ssh")), "the cache holds a resolved path")
})

test("readConfigCache answers only for the exact key", async () => {
    const bytes = readFileSync(file)
    const key = { file, sha256: configDigest(bytes), version: await validatorVersion() }
    const config = configFileSchema.parse(parseToml(CONFIG))
    await writeConfigCache(cache, key, config)

    assert.deepEqual(await readConfigCache(cache, key), config)
    assert.equal(await readConfigCache(cache, { ...key, sha256: "0".repeat(64) }), undefined)
    assert.equal(await readConfigCache(cache, { ...key, file: `${file}x` }), undefined)
    assert.equal(await readConfigCache(join(state, "missing.json"), key), undefined)
})
