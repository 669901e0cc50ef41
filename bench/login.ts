/**
 * The login rows (`homeage start` for N secrets against the per-secret and
 * single-loop shell ways) and the no-op activate row (N = 100, nothing
 * changed, against `homeage --version`).
 */
import { randomBytes } from "node:crypto"
import { mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { availableParallelism } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"

import { formatSeconds, sideBySide } from "./measure.js"
import type { Contender, Progress, Sample } from "./measure.js"
import type { BenchOptions } from "./options.js"
import { run } from "./processes.js"
import type { Command } from "./processes.js"
import { ENCRYPT_SCRIPT, PER_SECRET_SCRIPT, SINGLE_LOOP_SCRIPT } from "./scripts.js"
import { timeRow } from "./table.js"
import type { Row, Target } from "./table.js"
import { HOMEAGE_BIN } from "./workspace.js"
import type { Workspace } from "./workspace.js"

/** Random bytes in each small secret (written as hex, so twice as many characters). */
const SECRET_RANDOM_BYTES = 24

/** Login targets by secret count: against the per-secret way and the single loop. */
const LOGIN_TARGETS = new Map<number, { perSecret?: Target, loop?: Target }>([
    [100, { perSecret: { kind: "faster", factor: 5 } }],
    [1000, { perSecret: { kind: "faster", factor: 20 }, loop: { kind: "faster", factor: 5 } }],
])

/** Secret count of the no-op activate row. */
export const NOOP_COUNT = 100

/** Wait before the no-op rows, so the files of the last activate count as settled (ms). */
const RECORD_SETTLE_MS = 200

/** The no-op activate target: within 2x of the CLI's start-up. */
const NOOP_TARGET: Target = { kind: "within", factor: 2 }

/** Largest N for which the per-secret way gets all its runs; above, the slow-run count. */
const FAST_PER_SECRET_LIMIT = 100

/** One small encrypted secret. */
interface SecretFixture {
    name: string
    /** The `.age` file written by Go age. */
    source: string
    /** The plaintext, to verify outputs. */
    content: string
}

/**
 * Encrypts `count` small secrets with Go age (`age -r`), in one shell loop
 * per core, into a folder of the workspace. Secrets are named `s0001`, `s0002`, ….
 */
export async function makeSecrets(ws: Workspace, count: number): Promise<SecretFixture[]> {
    const dir = ws.path("sources")
    await mkdir(dir, { recursive: true })
    const secrets: SecretFixture[] = []
    for (let i = 1; i <= count; i++) {
        const name = `s${String(i).padStart(4, "0")}`
        const content = `secret-${i}-${randomBytes(SECRET_RANDOM_BYTES).toString("hex")}`
        secrets.push({ name, source: join(dir, `${name}.age`), content: `${content}\n` })
    }

    const script = ws.path("encrypt.sh")
    await writeFile(script, ENCRYPT_SCRIPT)
    const shells = Math.max(1, availableParallelism())
    await Promise.all(Array.from({ length: shells }, async (_, shell) => {
        const list = ws.path(`sources-${shell}.list`)
        const mine = secrets.filter((_s, i) => i % shells === shell)
        await writeFile(list, mine.map((s) => `${s.name} ${s.content}`).join(""))
        await run({ program: "sh", args: [script, list, dir, ws.recipient] })
    }))
    return secrets
}

/** Everything one login case (one N) needs. */
interface LoginCase {
    n: number
    secrets: SecretFixture[]
    home: string
    /** `$XDG_RUNTIME_DIR` of this case, on the workspace's tmpfs. */
    runtimeParent: string
    /** homeage's runtime dir: `$XDG_RUNTIME_DIR/secrets`. */
    runtimeDir: string
    homeage: (args: string[]) => Command
}

/**
 * Measures login for each N in `options.loginCounts` and, at N = 100, the
 * no-op activate. Returns the rows in table order.
 */
export async function loginRows(
    ws: Workspace, options: BenchOptions, progress: Progress,
): Promise<Row[]> {
    const largest = Math.max(...options.loginCounts)
    progress(`encrypting ${largest} small secrets with age -r`)
    const secrets = await makeSecrets(ws, largest)
    await writeFile(ws.path("per-secret.sh"), PER_SECRET_SCRIPT)
    await writeFile(ws.path("single-loop.sh"), SINGLE_LOOP_SCRIPT)

    const rows: Row[] = []
    const noop: Row[] = []
    for (const n of options.loginCounts) {
        const loginCase = await prepareCase(ws, n, secrets.slice(0, n), progress)
        rows.push(...await measureLogin(ws, loginCase, options, progress))
        if (n === NOOP_COUNT) noop.push(...await measureNoop(loginCase, options, progress))
    }
    return [...rows, ...noop]
}

async function prepareCase(
    ws: Workspace, n: number, secrets: SecretFixture[], progress: Progress,
): Promise<LoginCase> {
    const dir = ws.path(`login-${n}`)
    const home = join(dir, "home")
    const runtimeParent = ws.memory(`login-${n}`)
    await mkdir(home, { recursive: true })
    await mkdir(runtimeParent, { mode: 0o700 })
    for (const way of ["per-secret-links", "single-loop-links"]) {
        await mkdir(join(home, way), { recursive: true })
    }

    const config = join(dir, "homeage.toml")
    await writeFile(config, configText(ws, secrets))
    const env = ws.homeageEnv(home, runtimeParent, config)
    const homeage = (args: string[]): Command => ({
        program: process.execPath, args: [HOMEAGE_BIN, ...args], env,
    })

    const activated = await run(homeage(["activate"]))
    progress(`login N = ${n}: first homeage activate (untimed) took ` +
        formatSeconds(activated.seconds))
    return { n, secrets, home, runtimeParent, runtimeDir: join(runtimeParent, "secrets"), homeage }
}

function configText(ws: Workspace, secrets: SecretFixture[]): string {
    const lines = [
        `identityPaths = [${JSON.stringify(ws.identityFile)}]`,
        "installationType = \"activation\"",
        "runtimeDir = \"$XDG_RUNTIME_DIR/secrets\"",
        "generationsToKeep = 2",
    ]
    if (!ws.onTmpfs) lines.push("allowPersistentRuntimeDir = true")
    for (const secret of secrets) {
        lines.push("", `[secrets.${secret.name}]`,
            `source = ${JSON.stringify(secret.source)}`,
            `symlinks = [${JSON.stringify(`~/links/${secret.name}`)}]`)
    }
    return `${lines.join("\n")}\n`
}

async function measureLogin(
    ws: Workspace, c: LoginCase, options: BenchOptions, progress: Progress,
): Promise<Row[]> {
    const listFor = async (way: string): Promise<string> => {
        const list = ws.path(`login-${c.n}`, `${way}.list`)
        await writeFile(list, c.secrets.map((s) =>
            `${s.source} ${s.name} ${join(c.home, `${way}-links`, s.name)}\n`).join(""))
        return list
    }
    const perSecretDir = join(c.runtimeParent, "per-secret")
    const loopDir = join(c.runtimeParent, "single-loop")
    const perSecretList = await listFor("per-secret")
    const loopList = await listFor("single-loop")
    const timed = async (command: Command): Promise<number> => (await run(command)).seconds

    const contenders: Contender[] = [
        {
            label: "homeage start",
            runs: options.runs,
            prepare: () => rm(c.runtimeDir, { recursive: true, force: true }),
            measure: () => timed(c.homeage(["start"])),
            verify: () => verifyLinks(c, join(c.home, "links")),
        },
        {
            label: "per-secret sh + age",
            runs: c.n > FAST_PER_SECRET_LIMIT ? options.slowRuns : options.runs,
            prepare: () => rm(perSecretDir, { recursive: true, force: true }),
            measure: () => timed({ program: "sh",
                args: [ws.path("per-secret.sh"), perSecretList, perSecretDir, ws.identityFile] }),
            verify: () => verifyLinks(c, join(c.home, "per-secret-links")),
        },
        {
            label: "single sh loop + age",
            runs: options.runs,
            prepare: () => rm(loopDir, { recursive: true, force: true }),
            measure: () => timed({ program: "sh",
                args: [ws.path("single-loop.sh"), loopList, loopDir, ws.identityFile] }),
            verify: () => verifyLinks(c, join(c.home, "single-loop-links")),
        },
    ]
    const [homeage, perSecret, loop] = await sideBySide(`login N = ${c.n}`, contenders,
        options.rowBudgetSeconds, progress) as [Sample, Sample, Sample]

    const targets = LOGIN_TARGETS.get(c.n) ?? {}
    const what = `start, N = ${c.n}`
    return [
        timeRow("login", what, homeage, perSecret, targets.perSecret),
        timeRow("login", what, homeage, loop, targets.loop),
    ]
}

async function verifyLinks(c: LoginCase, linkDir: string): Promise<void> {
    for (const secret of c.secrets) {
        const link = join(linkDir, secret.name)
        const content = await readFile(link, "utf8")
        if (content !== secret.content) {
            throw new Error(`login N = ${c.n}: ${link} does not hold the secret's plaintext`)
        }
    }
}

async function measureNoop(
    c: LoginCase, options: BenchOptions, progress: Progress,
): Promise<Row[]> {
    const stateDir = join(c.home, ".local", "state", "homeage")
    const record = join(stateDir, "unchanged.json")
    const epoch = (): Promise<string> => readFile(join(stateDir, "epoch"), "utf8")
    // The run that notes the record needs the files written by the first
    // activate to be older than the record's racy window (100 ms).
    await sleep(RECORD_SETTLE_MS)
    const first = await run(c.homeage(["activate"]))
    const contenders: Contender[] = [
        {
            label: "homeage activate",
            runs: options.runs,
            measure: async () => (await run(c.homeage(["activate"]))).seconds,
            verify: async () => {
                const before = await epoch()
                await run(c.homeage(["activate"]))
                if (await epoch() !== before) {
                    progress(`warning: no-op activate at N = ${c.n} checked in full ` +
                        "instead of using the record of the run before")
                }
            },
        },
        {
            label: "homeage activate, full check",
            runs: options.runs,
            prepare: () => rm(record, { force: true }),
            measure: async () => (await run(c.homeage(["activate"]))).seconds,
        },
        {
            label: "homeage --version",
            runs: options.runs,
            warmUp: true,
            measure: async () => (await run(c.homeage(["--version"]))).seconds,
        },
    ]
    const [activate, full, version] = await sideBySide(`no-op activate N = ${c.n}`,
        contenders, options.rowBudgetSeconds, progress) as [Sample, Sample, Sample]

    const last = await run(c.homeage(["activate"]))
    if (changedSomething(first.stdout) || changedSomething(last.stdout)) {
        progress(`warning: activate at N = ${c.n} did not report "no changes": ` +
            last.stdout.trim())
    }
    return [
        timeRow("no-op activate", `activate, N = ${c.n}, nothing changed`, activate,
            version, NOOP_TARGET),
        timeRow("no-op activate", `activate, N = ${c.n}, nothing changed, without the ` +
            "record of the last run (full check)", full, version),
    ]
}

function changedSomething(report: string): boolean {
    return !report.includes("no changes")
}
