/**
 * What the ssh-ed25519 and ssh-rsa stanza modules share: the file key size
 * and the error they throw for a stanza that carries a key's tag but is not
 * valid for it (malformed, forged or corrupted).
 */

/** Size of an age file key, in bytes. */
export const FILE_KEY_BYTES = 16

/**
 * Thrown when a stanza carries this key's tag but cannot be unwrapped. The
 * identity turns it into an error naming the key file; its message never
 * holds key material.
 */
export class StanzaError extends Error {
    override readonly name = "StanzaError"
}
