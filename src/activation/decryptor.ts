/**
 * The identities of one run, loaded through the age layer only when some
 * secret has to be decrypted, so that a no-op activation prompts for nothing.
 */
import * as age from "../age/index.js"
import { messageOf } from "../errors.js"

/** Decrypts secrets with the identities of one run. */
export interface Decryptor {
    /** How many identities are usable; 0 means nothing can be decrypted. */
    readonly usable: number
    /** One line per identity file for `-v`, never key material. */
    describe(): string[]
    /**
     * Decrypts a whole source, verifying the MAC and every chunk before
     * returning; throws an error whose message starts with `what`.
     */
    decrypt(ciphertext: Uint8Array, what: string): Promise<Uint8Array>
}

/**
 * Loads the identity files `paths`. Unusable files are passed to `warn`;
 * the result's `usable` says whether any identity is left.
 */
export async function openIdentities(
    paths: string[], warn: (message: string) => void,
): Promise<Decryptor> {
    const identities = await age.loadIdentities(paths, { warn, identityHint: "identityPaths" })
    return {
        usable: identities.size,
        describe: () => identities.describe(),
        decrypt: (ciphertext, what) => age.decrypt(ciphertext, identities, what),
    }
}

/** The message of a failed decryption, with the secret named even if the layer did not. */
export function decryptProblem(err: unknown, what: string): string {
    const message = messageOf(err)
    return message.startsWith(what) ? message : `${what}: ${message}`
}
