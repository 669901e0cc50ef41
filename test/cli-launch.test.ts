/**
 * The command line as installed: bin/homeage.js, the bundle in dist/cli/ and
 * its code cache. A cache is used only when it was made from this very bundle
 * and is whole; any other cache costs a compile, never a crash or a wrong
 * result. A bundle that cannot be loaded is one error line.
 */
import assert from "node:assert/strict"
import { execFileSync, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import {
    copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, test } from "node:test"
import { fileURLToPath } from "node:url"

import { cacheFile, cachePathOf } from "../src/cli/launch.js"
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

/** The cache file of `bundle`: its header line and V8's data. */
function cacheParts(bundle: string): { header: string, data: Buffer } {
    const bytes = readFileSync(cachePathOf(bundle))
    const end = bytes.indexOf(0x0a) + 1
    return { header: bytes.subarray(0, end).toString("latin1"), data: bytes.subarray(end) }
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

test("the cache file is headed by the SHA-256 of the bundle and of its own data", () => {
    const { header, data } = cacheParts(BUNDLE)
    assert.equal(header,
        `homeage-code-cache-1 ${sha256(readFileSync(BUNDLE))} ${sha256(data)}\n`)
    assert.ok(data.length > 0)
    assert.deepEqual(cacheFile(readFileSync(BUNDLE), data), readFileSync(cachePathOf(BUNDLE)))
})

test("the bundle runs with the code cache the build made", () => {
    assert.deepEqual(loadInChild(BUNDLE), { cacheUsed: true, code: 0 })
})

test("without a code cache the bundle compiles and runs as before", () => {
    const bundle = copyOfBundle("none")
    rmSync(cachePathOf(bundle))
    assert.deepEqual(loadInChild(bundle), { cacheUsed: false, code: 0 })
})

test("a cache is not used for a bundle changed since, even of the same length", () => {
    const bundle = copyOfBundle("edited")
    const source = readFileSync(bundle, "utf8")
    const edited = source.replace("print nothing but errors", "print NOTHING but errors")
    assert.notEqual(edited, source)
    writeFileSync(bundle, edited)
    assert.deepEqual(loadInChild(bundle), { cacheUsed: false, code: 0 })
    const help = spawnSync(process.execPath, ["-e",
        "require(process.argv[1]).loadCli(process.argv[2]).main(['--help'])", LAUNCH, bundle],
    { encoding: "utf8", env: { PATH: process.env.PATH, NO_COLOR: "1" } })
    assert.match(help.stdout, /print NOTHING but errors/)
})

test("a damaged cache is never given to V8: no crash, the bundle compiles", () => {
    const bundle = copyOfBundle("damaged")
    const whole = readFileSync(cachePathOf(bundle))
    const { header, data } = cacheParts(bundle)
    const headerBytes = Buffer.from(header, "latin1")
    const damaged = [
        // One bit of the data, which V8 itself would take (and crash on, or run).
        Buffer.concat([headerBytes, data.map((b, i) => (i === 100 ? b ^ 1 : b))]),
        // A tail of zeros, as after a power loss.
        Buffer.concat([whole.subarray(0, 4096), Buffer.alloc(whole.length - 4096)]),
        // Only the header.
        headerBytes,
        // Cut short.
        whole.subarray(0, whole.length - 1),
    ]
    for (const bytes of damaged) {
        writeFileSync(cachePathOf(bundle), bytes)
        assert.deepEqual(loadInChild(bundle), { cacheUsed: false, code: 0 })
    }
})

test("a cache that is no regular file is passed over without waiting or reading it", () => {
    const bundle = copyOfBundle("special")
    rmSync(cachePathOf(bundle))
    execFileSync("mkfifo", [cachePathOf(bundle)])
    assert.deepEqual(loadInChild(bundle), { cacheUsed: false, code: 0 })
    rmSync(cachePathOf(bundle))
    symlinkSync("/dev/zero", cachePathOf(bundle))
    assert.deepEqual(loadInChild(bundle), { cacheUsed: false, code: 0 })
})

test("a bundle that cannot be loaded is one error line naming it, exit 1", () => {
    const folder = mkdtempSync(join(scratch, "broken-"))
    mkdirSync(join(folder, "bin"))
    mkdirSync(join(folder, "dist", "cli"), { recursive: true })
    copyFileSync(CLI, join(folder, "bin", "homeage.js"))
    copyFileSync(join(ROOT, "bin", "package.json"), join(folder, "bin", "package.json"))
    copyFileSync(join(ROOT, "package.json"), join(folder, "package.json"))
    const bundle = join(folder, "dist", "cli", "homeage.cjs")
    const run = (): ReturnType<typeof spawnSync> =>
        spawnSync(process.execPath, [join(folder, "bin", "homeage.js"), "--help"],
            { encoding: "utf8" })
    const expectError = (reason: RegExp): void => {
        const r = run()
        assert.equal(r.status, 1)
        assert.equal(r.stdout, "")
        const stderr = String(r.stderr)
        assert.match(stderr, reason)
        assert.match(stderr, /reinstall homeage, or run `npm run build` in its checkout\n$/)
        assert.equal(stderr.split("\n").length, 2, stderr)
    }

    expectError(/^homeage: error: cannot load the command line from .*launch\.cjs: Cannot find/)
    copyFileSync(LAUNCH, join(folder, "dist", "cli", "launch.cjs"))
    expectError(/^homeage: error: cannot load the command line from .*homeage\.cjs: ENOENT/)
    writeFileSync(bundle, "")
    expectError(/homeage\.cjs: it is not a bundle of homeage; /)
    writeFileSync(bundle, readFileSync(BUNDLE, "utf8").slice(0, 5000))
    expectError(/homeage\.cjs: it does not compile \(SyntaxError: /)
    rmSync(bundle)
    execFileSync("mkfifo", [bundle])
    expectError(/homeage\.cjs: .*homeage\.cjs is not a regular file; /)
})

test("bin/homeage.js answers --version from package.json and runs commands", () => {
    for (const flag of ["--version", "-V"]) {
        const run = spawnSync(process.execPath, [CLI, flag], { encoding: "utf8" })
        assert.equal(run.status, 0)
        assert.equal(run.stdout, `${VERSION}\n`)
    }
    const full = spawnSync("sh", ["-c", `"${process.execPath}" "${CLI}" --version > /dev/full`],
        { encoding: "utf8" })
    assert.equal(full.status, 0, full.stderr)
    assert.equal(full.stderr, "")

    const help = spawnSync(process.execPath, [CLI, "--help"], { encoding: "utf8" })
    assert.equal(help.status, 0, help.stderr)
    assert.match(help.stdout, /^Usage: homeage /)
    const bad = spawnSync(process.execPath, [CLI, "no-such-command"], { encoding: "utf8" })
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /unknown command 'no-such-command'/)
})

test("a missing, broken or odd early answer falls back to the command line", () => {
    const folder = mkdtempSync(join(scratch, "early-"))
    mkdirSync(join(folder, "bin"))
    const cli = join(folder, "dist", "cli")
    mkdirSync(cli, { recursive: true })
    copyFileSync(CLI, join(folder, "bin", "homeage.js"))
    copyFileSync(join(ROOT, "bin", "package.json"), join(folder, "bin", "package.json"))
    copyFileSync(join(ROOT, "package.json"), join(folder, "package.json"))
    for (const name of ["launch.cjs", "homeage.cjs", "homeage.cjs.cache"]) {
        copyFileSync(join(ROOT, "dist", "cli", name), join(cli, name))
    }
    const early = join(cli, "early.cjs")
    const variants: [string, () => void][] = [
        ["missing", () => { rmSync(early, { force: true }) }],
        ["a FIFO", () => { execFileSync("mkfifo", [early]) }],
        ["throwing at load", () => { writeFileSync(early, "throw new Error('boom')") }],
        ["not a function", () => { writeFileSync(early, "exports.answerFromRecord = 5") }],
        ["throwing", () => {
            writeFileSync(early, "exports.answerFromRecord = () => { throw new Error('x') }")
        }],
        ["not a promise", () => { writeFileSync(early, "exports.answerFromRecord = () => true") }],
        ["rejecting", () => {
            writeFileSync(early, "exports.answerFromRecord = async () => { throw new Error() }")
        }],
    ]
    for (const [what, make] of variants) {
        rmSync(early, { force: true })
        make()
        const r = spawnSync(process.execPath, [join(folder, "bin", "homeage.js"), "activate",
            "--help"], { encoding: "utf8", timeout: 20_000 })
        assert.equal(r.status, 0, `${what}: ${r.stderr}`)
        assert.match(r.stdout, /^Usage: homeage activate/, what)
        assert.equal(r.stderr, "", what)
    }
})
