/**
 * `homeage keygen [-o FILE] [--pq]`: a new identity, as age-keygen writes it;
 * `homeage keygen -y [FILE]`: the recipients of an identity file (age keys,
 * SSH private keys, passphrase-encrypted identity files).
 */
import { generateHybridIdentity, generateIdentity, identityToRecipient } from "age-encryption"
import { constants } from "node:fs"
import { open, rm } from "node:fs/promises"

import { OperationError, UsageError, errnoOf } from "../../errors.js"
import {
    fileReason, identitiesFromBytes, loadIdentities, outputTarget, recipientLinesOf,
    writeThroughTemp,
} from "../../age/index.js"
import type { IdentitySet } from "../../age/index.js"
import type { CommandContext, CommandRun } from "../context.js"
import { readStdin, writeStdout } from "./io.js"

/** Mode of a new identity file: readable by its owner only. */
const IDENTITY_FILE_MODE = 0o600

/** Mode of a file of recipients written with `-y -o`: public keys, readable by all. */
const RECIPIENTS_FILE_MODE = 0o644

/** `homeage keygen`: see the module comment. */
export const run: CommandRun = async (ctx, options, args) => {
    const output = options.output as string | undefined
    const pq = options.pq === true

    if (options.y === true) {
        if (pq) throw new UsageError("keygen: -y and --pq can't be used together")
        await printRecipients(ctx, args[0], output)
        return 0
    }
    if (args.length > 0) {
        throw new UsageError("keygen: a FILE argument is only read with -y; to write the new"
            + " identity to a file use -o FILE")
    }

    const identity = pq ? await generateHybridIdentity() : await generateIdentity()
    const recipient = await identityToRecipient(identity)
    const text = `# created: ${rfc3339(new Date())}\n# public key: ${recipient}\n${identity}\n`

    if (output === undefined || output === "-") {
        await writeStdout(new TextEncoder().encode(text))
        if (!process.stdout.isTTY) publicKeyNote(ctx, recipient)
        return 0
    }

    await writeNewIdentityFile(output, text)
    publicKeyNote(ctx, recipient)
    return 0
}

/**
 * Creates `file` (never replacing anything, not even a symlink) with mode 0600
 * and writes `text`; a file left incomplete by a failed write is removed.
 */
async function writeNewIdentityFile(file: string, text: string): Promise<void> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
        | constants.O_NOFOLLOW
    let handle
    try {
        handle = await open(file, flags, IDENTITY_FILE_MODE)
    } catch (err) {
        if (errnoOf(err) === "EEXIST") {
            throw new OperationError(`keygen: ${file} already exists; keygen never overwrites`
                + " an identity file: choose another name, or move the old file away first")
        }
        throw new OperationError(`keygen: cannot create ${file}: `
            + fileReason(err, file, "create"), { cause: err })
    }

    try {
        await handle.chmod(IDENTITY_FILE_MODE)
        await handle.writeFile(text)
        await handle.sync()
        await handle.close()
    } catch (err) {
        await handle.close().catch(() => undefined)
        // The file was created exclusively just now: it is ours, and incomplete.
        await rm(file, { force: true }).catch(() => undefined)
        throw new OperationError(`keygen: cannot write ${file}: `
            + `${fileReason(err, file, "write")}; no identity was created`, { cause: err })
    }
}

function publicKeyNote(ctx: CommandContext, recipient: string): void {
    if (ctx.log.verbosity === "quiet") return
    process.stderr.write(`Public key: ${recipient}\n`)
}

async function printRecipients(
    ctx: CommandContext, file: string | undefined, output: string | undefined,
): Promise<void> {
    const warn = (message: string): void => {
        ctx.log.warn(message)
    }
    let identities: IdentitySet
    if (file === undefined || file === "-") {
        identities = identitiesFromBytes(await readStdin(), "standard input", { warn })
    } else {
        identities = await loadIdentities([file], { warn })
    }

    const lines = await recipientLinesOf(identities)
    const text = new TextEncoder().encode(lines.map((l) => `${l}\n`).join(""))
    if (output === undefined || output === "-") {
        await writeStdout(text)
        return
    }
    const target = await outputTarget(output)
    await writeThroughTemp(target, RECIPIENTS_FILE_MODE, (sink) => Promise.resolve(sink(text)))
}

/** A local time in RFC 3339 form with its UTC offset, as age-keygen writes it. */
function rfc3339(date: Date): string {
    const pad = (n: number): string => String(n).padStart(2, "0")
    const offset = -date.getTimezoneOffset()
    const zone = offset === 0
        ? "Z"
        : `${offset > 0 ? "+" : "-"}${pad(Math.floor(Math.abs(offset) / 60))}:`
            + pad(Math.abs(offset) % 60)
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
        + `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${zone}`
}
