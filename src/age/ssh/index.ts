/**
 * SSH keys in the age layer: ssh-ed25519 and ssh-rsa recipients (from
 * authorized_keys-style lines) and identities (from OpenSSH and PEM private
 * key files), writing and reading exactly the stanzas Go age's agessh does.
 */
import type { Recipient } from "../types.js"
import { Ed25519Recipient } from "./ed25519.js"
import { parsePublicKeyLine } from "./public-key.js"
import { RsaRecipient } from "./rsa.js"

export { isSshPublicKeyLine } from "./public-key.js"
export { loadSshIdentity, looksLikeSshPrivateKey } from "./identity.js"
export type { LoadSshIdentityOptions, SshIdentity } from "./identity.js"

/**
 * Parses an ssh-ed25519 or ssh-rsa public key line (`TYPE AAAA… [comment]`)
 * into a typage Recipient. Throws a `UsageError`, whose message never
 * holds key material, for other key types (naming the type), bad encoding, an
 * unusable Ed25519 point, or an RSA key below 2048 bits (naming its size):
 * such small keys are too weak to encrypt new files to.
 */
export function parseSshRecipient(line: string): Recipient {
    const key = parsePublicKeyLine(line)
    if (key.type === "ssh-ed25519") return new Ed25519Recipient(key)
    return new RsaRecipient(key)
}

