/**
 * Installs the systemd user units of a generation: writes the unit files
 * homeage owns into `$XDG_CONFIG_HOME/systemd/user/`, reloads the manager,
 * enables the units for `default.target`, starts the units of new secrets,
 * restarts those of changed ones, and stops, disables and deletes those of
 * secrets that are gone. A file without homeage's marker line is never touched.
 */
import { realpath } from "node:fs/promises"
import { join, resolve } from "node:path"

import { messageOf, OperationError } from "../errors.js"
import { renderUnits, UNIT_MARKER, WANTED_BY } from "./systemd.js"
import { isHomeageUnitName, secretUnitName, TARGET_UNIT } from "./systemd-names.js"
import { Systemctl, unreachableMessage } from "./systemctl.js"
import type {
    ServiceLog, ServiceManager, ServicePlan, ServiceSecret, ServiceSetup, SystemdPlan,
} from "./types.js"
import { exists, removeServiceFile, scanServiceFiles, writeServiceFile } from "./unit-files.js"

/** The folder of a user's own systemd units under `$XDG_CONFIG_HOME`. */
export function userUnitDir(configHome: string): string {
    return join(configHome, "systemd", "user")
}

/** The {@link ServiceManager} for `installationType = "systemd"`. */
export class SystemdServiceManager implements ServiceManager {
    readonly kind = "systemd"
    private readonly setup: ServiceSetup
    private readonly systemctl: Systemctl
    private readonly unitDir: string

    /**
     * @param setup - how the units run homeage (absolute paths, PATH, environment).
     * @param systemctl - the systemctl layer; tests pass one with a fake runner.
     */
    constructor(setup: ServiceSetup, systemctl: Systemctl = new Systemctl()) {
        this.setup = setup
        this.systemctl = systemctl
        this.unitDir = userUnitDir(setup.configHome)
        this.folders = [this.unitDir, join(this.unitDir, `${WANTED_BY}.wants`)]
    }

    /** The unit folder and its `default.target.wants` folder. */
    readonly folders: readonly string[]

    /**
     * Compares the units the new generation needs with the files on disk and
     * plans the least work: only differing files are written, only the units of
     * new and repaired secrets started, only changed ones restarted. When there is anything to do,
     * asks the manager whether it is reachable and reads this unit folder; if
     * not, the plan carries that as a problem.
     */
    async plan(previous: readonly string[], next: readonly ServiceSecret[]): Promise<SystemdPlan> {
        const desired = renderUnits(next, this.setup)
        const onDisk = await scanServiceFiles(this.unitDir, isHomeageUnitName, UNIT_MARKER)
        const plan: SystemdPlan = {
            kind: "systemd", unitDir: this.unitDir, problems: [], summary: [],
            write: new Map(), enable: [], start: [], restart: [], remove: [],
        }

        for (const [file, content] of desired) {
            const found = onDisk.get(file)
            if (found !== undefined && !found.owned) {
                plan.problems.push(`${join(this.unitDir, file)} exists and was not written by ` +
                    "homeage (no marker line); move it away, or rename the secret")
            } else if (found?.content !== content) {
                plan.write.set(file, content)
            }
            if (!await exists(join(this.unitDir, `${WANTED_BY}.wants`, file))) {
                plan.enable.push(file)
            }
        }
        plan.remove = [...onDisk].filter(([file, f]) => f.owned && !desired.has(file))
            .map(([file]) => file)

        const before = new Set(previous)
        for (const secret of next) {
            const unit = secretUnitName(secret.name)
            if (!before.has(secret.name) || !onDisk.has(unit)) plan.start.push(unit)
            else if (secret.changed) plan.restart.push(unit)
            else if (secret.repaired === true) plan.start.push(unit)
        }

        if (isEmpty(plan)) return plan
        plan.start.push(TARGET_UNIT)
        plan.summary = summarize(plan)
        plan.problems.push(...await this.reachability())
        return plan
    }

    /**
     * Applies a plan in an order that never leaves a dependency dangling: write
     * the new files and reload (the target stops requiring removed units), stop,
     * disable and delete the units of removed secrets and reload again, enable,
     * restart changed units, start new ones and the target. Refuses a plan with
     * problems, and checks again that the manager is reachable before writing.
     */
    async apply(plan: ServicePlan, log: ServiceLog): Promise<void> {
        if (plan.kind !== "systemd") {
            throw new OperationError(`a ${plan.kind} plan cannot be applied by the systemd manager`)
        }
        if (plan.problems.length > 0) {
            throw new OperationError("cannot install the systemd user units: " +
                plan.problems.join("; "), { problems: plan.problems })
        }
        if (isEmpty(plan)) return

        const problems = await this.reachability()
        if (problems.length > 0) {
            throw new OperationError(problems.join("; "), { problems })
        }

        for (const [file, content] of plan.write) {
            await writeServiceFile(join(plan.unitDir, file), content)
            log.detail(`wrote ${join(plan.unitDir, file)}`)
        }
        await this.systemctl.daemonReload()

        if (plan.remove.length > 0) {
            await this.removeUnits(plan.unitDir, plan.remove, log)
            await this.systemctl.daemonReload()
        }

        await this.systemctl.enable(plan.enable)
        for (const unit of plan.enable) log.detail(`enabled ${unit} for ${WANTED_BY}`)

        const restarted = await this.systemctl.restart(plan.restart)
        for (const unit of plan.restart) log.info(`restarted ${unit}`)
        const started = await this.systemctl.start(plan.start)
        for (const unit of plan.start) log.detail(`started ${unit}`)

        if (!restarted || !started) await this.reportFailed([...plan.restart, ...plan.start])
    }

    /**
     * Stops, disables and deletes every unit file homeage owns in the unit
     * folder, then reloads. When the manager cannot be reached, deletes the
     * files and their `default.target.wants` links anyway and warns that the
     * running manager (if any) keeps them until it reloads.
     */
    async remove(log: ServiceLog): Promise<void> {
        const onDisk = await scanServiceFiles(this.unitDir, isHomeageUnitName, UNIT_MARKER)
        const owned = [...onDisk].filter(([, f]) => f.owned).map(([file]) => file)
        if (owned.length === 0) return

        const problems = await this.reachability()
        if (problems.length > 0) {
            for (const unit of owned) {
                await removeServiceFile(join(this.unitDir, `${WANTED_BY}.wants`, unit))
                await removeServiceFile(join(this.unitDir, unit))
                log.info(`removed ${unit}`)
            }
            log.warn(`${problems.join("; ")}; the unit files are deleted, but a running ` +
                "manager keeps the units until `systemctl --user daemon-reload`")
            return
        }

        await this.removeUnits(this.unitDir, owned, log)
        await this.systemctl.daemonReload()
    }

    /**
     * When homeage's units are installed, whether the manager can be reached to
     * stop them; an empty list when no unit homeage owns is installed.
     */
    async removalProblems(): Promise<string[]> {
        const onDisk = await scanServiceFiles(this.unitDir, isHomeageUnitName, UNIT_MARKER)
        if (![...onDisk.values()].some((f) => f.owned)) return []

        const probe = await this.systemctl.probe()
        if (probe.reachable) return []
        return [`homeage's systemd units in ${this.unitDir} cannot be stopped: cannot reach ` +
            `the systemd user manager (${probe.reason}); run homeage from a login session`]
    }

    private async removeUnits(dir: string, units: readonly string[], log: ServiceLog):
    Promise<void> {
        await this.systemctl.stop(units)
        try {
            await this.systemctl.resetFailed(units)
        } catch (err) {
            log.detail(`reset-failed: ${messageOf(err)}`)
        }
        await this.systemctl.disable(units)

        for (const unit of units) {
            await removeServiceFile(join(dir, unit))
            log.info(`removed ${unit}`)
        }
    }

    private async reportFailed(units: readonly string[]): Promise<never> {
        const states = await this.systemctl.states(units)
        const problems = [...states].filter(([, s]) => s.activeState !== "active")
            .map(([unit, s]) => `${unit} is ${s.activeState} (${s.result}); see ` +
                `\`systemctl --user status ${unit}\``)

        throw new OperationError(`${problems.length} systemd unit(s) did not start`, { problems })
    }

    private async reachability(): Promise<string[]> {
        const probe = await this.systemctl.probe()
        if (!probe.reachable) return [unreachableMessage(probe.reason)]

        if (await searchedBy(this.unitDir, probe.unitPath)) return []
        return [`the systemd user manager does not load units from ${this.unitDir} (it reads ` +
            `${probe.unitPath.join(", ")}); run homeage with the XDG_CONFIG_HOME of your ` +
            "login session"]
    }
}

function isEmpty(plan: SystemdPlan): boolean {
    return plan.write.size === 0 && plan.enable.length === 0 && plan.start.length === 0 &&
        plan.restart.length === 0 && plan.remove.length === 0
}

function summarize(plan: SystemdPlan): string[] {
    return [
        ...[...plan.write.keys()].map((unit) => `write ${join(plan.unitDir, unit)}`),
        ...plan.enable.map((unit) => `enable ${unit}`),
        ...plan.restart.map((unit) => `restart ${unit}`),
        ...plan.start.map((unit) => `start ${unit}`),
        ...plan.remove.map((unit) => `stop and remove ${unit}`),
    ]
}

/** Whether `dir` is one of the manager's unit folders, comparing real paths where they exist. */
async function searchedBy(dir: string, unitPath: readonly string[]): Promise<boolean> {
    const wanted = resolve(dir)
    if (unitPath.some((p) => resolve(p) === wanted)) return true

    const real = await realpath(wanted).catch(() => undefined)
    if (real === undefined) return false
    for (const p of unitPath) {
        if (await realpath(p).catch(() => undefined) === real) return true
    }
    return false
}
