/**
 * Native age keys, X25519 (`age1…`, `AGE-SECRET-KEY-1…`) and the post-quantum
 * hybrid (`age1pq1…`, `AGE-SECRET-KEY-PQ-1…`), implemented by typage.
 *
 * typage exposes these only through its `Encrypter` and `Decrypter`, which we
 * do not use (we parse and stream the format ourselves to meet Go age's
 * strictness and to never release unverified plaintext). So a key is handed to
 * an `Encrypter`/`Decrypter`, which validates it, and the `Recipient` or
 * `Identity` object it creates is taken from it. The package version is pinned
 * exactly, the shape is checked here, and the test vectors exercise the result.
 */
import { Decrypter, Encrypter } from "age-encryption"
import type { Identity, Recipient } from "age-encryption"

/** The key types of native identity lines. */
export type NativeKeyType = "X25519" | "post-quantum"

/** The key type of an `AGE-SECRET-KEY-…` line, or `undefined` for other text. */
export function nativeIdentityType(line: string): NativeKeyType | undefined {
    if (line.startsWith("AGE-SECRET-KEY-PQ-1")) return "post-quantum"
    if (line.startsWith("AGE-SECRET-KEY-1")) return "X25519"
    return undefined
}

/**
 * The typage identity for an `AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…`
 * line. Throws a plain `Error` (without the key) when the line is not a valid
 * key; callers add the file and line number.
 */
export function nativeIdentity(line: string): Identity {
    const decrypter = new Decrypter()
    try {
        decrypter.addIdentity(line)
    } catch {
        throw new Error("invalid identity")
    }
    return held(decrypter, "identities", "unwrapFileKey") as Identity
}

/**
 * The typage recipient for an `age1…` or `age1pq1…` string. Throws a plain
 * `Error` when it is not valid.
 */
export function nativeRecipient(text: string): Recipient {
    const encrypter = new Encrypter()
    try {
        encrypter.addRecipient(text)
    } catch {
        throw new Error("invalid recipient")
    }
    return held(encrypter, "recipients", "wrapFileKey") as Recipient
}

function held(owner: object, field: string, method: string): object {
    const list = (owner as Record<string, unknown>)[field]
    const item: unknown = Array.isArray(list) ? list[0] : undefined
    if (typeof item !== "object" || item === null
        || typeof (item as Record<string, unknown>)[method] !== "function") {
        throw new Error(`age-encryption changed shape: no ${field}[0].${method}`)
    }
    return item
}
