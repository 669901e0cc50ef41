/**
 * The systemd install plan and its order of systemctl calls, with systemctl
 * replaced by a recorder; and the real systemctl's answer when no manager runs.
 */
import assert from "node:assert/strict"
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, test } from "node:test"

import { OperationError } from "../../src/errors.js"
import { createServiceManager } from "../../src/services/index.js"
import type { ProcessResult, ProcessRunner } from "../../src/services/process.js"
import { spawnRunner } from "../../src/services/process.js"
import { Systemctl } from "../../src/services/systemctl.js"
import { UNIT_MARKER } from "../../src/services/systemd.js"
import type {
    ServiceLog, ServiceSecret, ServiceSetup, SystemdPlan,
} from "../../src/services/types.js"

const GIT = "homeage-git-netrc.service"
const GIT2 = "homeage-git\\x2dnetrc.service"
const TOKEN = "homeage-token.service"

let root: string
let setup: ServiceSetup
let unitDir: string
let calls: string[]
let answers: Map<string, ProcessResult>

const quiet: ServiceLog = { info: () => undefined, detail: () => undefined, warn: () => undefined }

/** Records every call; answers `show --property=UnitPath` with the test's unit folder. */
const recorder: ProcessRunner = (file, args) => {
    const line = [file, ...args].join(" ")
    calls.push(line)
    const answer = answers.get(line)
    if (answer !== undefined) return Promise.resolve(answer)
    if (args.includes("--property=UnitPath")) {
        return Promise.resolve({ code: 0, stdout: `UnitPath=/etc/x ${unitDir} /usr/lib/x\n`,
            stderr: "" })
    }
    return Promise.resolve({ code: 0, stdout: "", stderr: "" })
}

function secret(name: string, changed = false): ServiceSecret {
    return { name, path: `/run/user/1000/secrets/${name}`, symlinks: [], copies: [], changed }
}

async function planAndApply(previous: string[], next: ServiceSecret[]): Promise<SystemdPlan> {
    const manager = createServiceManager("systemd", setup, { systemctl: recorder })
    const plan = await manager.plan(previous, next)
    assert.equal(plan.kind, "systemd")
    await manager.apply(plan, quiet)
    return plan
}

/** What `systemctl enable` would do, for the recorder's sake. */
async function enableAll(): Promise<void> {
    const wants = join(unitDir, "default.target.wants")
    await mkdir(wants, { recursive: true })
    for (const file of await readdir(unitDir)) {
        if (file.startsWith("homeage")) await symlink(join(unitDir, file), join(wants, file))
    }
}

beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "homeage-install-"))
    unitDir = join(root, "config", "systemd", "user")
    setup = {
        node: "/usr/bin/node", cli: "/opt/homeage/bin/homeage.js", path: "/usr/bin:/bin",
        environment: {}, home: root, configHome: join(root, "config"), uid: 1000,
    }
    calls = []
    answers = new Map()
})

afterEach(async () => {
    await rm(root, { recursive: true, force: true })
})

test("a first install writes, reloads, enables and starts, in that order", async () => {
    const plan = await planAndApply([], [secret("git/netrc"), secret("git-netrc")])

    const units = ["homeage.service", GIT, GIT2, "homeage.target"]
    assert.deepEqual(plan.problems, [])
    assert.deepEqual([...plan.write.keys()], units)
    assert.deepEqual(calls, [
        "systemctl --user show --property=UnitPath",
        "systemctl --user show --property=UnitPath",
        "systemctl --user daemon-reload",
        `systemctl --user enable --no-reload -- ${units.join(" ")}`,
        `systemctl --user start -- ${GIT} ${GIT2} homeage.target`,
    ])
    for (const unit of units) {
        const text = await readFile(join(unitDir, unit), "utf8")
        assert.equal(text.split("\n")[0], UNIT_MARKER)
    }
    assert.deepEqual((await readdir(unitDir)).sort(), [...units].sort())
})

test("an unchanged generation plans nothing and calls nothing", async () => {
    await planAndApply([], [secret("git/netrc")])
    await enableAll()
    calls = []

    const plan = await planAndApply(["git/netrc"], [secret("git/netrc")])

    assert.deepEqual(plan.summary, [])
    assert.deepEqual(calls, [])
})

test("a changed secret restarts only its unit; a new one is started", async () => {
    await planAndApply([], [secret("git/netrc"), secret("git-netrc")])
    await enableAll()
    calls = []

    const plan = await planAndApply(["git/netrc", "git-netrc"],
        [secret("git/netrc", true), secret("git-netrc"), secret("token")])

    assert.deepEqual([...plan.write.keys()], [TOKEN, "homeage.target"])
    assert.deepEqual(plan.restart, [GIT])
    assert.deepEqual(plan.start, [TOKEN, "homeage.target"])
    assert.deepEqual(calls.slice(2), [
        "systemctl --user daemon-reload",
        `systemctl --user enable --no-reload -- ${TOKEN}`,
        `systemctl --user restart -- ${GIT}`,
        `systemctl --user start -- ${TOKEN} homeage.target`,
    ])
})

test("a removed secret's unit is stopped, disabled and deleted after the target changes",
    async () => {
        await planAndApply([], [secret("git/netrc"), secret("token")])
        await enableAll()
        calls = []

        const plan = await planAndApply(["git/netrc", "token"], [secret("git/netrc")])

        assert.deepEqual(plan.remove, [TOKEN])
        assert.deepEqual(calls.slice(2), [
            "systemctl --user daemon-reload",
            `systemctl --user stop -- ${TOKEN}`,
            `systemctl --user reset-failed -- ${TOKEN}`,
            `systemctl --user disable --no-reload -- ${TOKEN}`,
            "systemctl --user daemon-reload",
            "systemctl --user start -- homeage.target",
        ])
        assert.equal((await readdir(unitDir)).includes(TOKEN), false)
        assert.doesNotMatch(await readFile(join(unitDir, "homeage.target"), "utf8"), /token/)
    })

test("a unit file without the marker is a problem, and nothing is written", async () => {
    await mkdir(unitDir, { recursive: true })
    await writeFile(join(unitDir, GIT), "[Service]\nExecStart=/bin/true\n")
    const manager = createServiceManager("systemd", setup, { systemctl: recorder })

    const plan = await manager.plan([], [secret("git/netrc")])

    assert.deepEqual(plan.problems, [`${join(unitDir, GIT)} exists and was not written by ` +
        "homeage (no marker line); move it away, or rename the secret"])
    await assert.rejects(manager.apply(plan, quiet), OperationError)
    assert.deepEqual(await readdir(unitDir), [GIT])
    assert.equal(await readFile(join(unitDir, GIT), "utf8"), "[Service]\nExecStart=/bin/true\n")
    assert.deepEqual(calls, ["systemctl --user show --property=UnitPath"])
})

test("a file homeage did not write is never removed, even with a homeage name", async () => {
    await mkdir(unitDir, { recursive: true })
    await writeFile(join(unitDir, "homeage-mine.service"), "[Service]\nExecStart=/bin/true\n")

    const plan = await planAndApply([], [secret("git/netrc")])

    assert.deepEqual(plan.remove, [])
    assert.ok((await readdir(unitDir)).includes("homeage-mine.service"))
})

test("an unreachable manager is reported before anything is written", async () => {
    answers.set("systemctl --user show --property=UnitPath",
        { code: 1, stdout: "", stderr: "Failed to connect to bus: No medium found\n" })
    const manager = createServiceManager("systemd", setup, { systemctl: recorder })

    const plan = await manager.plan([], [secret("git/netrc")])

    const message = "cannot reach the systemd user manager (Failed to connect to bus: No medium " +
        "found); run `homeage activate` from a login session, or set installationType = " +
        "\"activation\""
    assert.deepEqual(plan.problems, [message])
    await assert.rejects(manager.apply(plan, quiet), (err: unknown) => {
        assert.ok(err instanceof OperationError)
        assert.equal(err.message, `cannot install the systemd user units: ${message}`)
        assert.deepEqual(err.problems, [message])
        return true
    })
    assert.deepEqual(await readdir(root), [])
})

test("a manager that does not read the unit folder is a problem", async () => {
    answers.set("systemctl --user show --property=UnitPath",
        { code: 0, stdout: "UnitPath=/somewhere/else\n", stderr: "" })
    const manager = createServiceManager("systemd", setup, { systemctl: recorder })

    const plan = await manager.plan([], [secret("git/netrc")])

    assert.equal(plan.problems.length, 1)
    assert.match(plan.problems[0]!, /does not load units from .*\/config\/systemd\/user \(it reads/)
})

test("units that fail to start are listed in one error after every step", async () => {
    answers.set(`systemctl --user start -- ${GIT} homeage.target`, { code: 1, stdout: "",
        stderr: `Job for ${GIT} failed because the control process exited with error code.\n` })
    answers.set(`systemctl --user show --property=Id,ActiveState,Result -- ${GIT} homeage.target`,
        { code: 0, stderr: "", stdout: `Id=${GIT}\nActiveState=failed\nResult=exit-code\n\n` +
            "Id=homeage.target\nActiveState=inactive\nResult=success\n" })

    await assert.rejects(planAndApply([], [secret("git/netrc")]), (err: unknown) => {
        assert.ok(err instanceof OperationError)
        assert.equal(err.message, "2 systemd unit(s) did not start")
        assert.deepEqual(err.problems, [
            `${GIT} is failed (exit-code); see \`systemctl --user status ${GIT}\``,
            "homeage.target is inactive (success); see `systemctl --user status homeage.target`",
        ])
        return true
    })
})

test("remove deletes only owned units, and warns when the manager is unreachable", async () => {
    await planAndApply([], [secret("git/netrc")])
    await enableAll()
    await writeFile(join(unitDir, "homeage-mine.service"), "[Service]\nExecStart=/bin/true\n")
    answers.set("systemctl --user show --property=UnitPath",
        { code: 1, stdout: "", stderr: "Failed to connect to bus: No medium found\n" })
    const warnings: string[] = []
    const manager = createServiceManager("systemd", setup, { systemctl: recorder })

    await manager.remove({ ...quiet, warn: (l) => warnings.push(l) })

    assert.deepEqual(await readdir(unitDir), ["default.target.wants", "homeage-mine.service"])
    assert.deepEqual(await readdir(join(unitDir, "default.target.wants")), [])
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!, /^cannot reach the systemd user manager/)
})

test("the real systemctl without a user manager is reported as unreachable", async () => {
    const empty = await mkdtemp(join(tmpdir(), "homeage-noruntime-"))
    try {
        const systemctl = new Systemctl(spawnRunner({ PATH: process.env.PATH,
            XDG_RUNTIME_DIR: empty }))

        const probe = await systemctl.probe()

        assert.deepEqual(probe, { reachable: false,
            reason: "Failed to connect to bus: No such file or directory" })
    } finally {
        await rm(empty, { recursive: true, force: true })
    }
})

test("a repaired secret's unit is started again, an untouched one is left alone", async () => {
    await planAndApply([], [secret("git/netrc"), secret("git-netrc")])
    await enableAll()
    calls = []

    const plan = await planAndApply(["git/netrc", "git-netrc"],
        [{ ...secret("git/netrc"), repaired: true }, secret("git-netrc")])

    assert.deepEqual([...plan.write.keys()], [])
    assert.deepEqual(plan.restart, [])
    assert.deepEqual(plan.start, [GIT, "homeage.target"])
    assert.deepEqual(calls.slice(2), [
        "systemctl --user daemon-reload",
        `systemctl --user start -- ${GIT} homeage.target`,
    ])
})

test("removal problems: none without units; an unreachable manager with units", async () => {
    answers.set("systemctl --user show --property=UnitPath",
        { code: 1, stdout: "", stderr: "Failed to connect to bus: No medium found\n" })
    const manager = createServiceManager("systemd", setup, { systemctl: recorder })

    assert.deepEqual(await manager.removalProblems(), [])
    assert.deepEqual(calls, [])

    await mkdir(unitDir, { recursive: true })
    await writeFile(join(unitDir, "homeage.service"), `${UNIT_MARKER}\n[Unit]\n`)

    assert.deepEqual(await manager.removalProblems(), [`homeage's systemd units in ${unitDir} ` +
        "cannot be stopped: cannot reach the systemd user manager (Failed to connect to bus: " +
        "No medium found); run homeage from a login session"])
    assert.deepEqual(manager.folders, [unitDir, join(unitDir, "default.target.wants")])
})
