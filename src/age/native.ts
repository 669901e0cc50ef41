/**
 * Native age keys: X25519 (`age1…`, `AGE-SECRET-KEY-1…`), implemented here
 * through node:crypto (see x25519.ts), and the post-quantum hybrid
 * (`age1pq1…`, `AGE-SECRET-KEY-PQ-1…`), implemented by typage.
 *
 * The hybrid stays with typage: ML-KEM-768 is not in node:crypto on the Node.js
 * versions we support, and a post-quantum unwrap is rare enough (one per file,
 * only for such keys) that its speed does not matter. typage and its
 * post-quantum code take a noticeable time to load, so they are loaded only
 * when a post-quantum key is used: parsing one checks its encoding here.
 *
 * typage exposes the hybrid keys only through its `Encrypter` and `Decrypter`,
 * which we do not use (we parse and stream the format ourselves to meet Go
 * age's strictness and to never release unverified plaintext). So a key is
 * handed to an `Encrypter`/`Decrypter`, and the `Recipient` or `Identity`
 * object it creates is taken from it. The package version is pinned exactly,
 * the shape is checked here, and the tests exercise the result.
 */
import type { Stanza } from "./format.js"
import type { Identity, Recipient } from "./types.js"
import type { Identity as TypageIdentity } from "age-encryption"

import { X25519Identity, X25519Recipient, decodeBech32 } from "./x25519.js"

/** The key types of native identity lines. */
export type NativeKeyType = "X25519" | "post-quantum"

/** The stanza type of the post-quantum hybrid. */
const HYBRID_STANZA_TYPE = "mlkem768x25519"

/** Bytes of a post-quantum identity's seed. */
const PQ_SEED_BYTES = 32

/** Bytes of a post-quantum recipient: an ML-KEM-768 key and an X25519 point. */
const PQ_RECIPIENT_BYTES = 1216

/** The key type of an `AGE-SECRET-KEY-…` line, or `undefined` for other text. */
export function nativeIdentityType(line: string): NativeKeyType | undefined {
    if (line.startsWith("AGE-SECRET-KEY-PQ-1")) return "post-quantum"
    if (line.startsWith("AGE-SECRET-KEY-1")) return "X25519"
    return undefined
}

/**
 * The identity for an `AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…` line.
 * Throws a plain `Error` (without the key) when the line is not a valid key;
 * callers add the file and line number.
 */
export function nativeIdentity(line: string): Identity {
    if (nativeIdentityType(line) === "post-quantum") return new HybridIdentity(line)
    return new X25519Identity(line)
}

/**
 * The recipient for an `age1…` or `age1pq1…` string. Throws a plain `Error`
 * when it is not valid.
 */
export function nativeRecipient(text: string): Recipient {
    if (text.startsWith("age1pq1")) return new HybridRecipient(text)
    return new X25519Recipient(text)
}

/** The `age1…` or `age1pq1…` recipient string of an identity line. */
export async function nativeRecipientLine(line: string): Promise<string> {
    const identity = nativeIdentity(line)
    if (identity instanceof X25519Identity) return identity.recipient

    const typage = await import("age-encryption")
    return typage.identityToRecipient(line)
}

/** A post-quantum identity: checked now, handed to typage when first used. */
class HybridIdentity implements Identity {
    private loaded: TypageIdentity | undefined

    constructor(private readonly line: string) {
        const decoded = decodeBech32(line, false)
        if (decoded?.prefix.toUpperCase() !== "AGE-SECRET-KEY-PQ-"
            || decoded.bytes.length !== PQ_SEED_BYTES) {
            throw new Error("invalid identity")
        }
    }

    async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
        if (!stanzas.some((s) => s.args[0] === HYBRID_STANZA_TYPE)) return null

        const typage = await import("age-encryption")
        this.loaded ??= (() => {
            const decrypter = new typage.Decrypter()
            decrypter.addIdentity(this.line)
            return held(decrypter, "identities", "unwrapFileKey") as TypageIdentity
        })()
        return this.loaded.unwrapFileKey(stanzas.map((s) => new typage.Stanza(s.args, s.body)))
    }
}

/** A post-quantum recipient: checked now, handed to typage when first used. */
class HybridRecipient implements Recipient {
    private loaded: Recipient | undefined

    constructor(private readonly text: string) {
        const decoded = decodeBech32(text, false)
        if (decoded?.prefix.toLowerCase() !== "age1pq"
            || decoded.bytes.length !== PQ_RECIPIENT_BYTES) {
            throw new Error("invalid recipient")
        }
    }

    async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
        const typage = await import("age-encryption")
        this.loaded ??= (() => {
            const encrypter = new typage.Encrypter()
            encrypter.addRecipient(this.text)
            return held(encrypter, "recipients", "wrapFileKey") as Recipient
        })()
        return this.loaded.wrapFileKey(fileKey)
    }
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
