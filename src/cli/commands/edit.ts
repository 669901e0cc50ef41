/**
 * `homeage edit NAME|FILE`: changes a secret through a private plaintext copy
 * on tmpfs and re-encrypts it if it changed (src/authoring/edit.ts).
 */
import { describeEdit, editSecret } from "../../authoring/edit.js"
import { environment } from "../../config/index.js"
import type { CommandRun } from "../context.js"

function strings(value: unknown): string[] {
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []
}

/** Runs `homeage edit`: 0 written or unchanged, 1 an operation failed, 2 a usage error. */
export const run: CommandRun = async (ctx, options, args) => {
    const result = await editSecret({
        target: args[0] ?? "",
        recipients: strings(options.recipient),
        recipientFiles: strings(options.recipientsFile),
        identities: strings(options.identity),
        configFile: ctx.globals.config,
        cwd: process.cwd(),
        env: environment(process.env),
        variables: process.env,
        interactive: process.stdin.isTTY,
        report: ctx.log,
    })
    ctx.log.info(describeEdit(result))
    return 0
}
