/**
 * The LaunchAgent plist, read back with Python's plistlib (a real plist
 * parser), and the launchctl calls with launchctl replaced by a recorder.
 */
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, test } from "node:test"

import { OperationError, UsageError } from "../../src/errors.js"
import { createServiceManager } from "../../src/services/index.js"
import {
    launchctlRunner, launchdPaths, PLIST_MARKER, renderLaunchAgent,
} from "../../src/services/launchd.js"
import type { ProcessResult, ProcessRunner } from "../../src/services/process.js"
import type { ServiceLog, ServiceSetup } from "../../src/services/types.js"

const PARSE = "import json, plistlib, sys; " +
    "print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))"

const quiet: ServiceLog = { info: () => undefined, detail: () => undefined, warn: () => undefined }

let home: string
let setup: ServiceSetup
let calls: string[]
let answers: Map<string, ProcessResult>

const recorder: ProcessRunner = (file, args) => {
    const line = [file, ...args].join(" ")
    calls.push(line)
    return Promise.resolve(answers.get(line) ?? { code: 0, stdout: "", stderr: "" })
}

function parsePlist(text: string): Record<string, unknown> {
    const r = spawnSync("python3", ["-c", PARSE], { input: text, encoding: "utf8" })
    assert.equal(r.status, 0, r.stderr)
    return JSON.parse(r.stdout) as Record<string, unknown>
}

beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), "homeage-launchd-"))
    setup = {
        node: "/opt/homebrew/bin/node",
        cli: "/opt/homebrew/lib/node_modules/homeage/bin/homeage.js",
        path: "/opt/homebrew/bin:/usr/bin:/bin",
        environment: { XDG_STATE_HOME: `${home}/state & <more>` },
        home, configHome: join(home, ".config"), uid: 501,
    }
    calls = []
    answers = new Map()
})

afterEach(async () => {
    await rm(home, { recursive: true, force: true })
})

test("the plist parses and has every key, with absolute paths", () => {
    const text = renderLaunchAgent(setup)

    assert.deepEqual(parsePlist(text), {
        Label: "org.homeage.secrets",
        ProgramArguments: [setup.node, setup.cli, "start"],
        RunAtLoad: true,
        EnvironmentVariables: {
            PATH: "/opt/homebrew/bin:/usr/bin:/bin",
            XDG_STATE_HOME: `${home}/state & <more>`,
        },
        StandardOutPath: `${home}/Library/Logs/homeage/homeage.out.log`,
        StandardErrorPath: `${home}/Library/Logs/homeage/homeage.err.log`,
    })
    assert.equal(text.split("\n")[2], PLIST_MARKER)
})

test("a value XML cannot carry, or a relative path, is a usage error", () => {
    assert.throws(() => renderLaunchAgent({ ...setup, environment: { X: "a\u0001b" } }),
        UsageError)
    assert.throws(() => renderLaunchAgent({ ...setup, cli: "bin/homeage.js" }), UsageError)
})

test("apply writes the plist and the log folder, then boots the agent out and in", async () => {
    const manager = createServiceManager("launchd", setup, { launchctl: recorder })
    const paths = launchdPaths(home)

    const plan = await manager.plan([], [])
    await manager.apply(plan, quiet)

    assert.deepEqual(plan.summary, [`write and reload ${paths.plist}`])
    assert.equal(paths.plist, `${home}/Library/LaunchAgents/org.homeage.secrets.plist`)
    assert.equal(await readFile(paths.plist, "utf8"), renderLaunchAgent(setup))
    assert.equal((await stat(paths.plist)).mode & 0o777, 0o644)
    assert.equal((await stat(paths.logDir)).mode & 0o777, 0o700)
    assert.deepEqual(calls, [
        "launchctl bootout gui/501/org.homeage.secrets",
        `launchctl bootstrap gui/501 ${paths.plist}`,
    ])
})

test("a current plist plans nothing and calls nothing", async () => {
    const manager = createServiceManager("launchd", setup, { launchctl: recorder })
    await manager.apply(await manager.plan([], []), quiet)
    calls = []

    const plan = await manager.plan([], [])
    await manager.apply(plan, quiet)

    assert.deepEqual(plan.summary, [])
    assert.deepEqual(calls, [])
})

test("a plist homeage did not write is a problem and stays as it is", async () => {
    const paths = launchdPaths(home)
    await mkdir(join(home, "Library", "LaunchAgents"), { recursive: true })
    await writeFile(paths.plist, "<plist/>")
    const manager = createServiceManager("launchd", setup, { launchctl: recorder })

    const plan = await manager.plan([], [])
    await assert.rejects(manager.apply(plan, quiet), OperationError)
    await manager.remove(quiet)

    assert.deepEqual(plan.problems, [`${paths.plist} exists and was not written by homeage ` +
        "(no marker comment); move it away"])
    assert.equal(await readFile(paths.plist, "utf8"), "<plist/>")
    assert.deepEqual(calls, [])
})

test("a failed bootstrap is an error naming launchctl's message", async () => {
    const paths = launchdPaths(home)
    answers.set(`launchctl bootstrap gui/501 ${paths.plist}`,
        { code: 5, stdout: "", stderr: "Bootstrap failed: 5: Input/output error\n" })
    const manager = createServiceManager("launchd", setup, { launchctl: recorder })

    await assert.rejects(manager.apply(await manager.plan([], []), quiet), (err: unknown) => {
        assert.ok(err instanceof OperationError)
        assert.equal(err.message, `launchctl bootstrap gui/501 ${paths.plist} failed: ` +
            "Bootstrap failed: 5: Input/output error")
        return true
    })
})

test("remove boots the agent out and deletes its plist", async () => {
    const manager = createServiceManager("launchd", setup, { launchctl: recorder })
    await manager.apply(await manager.plan([], []), quiet)
    calls = []

    await manager.remove(quiet)

    assert.deepEqual(calls, ["launchctl bootout gui/501/org.homeage.secrets"])
    await assert.rejects(stat(launchdPaths(home).plist), { code: "ENOENT" })
})

test("the real launchctl runner refuses to run outside macOS", { skip:
    process.platform === "darwin" ? "runs only where launchctl does not exist" : false },
async () => {
    await assert.rejects(launchctlRunner()("launchctl", ["list"]),
        /launchctl exists only on macOS, not on linux; set installationType/)
})

test("without a launchctl runner outside macOS, the plan has a problem and nothing is written",
    { skip: process.platform === "darwin" ? "runs only where launchctl does not exist" : false },
    async () => {
        const manager = createServiceManager("launchd", setup)

        const plan = await manager.plan([], [])

        assert.deepEqual(plan.problems, ["installationType \"launchd\" needs macOS, and this " +
            "is linux; set installationType = \"systemd\" or \"activation\""])
        await assert.rejects(manager.apply(plan, quiet), OperationError)
        await assert.rejects(stat(launchdPaths(home).plist), { code: "ENOENT" })
        assert.deepEqual(await manager.removalProblems(), [])
        assert.deepEqual(manager.folders, [join(home, "Library", "LaunchAgents")])
    })
