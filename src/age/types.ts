/**
 * Types shared across the age layer.
 */
import type { Stanza } from "./format.js"

/**
 * Unwraps file keys from header stanzas: one key of any type. The same shape
 * as typage's `Identity`, so that typage's identities fit too.
 */
export interface Identity {
    /**
     * The file key, if a stanza is for this identity and opens with it;
     * `null` when none is. Throws only for a stanza meant for this identity
     * that is malformed or invalid.
     */
    unwrapFileKey(stanzas: Stanza[]): Uint8Array | null | Promise<Uint8Array | null>
}

/** Wraps file keys into stanzas, for one recipient; typage's `Recipient` shape. */
export interface Recipient {
    /** The stanzas that carry `fileKey` (16 bytes) to this recipient. */
    wrapFileKey(fileKey: Uint8Array): Stanza[] | Promise<Stanza[]>
}

/**
 * Supplies a passphrase for a protected key or file, given a prompt that names
 * it. Resolves to `undefined` when no passphrase can be asked for (no terminal
 * and no `HOMEAGE_ASKPASS`); the caller then skips that key with a message.
 */
export type PassphraseReader = (prompt: string) => Promise<string | undefined>
