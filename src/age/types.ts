/**
 * Types shared across the age layer.
 */

/**
 * Supplies a passphrase for a protected key or file, given a prompt that names
 * it. Resolves to `undefined` when no passphrase can be asked for (no terminal
 * and no `HOMEAGE_ASKPASS`); the caller then skips that key with a message.
 */
export type PassphraseReader = (prompt: string) => Promise<string | undefined>
