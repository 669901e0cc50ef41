/**
 * The macOS login service: one LaunchAgent that runs `homeage start` when the
 * user logs in (`RunAtLoad`), with absolute program arguments, an explicit
 * `PATH`, and its output under `~/Library/Logs/homeage/`. launchd has no unit
 * per secret, so it decrypts every secret in one process by construction.
 */
import { mkdir } from "node:fs/promises"
import { dirname, join } from "node:path"

import { OperationError, UsageError } from "../errors.js"
import { firstLine, type ProcessRunner, spawnRunner } from "./process.js"
import { validateSetup } from "./setup.js"
import type { LaunchdPlan, ServiceLog, ServiceManager, ServicePlan, ServiceSetup } from "./types.js"
import { readServiceFile, removeServiceFile, writeServiceFile } from "./unit-files.js"

/** The agent's label, also the plist's file name without `.plist`. */
export const LAUNCHD_LABEL = "org.homeage.secrets"

/** A comment inside every plist homeage writes; a plist without it is never touched. */
export const PLIST_MARKER = "<!-- Managed by homeage; changes are overwritten -->"

/** Control characters other than tab, newline and return; XML 1.0 cannot carry most of them. */
const XML_FORBIDDEN = /[^\P{Cc}\t\n\r]/u

/** Mode of the log folder: the logs may name secrets and paths, so only the user reads them. */
const LOG_DIR_MODE = 0o700

/** Where the agent's files go for a user, from the home folder. */
export interface LaunchdPaths {
    /** `~/Library/LaunchAgents/org.homeage.secrets.plist` */
    plist: string
    /** `~/Library/Logs/homeage` */
    logDir: string
    /** `~/Library/Logs/homeage/homeage.out.log`: standard output of `homeage start`. */
    stdout: string
    /** `~/Library/Logs/homeage/homeage.err.log`: its standard error. */
    stderr: string
}

/** The paths of the agent's plist and logs under `home`. */
export function launchdPaths(home: string): LaunchdPaths {
    const logDir = join(home, "Library", "Logs", "homeage")
    return {
        plist: join(home, "Library", "LaunchAgents", `${LAUNCHD_LABEL}.plist`),
        logDir,
        stdout: join(logDir, "homeage.out.log"),
        stderr: join(logDir, "homeage.err.log"),
    }
}

function xml(text: string): string {
    if (XML_FORBIDDEN.test(text)) {
        throw new UsageError(`cannot write a control character into a launchd plist: ${
            JSON.stringify(text)}`)
    }
    return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
}

/**
 * The LaunchAgent plist: `Label`, `ProgramArguments` (node, cli, `start`),
 * `RunAtLoad`, `EnvironmentVariables` with `PATH` and the setup's variables,
 * and `StandardOutPath`/`StandardErrorPath` under `~/Library/Logs/homeage/`.
 * Throws a UsageError for a relative path or a value XML cannot carry.
 */
export function renderLaunchAgent(setup: ServiceSetup): string {
    validateSetup(setup)
    const paths = launchdPaths(setup.home)
    const env: [string, string][] = [["PATH", setup.path],
        ...Object.entries(setup.environment).sort(([a], [b]) => a.localeCompare(b))]
    const string = (value: string, indent: string): string =>
        `${indent}<string>${xml(value)}</string>`
    const key = (name: string, indent = "    "): string => `${indent}<key>${xml(name)}</key>`

    return [
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" " +
            "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">",
        PLIST_MARKER,
        "<plist version=\"1.0\">",
        "<dict>",
        key("Label"), string(LAUNCHD_LABEL, "    "),
        key("ProgramArguments"),
        "    <array>",
        ...[setup.node, setup.cli, "start"].map((arg) => string(arg, "        ")),
        "    </array>",
        key("RunAtLoad"), "    <true/>",
        key("EnvironmentVariables"),
        "    <dict>",
        ...env.flatMap(([name, value]) => [key(name, "        "), string(value, "        ")]),
        "    </dict>",
        key("StandardOutPath"), string(paths.stdout, "    "),
        key("StandardErrorPath"), string(paths.stderr, "    "),
        "</dict>",
        "</plist>",
        "",
    ].join("\n")
}

/**
 * Runs `launchctl`. The default runner spawns the real program and exists
 * only on macOS; anywhere else it fails with a clear message, so tests pass a
 * fake one.
 */
export function launchctlRunner(): ProcessRunner {
    if (process.platform === "darwin") return spawnRunner()
    return () => Promise.reject(new OperationError(
        `launchctl exists only on macOS, not on ${process.platform}; ` +
        "set installationType = \"systemd\" or \"activation\""))
}

/** The {@link ServiceManager} for `installationType = "launchd"`. */
export class LaunchdServiceManager implements ServiceManager {
    readonly kind = "launchd"
    private readonly setup: ServiceSetup
    private readonly runner: ProcessRunner
    private readonly paths: LaunchdPaths

    /**
     * @param setup - how the agent runs homeage.
     * @param runner - runs `launchctl`; default {@link launchctlRunner}.
     */
    constructor(setup: ServiceSetup, runner?: ProcessRunner) {
        this.setup = setup
        this.runner = runner ?? launchctlRunner()
        this.paths = launchdPaths(setup.home)
        this.folders = [dirname(this.paths.plist)]
        this.unavailable = runner === undefined && process.platform !== "darwin"
    }

    /** `~/Library/LaunchAgents`; the log folder is kept on removal, so it is not listed. */
    readonly folders: readonly string[]

    /** Whether the real launchctl is wanted on a system that has none. */
    private readonly unavailable: boolean

    /**
     * Plans to write and reload the agent when its plist is missing or differs.
     * A plist at that path without homeage's marker is a problem. New, changed
     * and removed secrets need nothing more: the agent runs `homeage start` for
     * the whole current generation.
     */
    async plan(): Promise<LaunchdPlan> {
        const content = renderLaunchAgent(this.setup)
        const found = await readServiceFile(this.paths.plist, PLIST_MARKER)
        const plan: LaunchdPlan = {
            kind: "launchd", plistPath: this.paths.plist, problems: [], summary: [],
            write: undefined,
        }

        if (this.unavailable) {
            plan.problems.push("installationType \"launchd\" needs macOS, and this is " +
                `${process.platform}; set installationType = "systemd" or "activation"`)
        }
        if (found !== undefined && !found.owned) {
            plan.problems.push(`${this.paths.plist} exists and was not written by homeage ` +
                "(no marker comment); move it away")
        } else if (found?.content !== content) {
            plan.write = content
            plan.summary.push(`write and reload ${this.paths.plist}`)
        }

        return plan
    }

    /**
     * Writes the plist atomically, creates the log folder (0700), then reloads
     * the agent: `launchctl bootout gui/UID/LABEL` (its failure when the agent
     * was not loaded is ignored), then `launchctl bootstrap gui/UID PLIST`.
     */
    async apply(plan: ServicePlan, log: ServiceLog): Promise<void> {
        if (plan.kind !== "launchd") {
            throw new OperationError(`a ${plan.kind} plan cannot be applied by the launchd manager`)
        }
        if (plan.problems.length > 0) {
            throw new OperationError("cannot install the launchd agent: " +
                plan.problems.join("; "), { problems: plan.problems })
        }
        if (plan.write === undefined) return

        await mkdir(this.paths.logDir, { recursive: true, mode: LOG_DIR_MODE })
        await writeServiceFile(plan.plistPath, plan.write)
        log.detail(`wrote ${plan.plistPath}`)

        await this.bootout(log)
        await this.launchctl(["bootstrap", this.domain(), plan.plistPath])
        log.info(`loaded launchd agent ${LAUNCHD_LABEL}`)
    }

    /** Unloads the agent and deletes its plist, if homeage wrote it. The logs are kept. */
    async remove(log: ServiceLog): Promise<void> {
        const found = await readServiceFile(this.paths.plist, PLIST_MARKER)
        if (found?.owned !== true) return

        await this.bootout(log)
        await removeServiceFile(this.paths.plist)
        log.info(`removed launchd agent ${LAUNCHD_LABEL}`)
    }

    /** A plist homeage wrote cannot be unloaded where there is no launchctl. */
    async removalProblems(): Promise<string[]> {
        const found = await readServiceFile(this.paths.plist, PLIST_MARKER)
        if (found?.owned !== true || !this.unavailable) return []
        return [`${this.paths.plist} cannot be unloaded: launchctl exists only on macOS; ` +
            "delete the file yourself"]
    }

    private domain(): string {
        return `gui/${this.setup.uid}`
    }

    private async bootout(log: ServiceLog): Promise<void> {
        const target = `${this.domain()}/${LAUNCHD_LABEL}`
        const result = await this.runner("launchctl", ["bootout", target])
        if (result.code !== 0) {
            log.detail(`launchctl bootout ${target}: ${firstLine(result.stderr) || "not loaded"}`)
        }
    }

    private async launchctl(args: readonly string[]): Promise<void> {
        const result = await this.runner("launchctl", args)
        if (result.code === 0) return

        const said = firstLine(result.stderr) || `exit status ${result.code ?? "(signal)"}`
        throw new OperationError(`launchctl ${args.join(" ")} failed: ${said}`)
    }
}
