/**
 * The recipients a secret is encrypted to: those the config declares for it,
 * or, for a file outside the config, those of `-r` and `-R`. Every unusable
 * recipient is reported in one `UsageError`, so a user fixes them in one go.
 */
import type { Recipient } from "age-encryption"

import { parseRecipient, parseRecipientsFile } from "../age/index.js"
import { UsageError, messageOf } from "../errors.js"

/** One recipient as written, and where: `homeage.toml: recipients of gh`, `-r`, … */
export interface RecipientSource {
    text: string
    where: string
}

/**
 * Parses every recipient, collecting all problems into one `UsageError`
 * (exit 2). `subject` names what they are for, e.g. `secret gh-token`; an
 * empty list is an error too, since nothing could decrypt the result.
 */
export function parseRecipients(sources: RecipientSource[], subject: string): Recipient[] {
    if (sources.length === 0) {
        throw new UsageError(`${subject} has no recipients; add \`recipients = ["age1…"]\` `
            + "to the config (top level or the secret's table)")
    }

    const parsed: Recipient[] = []
    const problems: string[] = []
    for (const source of sources) {
        try {
            parsed.push(parseRecipient(source.text, source.where))
        } catch (err) {
            problems.push(messageOf(err))
        }
    }
    if (problems.length > 0) {
        throw new UsageError(`${subject}: ${problems.length} recipient(s) cannot be used`,
            { problems })
    }
    return parsed
}

/**
 * The recipients of `-r` values and `-R` recipients files (age's format), in
 * that order, all problems in one `UsageError`.
 */
export async function recipientsFromFlags(
    flags: string[], files: string[], subject: string,
): Promise<Recipient[]> {
    const parsed: Recipient[] = []
    const problems: string[] = []
    for (const text of flags) {
        try {
            parsed.push(parseRecipient(text, "-r"))
        } catch (err) {
            problems.push(messageOf(err))
        }
    }
    for (const file of files) {
        try {
            parsed.push(...await parseRecipientsFile(file))
        } catch (err) {
            problems.push(messageOf(err))
        }
    }
    if (problems.length > 0) {
        throw new UsageError(`${subject}: ${problems.length} recipient(s) cannot be used`,
            { problems })
    }
    return parsed
}
