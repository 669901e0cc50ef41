/**
 * The age layer: reading and writing the age format (age-encryption.org/v1)
 * in-process, for every key type of SPEC §2. Everything above this layer
 * (activation, commands) goes through these functions.
 */
import type { Recipient } from "./types.js"

import { loadedIdentities } from "./identities.js"
import type { IdentitySet } from "./identities.js"

export type { Identity, PassphraseReader, Recipient } from "./types.js"
export type { Stanza } from "./format.js"
export type { IdentityLine, IdentitySet, LoadIdentitiesOptions } from "./identities.js"
export {
    identitiesFromBytes, loadIdentities, parseIdentityFile, passphraseIdentities,
} from "./identities.js"
export { outputTarget, writeThroughTemp } from "./files.js"
export { decrypt, decryptStream, decryptToFile, openInput } from "./decrypt.js"
export { encrypt, encryptStream } from "./encrypt.js"
export type { EncryptOptions } from "./encrypt.js"
export { DecryptError } from "./failure.js"
export type { DecryptFailureKind } from "./failure.js"
export { parseRecipient, parseRecipientLines, parseRecipientsFile } from "./recipients.js"
export {
    ASKPASS_TIMEOUT_MS, ASKPASS_VARIABLE, AskpassError, canAskPassphrase, readPassphrase,
    usesAskpass,
} from "./passphrase.js"
export { fileReason } from "./file-errors.js"
export type { FileUse } from "./file-errors.js"
export {
    SCRYPT_ENCRYPT_WORK_FACTOR, SCRYPT_MAX_WORK_FACTOR, ScryptIdentity, ScryptRecipient,
} from "./scrypt.js"
export type { ByteSource } from "./reader.js"
export type { ChunkSink } from "./stream.js"

/**
 * The recipient strings (`age1…`, `age1pq1…`, `ssh-… AAAA…`) of every identity
 * in `identities`, in file order; a passphrase-encrypted identity file is
 * unlocked (asking its passphrase) to read them.
 */
export function recipientLinesOf(identities: IdentitySet): Promise<string[]> {
    return loadedIdentities(identities).recipientLines()
}

/** The recipients of every identity in `identities`, to encrypt to them (`encrypt -i`). */
export function recipientsOf(identities: IdentitySet): Promise<Recipient[]> {
    return loadedIdentities(identities).recipients()
}
