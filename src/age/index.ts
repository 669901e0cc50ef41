/**
 * The age layer: reading and writing the age format (age-encryption.org/v1)
 * in-process, for every key type of SPEC §2. Everything above this layer
 * (activation, commands) goes through these functions.
 */
import type { Recipient } from "age-encryption"

/** Supplies a passphrase for a key or file; `undefined` when none can be asked for. */
export type PassphraseReader = (prompt: string) => Promise<string | undefined>

/** Options for {@link loadIdentities}. */
export interface LoadIdentitiesOptions {
    /** Called for an unusable identity file (missing, unreadable, unsupported key type). */
    warn: (message: string) => void
    /**
     * Reads a passphrase for a protected SSH key or passphrase-encrypted identity
     * file, only when one is needed. Default: the terminal, or `HOMEAGE_ASKPASS`.
     */
    passphrase?: PassphraseReader
}

/**
 * The identities of one run, in the order they are tried: those needing no
 * passphrase first. Passphrase-protected ones are unlocked at most once per run,
 * and only when a file has a stanza that matches them.
 */
export interface IdentitySet {
    /** How many usable identities were loaded. */
    readonly size: number
    /** One line per identity file, for `-v` output: file and key type, never key material. */
    describe(): string[]
}

/**
 * Loads identity files: age identity files (X25519, post-quantum), passphrase-
 * encrypted identity files and SSH private keys. A file that cannot be used is
 * passed to `options.warn` and skipped; it throws only when no file is usable
 * and `required` is true.
 */
export declare function loadIdentities(
    paths: string[], options: LoadIdentitiesOptions): Promise<IdentitySet>

/**
 * Decrypts a whole age file (binary or armored, detected) in memory. The result
 * is returned only once the header MAC and every payload chunk are verified; on
 * any failure it throws an `OperationError` whose message starts with `what`
 * (for example `secret gh-token (secrets/gh-token.age)`) and says what to do.
 */
export declare function decrypt(
    ciphertext: Uint8Array, identities: IdentitySet, what: string): Promise<Uint8Array>

/**
 * Parses one recipient: `age1…`, `age1pq1…`, `ssh-ed25519 …` or `ssh-rsa …`.
 * Throws a `UsageError` naming `where` (a file and line, or a config key).
 */
export declare function parseRecipient(text: string, where: string): Recipient

/**
 * Encrypts `plaintext` to `recipients` (already parsed), binary or armored.
 */
export declare function encrypt(
    plaintext: Uint8Array,
    recipients: Recipient[],
    options?: { armor?: boolean },
): Promise<Uint8Array>
