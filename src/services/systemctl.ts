/**
 * A thin layer over `systemctl --user`: one method per verb homeage uses, an
 * error that names the verb, the units and systemctl's own message, and a probe
 * that tells whether the user manager can be reached at all. The process runner
 * is injected, so tests can replace systemctl.
 */
import { messageOf, OperationError } from "../errors.js"
import { firstLine, type ProcessRunner, spawnRunner } from "./process.js"

/** The state of one unit, from `systemctl --user show`. */
export interface UnitState {
    /** `active`, `inactive`, `failed`, `activating`, … */
    activeState: string
    /** `success`, `exit-code`, … ; why the unit last stopped or failed. */
    result: string
}

/** What {@link Systemctl.probe} found out about the user manager. */
export type ManagerProbe =
    | { reachable: true, unitPath: string[] }
    | { reachable: false, reason: string }

/**
 * The message for a user manager that cannot be reached, with what to do about
 * it. `reason` is systemctl's own words, e.g. "Failed to connect to bus: No
 * medium found".
 */
export function unreachableMessage(reason: string): string {
    return `cannot reach the systemd user manager (${reason}); run \`homeage activate\` ` +
        "from a login session, or set installationType = \"activation\""
}

/** Runs `systemctl --user` verbs through a {@link ProcessRunner}. */
export class Systemctl {
    private readonly runner: ProcessRunner
    private readonly binary: string

    /**
     * @param runner - runs the program; default: spawn it with this process's
     *   environment (which must carry `XDG_RUNTIME_DIR` for the user manager).
     * @param binary - the systemctl program; default `systemctl` from `PATH`.
     */
    constructor(runner: ProcessRunner = spawnRunner(), binary = "systemctl") {
        this.runner = runner
        this.binary = binary
    }

    /**
     * Asks the user manager for its unit search path. Never throws: a manager
     * that cannot be reached, or a missing systemctl, is a `reachable: false`
     * answer with the reason.
     */
    async probe(): Promise<ManagerProbe> {
        let result
        try {
            result = await this.runner(this.binary, ["--user", "show", "--property=UnitPath"])
        } catch (err) {
            return { reachable: false, reason: `cannot run ${this.binary}: ${messageOf(err)}` }
        }

        if (result.code !== 0) {
            const reason = firstLine(result.stderr) || `${this.binary} exited with ${result.code}`
            return { reachable: false, reason }
        }

        const line = result.stdout.split("\n").find((l) => l.startsWith("UnitPath="))
        const unitPath = (line ?? "").slice("UnitPath=".length).split(" ").filter((p) => p !== "")
        return { reachable: true, unitPath }
    }

    /** `daemon-reload`: makes the manager read changed unit files. */
    async daemonReload(): Promise<void> {
        await this.run(["daemon-reload"])
    }

    /** `enable`: creates the `[Install]` symlinks of the units (no reload, no start). */
    async enable(units: readonly string[]): Promise<void> {
        if (units.length > 0) await this.run(["enable", "--no-reload", "--", ...units])
    }

    /** `disable`: removes the `[Install]` symlinks of the units (no reload). */
    async disable(units: readonly string[]): Promise<void> {
        if (units.length > 0) await this.run(["disable", "--no-reload", "--", ...units])
    }

    /**
     * `start`: starts the units and waits for them. Resolves `false` when any
     * failed to start ({@link states} tells which); throws only when systemctl
     * itself could not do the call.
     */
    async start(units: readonly string[]): Promise<boolean> {
        return this.runJobs("start", units)
    }

    /** `restart`: stops and starts the units (services requiring them restart too). */
    async restart(units: readonly string[]): Promise<boolean> {
        return this.runJobs("restart", units)
    }

    /** `stop`: stops the units and waits for them; their `ExecStop=` runs. */
    async stop(units: readonly string[]): Promise<void> {
        if (units.length > 0) await this.run(["stop", "--", ...units])
    }

    /** `reset-failed`: forgets the failed state of units, e.g. ones just removed. */
    async resetFailed(units: readonly string[]): Promise<void> {
        if (units.length > 0) await this.run(["reset-failed", "--", ...units])
    }

    /** `is-active`: whether the unit is active now. */
    async isActive(unit: string): Promise<boolean> {
        const args = ["--user", "is-active", "--quiet", "--", unit]
        const result = await this.runner(this.binary, args)
        return result.code === 0
    }

    /** `show -p ActiveState,Result` for several units at once, unit name to state. */
    async states(units: readonly string[]): Promise<Map<string, UnitState>> {
        const states = new Map<string, UnitState>()
        if (units.length === 0) return states

        const result = await this.run(["show", "--property=Id,ActiveState,Result", "--", ...units])
        for (const block of result.split("\n\n")) {
            const fields = new Map(block.split("\n").filter((l) => l.includes("=")).map((l) => {
                const at = l.indexOf("=")
                return [l.slice(0, at), l.slice(at + 1)] as const
            }))
            const id = fields.get("Id")
            if (id === undefined) continue
            states.set(id, {
                activeState: fields.get("ActiveState") ?? "",
                result: fields.get("Result") ?? "",
            })
        }

        return states
    }

    private async runJobs(verb: string, units: readonly string[]): Promise<boolean> {
        if (units.length === 0) return true

        const args = ["--user", verb, "--", ...units]
        const result = await this.runner(this.binary, args)
        if (result.code === 0) return true
        if (/job for .* failed|dependency failed/i.test(result.stderr)) return false

        throw this.failure(args, result.stderr, result.code)
    }

    private async run(args: readonly string[]): Promise<string> {
        const full = ["--user", ...args]
        const result = await this.runner(this.binary, full)
        if (result.code !== 0) throw this.failure(full, result.stderr, result.code)
        return result.stdout
    }

    private failure(args: readonly string[], stderr: string, code: number | null): OperationError {
        const said = firstLine(stderr) || `exit status ${code ?? "(killed by a signal)"}`
        const call = `${this.binary} ${args.join(" ")}`
        if (/failed to connect to bus/i.test(said)) {
            return new OperationError(`${call}: ${unreachableMessage(said)}`)
        }
        return new OperationError(`${call} failed: ${said}`)
    }
}
