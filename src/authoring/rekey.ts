/**
 * `homeage rekey [NAME…]`: re-encrypt secrets to the recipients the config
 * declares, all or nothing. Every selected secret is decrypted first; only if
 * all of them could be is anything written, each file replaced by rename.
 */
import { readFile, stat } from "node:fs/promises"

import type { Recipient } from "age-encryption"

import { type IdentitySet, type PassphraseReader, decrypt, encrypt } from "../age/index.js"
import { isArmored, recipientMismatches } from "../age/recipient-match.js"
import type { Environment, SecretConfig } from "../config/index.js"
import { OperationError, UsageError, errnoOf, messageOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { type StagedFile, stageFile } from "./files.js"
import { Interrupts } from "./interrupts.js"
import { displayPath } from "./paths.js"
import { loadProjectConfig, loadRunIdentities, selectSecrets } from "./project.js"
import { parseRecipients } from "./recipients.js"
import type { Reporter } from "./reporter.js"

/** Permission bits of a mode. */
const PERMISSION_BITS = 0o7777

/** What {@link rekeySecrets} needs. */
export interface RekeyOptions {
    /** The secrets to rekey; all declared ones when empty. */
    names: string[]
    /** Decrypt and re-encrypt in memory, report, write nothing. */
    dryRun: boolean
    /** `--config FILE`, if given. */
    configFile: string | undefined
    cwd: string
    env: Environment
    report: Reporter
    passphrase?: PassphraseReader | undefined
}

/** One secret rekeyed (or that would be, with `--dry-run`). */
export interface RekeyedSecret {
    name: string
    /** The source as shown to the user. */
    source: string
    /** How many recipients it is now encrypted to. */
    recipients: number
    /** What the old file's header showed to differ from the declared recipients. */
    differences: string[]
}

/** A secret decrypted and re-encrypted in memory, not yet written. */
interface Prepared {
    secret: SecretConfig
    ciphertext: Uint8Array
    mode: number
    report: RekeyedSecret
}

/**
 * Rekeys the selected secrets. Throws a `UsageError` (exit 2) for unknown names
 * or unusable recipients, before anything is decrypted; and an `OperationError`
 * (exit 1) listing every secret that could not be read, decrypted or written:
 * then every encrypted file is byte-identical to before. A passphrase-protected
 * identity is asked for at most once, since one identity set serves the run.
 */
export async function rekeySecrets(options: RekeyOptions): Promise<RekeyedSecret[]> {
    const config = await loadProjectConfig(
        { explicit: options.configFile, env: options.env, cwd: options.cwd })
    const secrets = selectSecrets(config, options.names)
    if (secrets.length === 0) return []

    const recipients = parseAll(secrets, config.file)
    const identities = await loadRunIdentities(
        { config, env: options.env, extra: [], report: options.report,
            passphrase: options.passphrase })

    const prepared: Prepared[] = []
    const failures: string[] = []
    for (const secret of secrets) {
        try {
            prepared.push(await prepare(secret, recipients.get(secret.name) ?? [], identities,
                options.cwd))
        } catch (err) {
            failures.push(messageOf(err))
        }
    }
    if (failures.length > 0) {
        throw new OperationError(`rekey changed nothing: ${failures.length} of ${secrets.length} `
            + "secret(s) could not be decrypted; fix the identities (identityPaths) or the files "
            + "listed below and run it again", { problems: failures })
    }

    if (!options.dryRun) await writeAll(prepared)
    return prepared.map((p) => p.report)
}

/** The line the CLI prints for one secret. */
export function describeRekey(secret: RekeyedSecret, dryRun: boolean): string {
    const count = `${secret.recipients} recipient${secret.recipients === 1 ? "" : "s"}`
    const verb = dryRun ? "would re-encrypt" : "re-encrypted"
    return `${secret.name}: ${verb} ${secret.source} to ${count}`
}

/** Parses every secret's recipients, all problems in one `UsageError`. */
function parseAll(secrets: SecretConfig[], file: string): Map<string, Recipient[]> {
    const parsed = new Map<string, Recipient[]>()
    const problems: string[] = []
    for (const secret of secrets) {
        const where = `${file}: recipients of ${secret.name}`
        try {
            parsed.set(secret.name, parseRecipients(
                secret.recipients.map((text) => ({ text, where })), `secret ${secret.name}`))
        } catch (err) {
            if (!(err instanceof UsageError)) throw err
            problems.push(...(err.problems.length > 0 ? err.problems : [err.message]))
        }
    }
    if (problems.length > 0) {
        throw new UsageError(`rekey changed nothing: the recipients in ${file} cannot all be `
            + "used; fix them and run it again", { problems })
    }
    return parsed
}

async function prepare(
    secret: SecretConfig, recipients: Recipient[],
    identities: IdentitySet, cwd: string,
): Promise<Prepared> {
    const source = displayPath(secret.source, cwd)
    const label = `secret ${secret.name} (${source})`

    let bytes: Uint8Array
    let mode: number
    try {
        mode = (await stat(secret.source)).mode & PERMISSION_BITS
        bytes = await readFile(secret.source)
    } catch (err) {
        const fix = errnoOf(err) === "ENOENT"
            ? `does not exist; create it with \`homeage edit ${secret.name}\``
            : `cannot be read: ${fsReason(err, secret.source)}`
        throw new OperationError(`${label} ${fix}`, { cause: err })
    }

    const plaintext = await decrypt(bytes, identities, label)
    const ciphertext = await encrypt(plaintext, recipients, { armor: isArmored(bytes) })
    const differences = recipientMismatches(
        { name: secret.name, source, ciphertext: bytes, recipients: secret.recipients })
    return {
        secret, ciphertext, mode,
        report: { name: secret.name, source, recipients: recipients.length, differences },
    }
}

/**
 * Writes every file beside its target first, then renames them all into
 * place: a failure or a signal while writing removes the new files and leaves
 * every old one as it was.
 */
async function writeAll(prepared: Prepared[]): Promise<void> {
    const interrupts = new Interrupts()
    const staged: StagedFile[] = []
    try {
        for (const item of prepared) {
            try {
                staged.push(await stageFile(item.secret.source, item.ciphertext, item.mode))
            } catch (err) {
                throw new OperationError("rekey changed nothing: cannot write beside "
                    + `${item.report.source}: ${fsReason(err, item.secret.source)}`, { cause: err })
            }
            interrupts.throwIfInterrupted("rekey (it changed nothing)")
        }

        for (const file of staged) await file.commit()
    } finally {
        for (const file of staged) await file.discard()
        interrupts.dispose()
    }
}
