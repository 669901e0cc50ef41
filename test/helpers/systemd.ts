/**
 * Test harness for a real `systemd --user` manager (see sd-user-manager.sh):
 * creates a test user, starts and stops its manager, and runs commands as that
 * user with `XDG_RUNTIME_DIR` set, the way a login session would.
 */
import { spawn, spawnSync } from "node:child_process"
import { accessSync, constants, existsSync } from "node:fs"
import { chown, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

/** The script that starts and stops the manager (kept in the source tree, not compiled). */
export const SD_USER_MANAGER = fileURLToPath(
    new URL("../../../test/helpers/sd-user-manager.sh", import.meta.url))

/** The user the tests run units as, unless a test names another. */
export const DEFAULT_TEST_USER = "homeage-test"

/** The systemd user manager binary the script starts. */
const MANAGER_BINARY = "/usr/lib/systemd/systemd"

/** The PATH commands run with as the test user. */
const USER_PATH = "/usr/local/bin:/usr/bin:/bin"

/** How one command run as the test user ended. */
export interface RunResult {
    code: number | null
    stdout: string
    stderr: string
}

/**
 * Why a real user manager cannot run here, or `undefined` when it can: it
 * needs root (for the cgroups and /run/user), a writable /sys/fs/cgroup, the
 * systemd binary and setpriv.
 */
export function userManagerSkipReason(): string | undefined {
    if (process.getuid?.() !== 0) return "needs root to start a systemd user manager"
    try {
        accessSync("/sys/fs/cgroup", constants.W_OK)
    } catch {
        return "/sys/fs/cgroup is not writable, so no cgroup can be delegated to a user manager"
    }
    if (!existsSync(MANAGER_BINARY)) return `${MANAGER_BINARY} is not installed`
    if (spawnSync("setpriv", ["--version"]).status !== 0) return "setpriv is not installed"
    return undefined
}

/** A user account to run a manager for. */
export interface TestUser {
    name: string
    uid: number
    gid: number
}

/** Looks up `name`, creating it (with `useradd`, a home and a group) when missing. */
export function ensureTestUser(name = DEFAULT_TEST_USER): TestUser {
    const lookup = (): TestUser | undefined => {
        const uid = spawnSync("id", ["-u", name], { encoding: "utf8" })
        const gid = spawnSync("id", ["-g", name], { encoding: "utf8" })
        if (uid.status !== 0 || gid.status !== 0) return undefined
        return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
    }

    const found = lookup()
    if (found !== undefined) return found

    const made = spawnSync("useradd", ["--create-home", "--user-group", "--shell", "/bin/bash",
        name], { encoding: "utf8" })
    const user = lookup()
    if (made.status !== 0 || user === undefined) {
        throw new Error(`useradd ${name} failed: ${made.stderr}`)
    }
    return user
}

function exec(file: string, args: readonly string[], env: NodeJS.ProcessEnv,
    cwd?: string, input?: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(file, [...args], { env, cwd, stdio: ["pipe", "pipe", "pipe"] })
        const out: Buffer[] = []
        const err: Buffer[] = []
        child.stdout.on("data", (b: Buffer) => out.push(b))
        child.stderr.on("data", (b: Buffer) => err.push(b))
        child.on("error", reject)
        child.on("close", (code) => {
            resolve({
                code,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            })
        })
        child.stdin.on("error", () => undefined)
        child.stdin.end(input ?? "")
    })
}

/** A running `systemd --user` of a test user, with a private temp home folder. */
export class UserManager {
    readonly user: TestUser
    /** The home folder the manager and every command run with. */
    readonly home: string
    /** `/run/user/UID`. */
    readonly runtimeDir: string

    private constructor(user: TestUser, home: string) {
        this.user = user
        this.home = home
        this.runtimeDir = `/run/user/${user.uid}`
    }

    /**
     * Creates the user if needed, a fresh home folder for it under the temp
     * folder, and starts its manager. Cleans up and throws if it does not come up.
     */
    static async start(userName = DEFAULT_TEST_USER): Promise<UserManager> {
        const user = ensureTestUser(userName)
        const home = await mkdtemp(join(tmpdir(), "homeage-sd-"))
        await chown(home, user.uid, user.gid)
        const manager = new UserManager(user, home)

        const started = await manager.script("start")
        if (started.code !== 0) {
            await manager.stop()
            throw new Error(`the systemd user manager did not start: ${started.stderr}`)
        }
        return manager
    }

    /** The environment commands run with as the user (no other variable leaks in). */
    env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
        return {
            HOME: this.home, USER: this.user.name, LOGNAME: this.user.name, PATH: USER_PATH,
            XDG_RUNTIME_DIR: this.runtimeDir, ...extra,
        }
    }

    /** Runs `file ARGS…` as the user, in its home, with {@link env} plus `extra`. */
    run(file: string, args: readonly string[], extra: NodeJS.ProcessEnv = {},
        input?: string): Promise<RunResult> {
        const envArgs = Object.entries(this.env(extra)).map(([k, v]) => `${k}=${v ?? ""}`)
        return exec("setpriv", [`--reuid=${this.user.uid}`, `--regid=${this.user.gid}`,
            "--init-groups", "env", "-i", ...envArgs, file, ...args], {}, this.home, input)
    }

    /** Runs `systemctl --user ARGS…` as the user. */
    systemctl(...args: string[]): Promise<RunResult> {
        return this.run("systemctl", ["--user", ...args])
    }

    /** One property of a unit, from `systemctl --user show`. */
    async property(unit: string, name: string): Promise<string> {
        const r = await this.systemctl("show", `--property=${name}`, "--value", "--", unit)
        return r.stdout.trim()
    }

    /** Stops the manager (the user's units stop, ExecStop runs), as at logout; keeps the home. */
    async logout(): Promise<void> {
        const r = await this.script("stop")
        if (r.code !== 0) throw new Error(`stopping the manager failed: ${r.stderr}`)
    }

    /** Starts the manager again with the same home, as at login. */
    async login(): Promise<void> {
        const r = await this.script("start")
        if (r.code !== 0) throw new Error(`the systemd user manager did not start: ${r.stderr}`)
    }

    /** Stops the manager and deletes the temp home. Safe to call more than once. */
    async stop(): Promise<void> {
        await this.script("stop")
        await rm(this.home, { recursive: true, force: true })
    }

    private script(verb: "start" | "stop"): Promise<RunResult> {
        return exec("bash", [SD_USER_MANAGER, verb, this.user.name],
            { ...process.env, SDU_HOME: this.home })
    }
}
