/**
 * `homeage rekey [NAME…]`: re-encrypts secrets to their declared recipients,
 * all or nothing (src/authoring/rekey.ts).
 */
import { describeRekey, rekeySecrets } from "../../authoring/rekey.js"
import { environment } from "../../config/index.js"
import type { CommandRun } from "../context.js"

/** Runs `homeage rekey`: 0 done, 1 nothing changed because a secret failed, 2 usage. */
export const run: CommandRun = async (ctx, options, args) => {
    const dryRun = options.dryRun === true
    const rekeyed = await rekeySecrets({
        names: args,
        dryRun,
        configFile: ctx.globals.config,
        cwd: process.cwd(),
        env: environment(process.env),
        report: ctx.log,
    })

    for (const secret of rekeyed) {
        ctx.log.info(describeRekey(secret, dryRun))
        for (const difference of secret.differences) {
            if (dryRun) ctx.log.info(`  ${difference}`)
            else ctx.log.detail(`  ${difference}`)
        }
    }
    const count = `${rekeyed.length} secret${rekeyed.length === 1 ? "" : "s"}`
    ctx.log.info(dryRun ? `dry run: ${count} would be re-encrypted, nothing written`
        : `re-encrypted ${count}`)
    return 0
}
