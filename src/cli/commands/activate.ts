/**
 * `homeage activate [--dry-run] [--backup EXT]`: make the machine match the
 * config (SPEC §5). SIGINT, SIGTERM and SIGHUP end it cleanly (see
 * fs/interrupt.ts): no temp file stays, the lock is released, and one line
 * says whether anything changed. A run that found nothing to change leaves a
 * record, so that the next such run is answered at once (activation/unchanged.ts).
 */
import { dirname } from "node:path"

import {
    activate, loadActivationInput, rememberConfig, serviceManagers, summarize,
    type ActivationInput, type SwitchResult,
} from "../../activation/index.js"
import type { Reporter } from "../../activation/report.js"
import {
    forgetUnchanged, lookAt, recordUnchanged, runKey, runStarted, watchedPaths,
} from "../../activation/unchanged.js"
import { removeStaleEditFolders } from "../../authoring/edit-folder.js"
import { configCandidates, defaultIdentityCandidates } from "../../config/index.js"
import { UsageError } from "../../errors.js"
import { runInterruptible } from "../../fs/interrupt.js"
import { generationFile } from "../../generations/generations.js"
import type { CommandContext, CommandRun } from "../context.js"

/** A backup extension: a plain file-name suffix, so `FILE.EXT` stays beside `FILE`. */
const BACKUP_EXT = /^[A-Za-z0-9._~-]+$/

/**
 * Checks, switches and cleans up; prints one line per secret and a summary.
 * A run the record of an unchanged run answers never gets here: bin/homeage.js
 * answers it first (src/cli/early.ts).
 */
export const run: CommandRun = async (ctx, options) => {
    // Before anything is read: a record notes only what was settled by then.
    const since = runStarted()
    const dryRun = options.dryRun === true
    const given = typeof options.backup === "string" ? options.backup : undefined
    // `.bak` and `bak` both mean FILE.bak.
    const backup = given?.replace(/^\.+/, "")
    if (given !== undefined && (backup === "" || !BACKUP_EXT.test(backup ?? ""))) {
        throw new UsageError(`--backup ${JSON.stringify(given)}: use a plain extension ` +
            "such as bak (letters, digits, . _ ~ -)")
    }

    const input = await loadActivationInput(ctx.globals.config, process.env, process.cwd())
    if (input.config.installationType === "activation") {
        ctx.log.detail("installationType activation: secrets are decrypted during activate " +
            "only; run homeage start at login to bring them back (docs/services.md)")
    }
    const bases = [dirname(input.desired.runtimeDir), input.env.XDG_RUNTIME_DIR]
        .filter((base): base is string => base !== undefined && base !== "")

    // Under -v the run reports details a record does not keep.
    const key = dryRun || ctx.log.verbosity === "verbose" ? undefined : runKey(ctx.argv)
    const noting = key === undefined ? undefined : beginRecord(ctx, input)

    return runInterruptible((line) => { ctx.log.error(line) }, async () => {
        if (!dryRun) {
            for (const stale of await removeStaleEditFolders(bases)) {
                ctx.log.detail(`removed ${stale}, left by an edit that was killed`)
            }
        }
        const reporter = countingReporter(ctx)
        const result = await activate(input.desired, {
            paths: input.paths,
            reporter,
            generationsToKeep: input.config.generationsToKeep,
            problems: input.conflicts,
            backup,
            dryRun,
            home: input.env.HOME,
            services: serviceManagers(input.env),
        })
        // Once it succeeded: the next run with these config bytes skips validating them.
        if (!dryRun) await rememberConfig(input)

        const summary = summarize(result, dryRun)
        ctx.log.info(summary)
        if (key === undefined || noting === undefined) return 0
        const generation = result.generation
        if (generation !== undefined && result.epoch !== undefined && nothingDone(result)
            && reporter.lines === 0 && !setsOwners(input)) {
            const { watched, folders, real } = noting
            await recordUnchanged(input.paths, {
                key, epoch: result.epoch, since, editBases: bases,
                output: ctx.log.verbosity === "quiet" ? "" : `${summary}\n`,
                whole: watched.whole, sweep: watched.sweep,
                through: [...watched.through, generationFile(input.paths, generation)],
                identity: folders, real,
            })
        } else {
            await forgetUnchanged(input.paths)
        }
        return 0
    })
}

/**
 * What a record of this run would watch, with the folders and the config's
 * real path as the check will find them: one that changes meanwhile means no
 * record.
 */
function beginRecord(ctx: CommandContext, input: ActivationInput) {
    const watched = watchedPaths({
        desired: input.desired, paths: input.paths,
        configCandidates: configCandidates({
            explicit: ctx.globals.config, env: input.env, cwd: process.cwd(),
        }),
        serviceFolders: serviceManagers(input.env)(input.config.installationType).folders,
        identityCandidates: defaultIdentityCandidates(input.env),
    })
    const config = input.desired.configFile
    return {
        watched, folders: lookAt(watched.identity),
        real: lookAt(config === null ? [] : [config], "real"),
    }
}

/** The log as a reporter that counts the lines it was given (but details). */
function countingReporter(ctx: CommandContext): Reporter & { lines: number } {
    const counted = {
        lines: 0,
        info: (line: string) => { counted.lines++; ctx.log.info(line) },
        detail: (line: string) => { ctx.log.detail(line) },
        warn: (line: string) => { counted.lines++; ctx.log.warn(line) },
    }
    return counted
}

/**
 * Whether a run kept the current generation and changed, restored or kept
 * nothing, services included.
 */
function nothingDone(result: SwitchResult): boolean {
    return result.unchanged && result.servicesChanged !== true
        && [result.added, result.changed, result.restored, result.completed, result.removed,
            result.kept].every((list) => list.length === 0)
}

/** Whether a secret names an owner or group, which only the user database resolves. */
function setsOwners(input: ActivationInput): boolean {
    return input.desired.secrets.some((s) => s.owner !== null || s.group !== null)
}
