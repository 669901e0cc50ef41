/**
 * The ways decrypting an age file can fail, in the words of the C2SP test
 * vectors, so that callers and tests can tell them apart without parsing
 * messages.
 */
import { OperationError } from "../errors.js"

/**
 * Why a file did not decrypt:
 * - `armor`: the ASCII armor is malformed;
 * - `header`: the header is malformed, or a stanza meant for one of our
 *   identities is invalid;
 * - `no-match`: no identity can unwrap any stanza;
 * - `hmac`: a file key was unwrapped but the header MAC does not match;
 * - `truncated`: the file ends before its payload does;
 * - `payload`: a payload chunk failed authentication, or data follows the end.
 */
export type DecryptFailureKind =
    "armor" | "header" | "no-match" | "hmac" | "truncated" | "payload"

/**
 * A problem found in the bytes of an age file, before the file is named;
 * {@link DecryptError} adds which file it was.
 */
export class FormatProblem extends Error {
    override readonly name = "FormatProblem"

    constructor(readonly kind: DecryptFailureKind, detail: string, options?: { cause?: unknown }) {
        super(detail, options)
    }
}

/**
 * An age file that could not be decrypted; exit status 1. No byte of its
 * plaintext has been released when this is thrown.
 */
export class DecryptError extends OperationError {

    constructor(
        readonly kind: DecryptFailureKind,
        message: string,
        options?: { cause?: unknown, problems?: readonly string[] },
    ) {
        super(message, options)
    }
}
