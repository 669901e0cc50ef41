/**
 * SSH private keys as age identities. An unprotected key is ready at once. A
 * passphrase-protected key knows its public key (hence its tag) without the
 * passphrase, so it asks for the passphrase only when a file has a stanza with
 * its tag, and at most once per run: the outcome (key, skipped, or wrong
 * passphrase) is kept for the next file.
 */

import { OperationError } from "../../errors.js"
import type { Stanza } from "../format.js"
import { AskpassError, NO_PASSPHRASE_SOURCE } from "../passphrase.js"
import type { Identity, PassphraseReader } from "../types.js"
import { checkEd25519Stanza } from "./ed25519.js"
import { type PrivateKeyFile, type Unwrapper, readPemBlock, unwrapperOf } from "./keys.js"
import { OPENSSH_PEM_LABEL, parseOpenSshKey } from "./openssh.js"
import { parsePemKey } from "./pem.js"
import { type SshKeyType, formatPublicKeyLine, keyTag } from "./public-key.js"
import { checkRsaStanza } from "./rsa.js"
import { StanzaError } from "./stanza.js"

/** An SSH identity: a typage Identity plus what callers need to order and describe it. */
export interface SshIdentity extends Identity {
    readonly keyType: SshKeyType
    /** Whether using the key needs a passphrase (asked only when a stanza matches it). */
    readonly needsPassphrase: boolean
    /** The key file, as given to {@link loadSshIdentity}; used in every message. */
    readonly file: string
    /** The authorized_keys-style public key line (for `keygen -y` and `encrypt -i`). */
    readonly publicKey: string
    /**
     * Why this protected key was skipped (no way to ask for its passphrase, or
     * the askpass program failed); `undefined` while it was not.
     */
    readonly skipReason: string | undefined
}

/** Options of {@link loadSshIdentity}. */
export interface LoadSshIdentityOptions {
    /** Asked for the passphrase of a protected key, once, when a stanza matches it. */
    passphrase: PassphraseReader
    /**
     * Told once when a protected key is skipped because no passphrase can be
     * asked for, or the askpass program failed.
     */
    warn: (message: string) => void
    /** The content of FILE.pub, if it exists: the public key of a protected PEM key. */
    publicKeyText?: string
}

const PRIVATE_KEY_BEGIN = /^-----BEGIN (?:OPENSSH |RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY-----$/

/**
 * Whether file text looks like an SSH or PEM private key (OpenSSH, PKCS#1,
 * PKCS#8, EC or DSA PEM), judging by its BEGIN line only. Callers use it to
 * send a file to {@link loadSshIdentity} rather than the age identity parser.
 */
export function looksLikeSshPrivateKey(text: string): boolean {
    const firstLine = text.replace(/^\uFEFF/, "").trimStart().split("\n", 1)[0] ?? ""
    return PRIVATE_KEY_BEGIN.test(firstLine.trimEnd())
}

/**
 * Loads an SSH private key from its file text: an OpenSSH key (unprotected, or
 * protected with bcrypt-pbkdf and AES-CTR/CBC) or a PKCS#1 / PKCS#8 PEM key
 * (a protected PEM key needs `publicKeyText`, the content of FILE.pub).
 * Throws a `UsageError` naming `file` for unsupported key types (naming
 * the type), ciphers, or malformed files; never with key material in it.
 */
export function loadSshIdentity(
    text: string,
    file: string,
    options: LoadSshIdentityOptions,
): SshIdentity {
    const block = readPemBlock(text, file)
    const keyFile = block.label === OPENSSH_PEM_LABEL
        ? parseOpenSshKey(block.base64, file)
        : parsePemKey(text, block, file, options.publicKeyText)
    return new SshKeyIdentity(keyFile, file, options)
}

class SshKeyIdentity implements SshIdentity {
    readonly keyType: SshKeyType
    readonly needsPassphrase: boolean
    readonly publicKey: string
    skipReason: string | undefined
    private readonly tag: string
    private unlocking: Promise<Unwrapper | undefined> | undefined

    constructor(
        private readonly keyFile: PrivateKeyFile,
        readonly file: string,
        private readonly options: LoadSshIdentityOptions,
    ) {
        this.keyType = keyFile.publicKey.type
        this.needsPassphrase = keyFile.encrypted
        this.publicKey = formatPublicKeyLine(keyFile.publicKey)
        this.tag = keyTag(keyFile.publicKey.wire)
        if (!keyFile.encrypted) {
            this.unlocking = Promise.resolve(unwrapperOf(keyFile.open(undefined)))
        }
    }

    /**
     * Returns the file key from the first stanza with this key's type and tag,
     * or null when there is none (without asking for a passphrase) or the key
     * was skipped for want of one. Throws an `OperationError` naming the key
     * file for a matching stanza that is malformed or does not unwrap, and for
     * a wrong passphrase.
     */
    async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
        const ours = stanzas.filter((s) => s.args[0] === this.keyType && s.args[1] === this.tag)
        if (ours.length === 0) return null

        for (const stanza of ours) this.guard(() => { this.checkShape(stanza) })

        const unwrapper = await this.unlock()
        if (unwrapper === undefined) return null

        let firstError: unknown
        for (const stanza of ours) {
            try {
                return this.guard(() => unwrapper.unwrap(stanza))
            } catch (err) {
                firstError ??= err
            }
        }
        throw firstError
    }

    private checkShape(stanza: Stanza): void {
        if (this.keyType === "ssh-ed25519") checkEd25519Stanza(stanza)
        else checkRsaStanza(stanza)
    }

    /** Runs `step`, turning a {@link StanzaError} into an error naming the key file. */
    private guard<T>(step: () => T): T {
        try {
            return step()
        } catch (err) {
            if (!(err instanceof StanzaError)) throw err
            throw new OperationError(`the ${this.keyType} stanza for ${this.file} is invalid ` +
                `(${err.message}); the file is corrupted or was tampered with`, { cause: err })
        }
    }

    private unlock(): Promise<Unwrapper | undefined> {
        this.unlocking ??= this.readPassphraseAndOpen()
        return this.unlocking
    }

    private async readPassphraseAndOpen(): Promise<Unwrapper | undefined> {
        let passphrase: string | undefined
        try {
            passphrase = await this.options.passphrase(`Enter passphrase for ${this.file}: `)
        } catch (err) {
            if (!(err instanceof AskpassError)) throw err
            this.skip(err.detail, err.message)
            return undefined
        }
        if (passphrase === undefined) {
            this.skip(NO_PASSPHRASE_SOURCE, NO_PASSPHRASE_SOURCE)
            return undefined
        }

        return unwrapperOf(this.keyFile.open(passphrase))
    }

    /** Skips this key for the rest of the run, saying why once. */
    private skip(reason: string, message: string): void {
        this.skipReason = reason
        this.options.warn(`${this.file}: skipped this passphrase-protected key: ${message}`)
    }
}

