/**
 * `homeage activate [--dry-run] [--backup EXT]`: make the machine match the
 * config (SPEC §5). SIGINT, SIGTERM and SIGHUP end it cleanly (see
 * fs/interrupt.ts): no temp file stays, the lock is released, and one line
 * says whether anything changed.
 */
import { dirname } from "node:path"

import {
    activate, loadActivationInput, rememberConfig, serviceManagers, summarize,
} from "../../activation/index.js"
import { removeStaleEditFolders } from "../../authoring/edit-folder.js"
import { UsageError } from "../../errors.js"
import { runInterruptible } from "../../fs/interrupt.js"
import type { CommandRun } from "../context.js"

/** A backup extension: a plain file-name suffix, so `FILE.EXT` stays beside `FILE`. */
const BACKUP_EXT = /^[A-Za-z0-9._~-]+$/

/** Checks, switches and cleans up; prints one line per secret and a summary. */
export const run: CommandRun = async (ctx, options) => {
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
    return runInterruptible((line) => { ctx.log.error(line) }, async () => {
        if (!dryRun) {
            const bases = [dirname(input.desired.runtimeDir), input.env.XDG_RUNTIME_DIR]
            for (const stale of await removeStaleEditFolders(bases)) {
                ctx.log.detail(`removed ${stale}, left by an edit that was killed`)
            }
        }
        const result = await activate(input.desired, {
            paths: input.paths,
            reporter: ctx.log,
            generationsToKeep: input.config.generationsToKeep,
            problems: input.conflicts,
            backup,
            dryRun,
            home: input.env.HOME,
            services: serviceManagers(input.env),
        })
        // Once it succeeded: the next run with these config bytes skips validating them.
        if (!dryRun) await rememberConfig(input)

        ctx.log.info(summarize(result, dryRun))
        return 0
    })
}
