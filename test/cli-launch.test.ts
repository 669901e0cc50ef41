/**
 * The command line as installed: bin/homeage.js, the bundle in dist/cli/ and
 * its code cache. A cache is used only when it belongs to the bundle and V8
 * takes it; any other cache costs a compile, never a wrong result.
 */
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, test } from "node:test"
import { fileURLToPath } from "node:url"

import { buildIdOf, cacheHeader, cachePathOf } from "../src/cli/launch.js"
import { CLI } from "./helpers/cli.js"

const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const BUNDLE = join(ROOT, "dist", "cli", "homeage.cjs")
const LAUNCH = join(ROOT, "dist", "cli", "launch.cjs")
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    version: string
}).version

const scratch = mkdtempSync(join(tmpdir(), "homeage-launch-"))
after(() => { rmSync(scratch, { recursive: true, force: true }) })

/**
 * Loads `bundle` through dist/cli/launch.cjs in a fresh Node.js with no flags
 * (V8 takes a cache only under the flags it was made with), runs
 * `homeage --help` from it, and returns whether the cache was used and the
 * exit status.
 */
function loadInChild(bundle: string): { cacheUsed: boolean, code: number } {
    const script = "const { loadCli } = require(process.argv[1]);" +
        "const cli = loadCli(process.argv[2]);" +
        "cli.main(['--help']).then((code) => {" +
        "  process.stderr.write(JSON.stringify({ cacheUsed: cli.cacheUsed, code }))" +
        "})"
    const child = spawnSync(process.execPath, ["-e", script, LAUNCH, bundle], {
        encoding: "utf8", env: { PATH: process.env.PATH, NO_COLOR: "1" },
    })
    assert.equal(child.status, 0, child.stderr.slice(-2000))
    assert.match(child.stdout, /^Usage: homeage /)
    return JSON.parse(child.stderr) as { cacheUsed: boolean, code: number }
}

/** A copy of the built bundle and its cache in a folder of its own, beside package.json. */
function copyOfBundle(name: string): string {
    const folder = mkdtempSync(join(scratch, `${name}-`))
    copyFileSync(join(ROOT, "package.json"), join(folder, "package.json"))
    const bundle = join(folder, "homeage.cjs")
    copyFileSync(BUNDLE, bundle)
    copyFileSync(cachePathOf(BUNDLE), cachePathOf(bundle))
    return bundle
}

test("the build stamps the bundle and its code cache with one build id", () => {
    const id = buildIdOf(readFileSync(BUNDLE, "utf8"))
    assert.ok(id !== undefined, "the bundle's first line names its build")
    const header = Buffer.from(cacheHeader(id))
    const cache = readFileSync(cachePathOf(BUNDLE))
    assert.ok(cache.length > header.length)
    assert.deepEqual(cache.subarray(0, header.length), header)
})

test("the bundle runs with the code cache the build made", () => {
    assert.deepEqual(loadInChild(BUNDLE), { cacheUsed: true, code: 0 })
})

test("without a code cache the bundle compiles and runs as before", () => {
    const bundle = copyOfBundle("none")
    rmSync(cachePathOf(bundle))
    assert.deepEqual(loadInChild(bundle), { cacheUsed: false, code: 0 })
})

test("a cache of another build is not used, even when V8 would take it", () => {
    const bundle = copyOfBundle("other")
    const source = readFileSync(bundle, "utf8")
    const id = buildIdOf(source)!
    const other = id.replace(/^./, (c) => (c === "0" ? "1" : "0"))
    writeFileSync(bundle, source.replace(id, other))
    assert.deepEqual(loadInChild(bundle), { cacheUsed: false, code: 0 })
})

test("a damaged cache is refused by V8 and the bundle compiles", () => {
    const bundle = copyOfBundle("damaged")
    const cache = readFileSync(cachePathOf(bundle))
    const id = buildIdOf(readFileSync(bundle, "utf8"))!
    const data = cache.subarray(cacheHeader(id).length)
    for (let i = 0; i < data.length; i += 7) data[i] = (data[i] ?? 0) ^ 0x5a
    writeFileSync(cachePathOf(bundle), cache)
    assert.deepEqual(loadInChild(bundle), { cacheUsed: false, code: 0 })

    writeFileSync(cachePathOf(bundle), cache.subarray(0, cacheHeader(id).length))
    assert.deepEqual(loadInChild(bundle), { cacheUsed: false, code: 0 })
})

test("bin/homeage.js answers --version from package.json and runs commands", () => {
    for (const flag of ["--version", "-V"]) {
        const run = spawnSync(process.execPath, [CLI, flag], { encoding: "utf8" })
        assert.equal(run.status, 0)
        assert.equal(run.stdout, `${VERSION}\n`)
    }
    const help = spawnSync(process.execPath, [CLI, "--help"], { encoding: "utf8" })
    assert.equal(help.status, 0, help.stderr)
    assert.match(help.stdout, /^Usage: homeage /)
    const bad = spawnSync(process.execPath, [CLI, "no-such-command"], { encoding: "utf8" })
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /unknown command 'no-such-command'/)
})
