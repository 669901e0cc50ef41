/**
 * `homeage encrypt [-r R]… [-R FILE]… [-i FILE]… [-p] [-a] [-o OUT] [IN]`: as
 * `age -e`, with one addition: without -r, -R, -i or -p it encrypts to the
 * config's top-level `recipients`. Reads IN (default standard input) and
 * writes OUT (default standard output; a file is replaced only once complete,
 * and written through when it is a symlink, as age does). Refuses to write
 * binary to a terminal, as age does; `-o -` forces standard output.
 */
import {
    ScryptRecipient, encryptStream, loadIdentities, openInput, outputTarget, parseRecipient,
    parseRecipientsFile, readPassphrase, recipientsOf, usesAskpass, writeThroughTemp,
} from "../../age/index.js"
import type { ByteSource, Recipient } from "../../age/index.js"
import { loadOptionalConfig } from "../../authoring/project.js"
import { parseRecipients } from "../../authoring/recipients.js"
import { environment } from "../../config/index.js"
import { OperationError, UsageError } from "../../errors.js"
import type { CommandContext, CommandRun } from "../context.js"
import { refuseOutputIsInput, writeStdout } from "./io.js"

/** Mode of an encrypted output file: ciphertext is not secret. */
const ENCRYPTED_FILE_MODE = 0o644

/** `homeage encrypt`: see the module comment. */
export const run: CommandRun = async (ctx, options, args) => {
    const armor = options.armor === true
    const output = options.output as string | undefined
    const input = args[0]

    if (!armor && output === undefined && process.stdout.isTTY) {
        throw new UsageError("encrypt: refusing to write binary ciphertext to the terminal;"
            + " use -a for ASCII armor, or -o FILE (-o - forces standard output)")
    }

    const recipients = options.passphrase === true
        ? await passphraseRecipient(options)
        : await collectRecipients(ctx, options)

    const source: ByteSource = input === undefined || input === "-"
        ? process.stdin
        : await openInput(input)

    if (output === undefined || output === "-") {
        await encryptStream(source, recipients, { armor }, writeStdout)
        return 0
    }
    refuseOutputIsInput(input, output)
    const target = await outputTarget(output)
    await writeThroughTemp(target, ENCRYPTED_FILE_MODE,
        (sink) => encryptStream(source, recipients, { armor }, sink))
    return 0
}

function strings(value: unknown): string[] {
    return Array.isArray(value) ? value.map(String) : []
}

async function collectRecipients(
    ctx: CommandContext, options: Record<string, unknown>,
): Promise<Recipient[]> {
    const recipients: Recipient[] = []
    for (const [index, text] of strings(options.recipient).entries()) {
        recipients.push(parseRecipient(text, `encrypt: -r argument ${index + 1}`))
    }
    for (const file of strings(options.recipientsFile)) {
        recipients.push(...await parseRecipientsFile(file))
    }

    const identityFiles = strings(options.identity)
    if (identityFiles.length > 0) {
        const identities = await loadIdentities(identityFiles, {
            warn: (message) => {
                ctx.log.warn(message)
            },
        })
        recipients.push(...await recipientsOf(identities))
    }

    if (recipients.length > 0) return recipients
    const config = await loadOptionalConfig({
        explicit: ctx.globals.config, env: environment(process.env), cwd: process.cwd(),
    })
    if (config !== undefined && config.recipients.length > 0) {
        // No flags: the config's default recipients, as for a new secret made by edit.
        const where = `${config.file}: recipients`
        return parseRecipients(config.recipients.map((text) => ({ text, where })), "encrypt")
    }
    const found = config === undefined ? "no config file was found"
        : `${config.file} has no top-level recipients`
    throw new UsageError(`encrypt: no recipients (${found}): give -r RECIPIENT, -R FILE,`
        + " -i FILE, or -p for a passphrase, or set `recipients` in the config")
}

async function passphraseRecipient(options: Record<string, unknown>): Promise<Recipient[]> {
    const others = ["recipient", "recipientsFile", "identity"]
    if (others.some((key) => strings(options[key]).length > 0)) {
        throw new UsageError("encrypt: -p can't be combined with -r, -R or -i")
    }

    const passphrase = await readPassphrase("Enter passphrase: ")
    if (passphrase === undefined) {
        throw new UsageError("encrypt: no terminal to ask for a passphrase; set HOMEAGE_ASKPASS"
            + " to a program that prints it")
    }
    if (passphrase === "") {
        throw new OperationError("encrypt: the passphrase is empty; nothing was encrypted")
    }

    if (!usesAskpass()) {
        const again = await readPassphrase("Confirm passphrase: ")
        if (again !== passphrase) {
            throw new OperationError("encrypt: the passphrases don't match; nothing was"
                + " encrypted, run the command again")
        }
    }
    return [new ScryptRecipient(passphrase)]
}
