/**
 * Fixtures for the SSH tests: keys made by the real ssh-keygen in a temp
 * folder, the real Go age binary, and typage's Encrypter/Decrypter driven with
 * the SSH recipients and identities under test.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

import { Decrypter, Encrypter, armor } from "age-encryption"

import type { PassphraseReader } from "../../src/age/types.js"
import { type SshIdentity, loadSshIdentity, parseSshRecipient } from "../../src/age/ssh/index.js"

/** Passphrase of the protected test keys (ssh-keygen wants 5 characters or more for PEM). */
export const PASSPHRASE = "correct horse battery"

/** A fresh temp folder and a function that removes it. */
export function tempDir(prefix: string): { dir: string, remove: () => void } {
    const dir = mkdtempSync(join(tmpdir(), `homeage-${prefix}-`))
    return { dir, remove: () => { rmSync(dir, { recursive: true, force: true }) } }
}

/** Runs a program to completion; throws with its stderr if it fails. */
export function run(program: string, args: string[], input?: Uint8Array): Buffer {
    const r = spawnSync(program, args, { input, maxBuffer: 64 * 1024 * 1024 })
    if (r.status !== 0) {
        throw new Error(`${program} ${args.join(" ")} failed (${r.status}): ${r.stderr.toString()}`)
    }
    return r.stdout
}

/** Runs a program and returns its exit status and stderr, without throwing. */
export function runStatus(
    program: string, args: string[],
): { status: number | null, stderr: string } {
    const r = spawnSync(program, args)
    return { status: r.status, stderr: r.stderr.toString() }
}

/** Makes a key with ssh-keygen: `ssh-keygen -q -t TYPE -N PASS -f DIR/NAME EXTRA…`. */
export function sshKeygen(
    dir: string, name: string, type: string, options: { bits?: number, passphrase?: string,
        extra?: string[] } = {},
): string {
    const path = join(dir, name)
    const args = ["-q", "-t", type, "-N", options.passphrase ?? "", "-C", `${name}@test`,
        "-f", path]
    if (options.bits !== undefined) args.push("-b", String(options.bits))
    run("ssh-keygen", [...args, ...(options.extra ?? [])])
    return path
}

/**
 * Copies a key and re-protects the copy with `ssh-keygen -p`: a new
 * passphrase and, with `format`, a new file format (PEM = PKCS#1, PKCS8).
 */
export function convertKey(
    from: string, to: string, options: { oldPassphrase?: string, passphrase?: string,
        format?: "PEM" | "PKCS8" | "RFC4716" } = {},
): string {
    writeFileSync(to, readFileSync(from), { mode: 0o600 })
    writeFileSync(`${to}.pub`, readFileSync(`${from}.pub`))
    const args = ["-q", "-p", "-P", options.oldPassphrase ?? "", "-N", options.passphrase ?? "",
        "-f", to]
    if (options.format !== undefined) args.push("-m", options.format)
    run("ssh-keygen", args)
    return to
}

/** What a passphrase reader was asked, and a reader answering `answer`. */
export function countingReader(answer: string | undefined): {
    reader: PassphraseReader, prompts: string[],
} {
    const prompts: string[] = []
    const reader: PassphraseReader = (prompt) => {
        prompts.push(prompt)
        return Promise.resolve(answer)
    }
    return { reader, prompts }
}

/** Loads a key file as an identity, with FILE.pub if it exists, as callers do. */
export function loadKey(
    path: string, options: { passphrase?: PassphraseReader, warn?: (m: string) => void } = {},
): SshIdentity {
    const pub = `${path}.pub`
    return loadSshIdentity(readFileSync(path, "utf8"), path, {
        passphrase: options.passphrase ?? countingReader(PASSPHRASE).reader,
        warn: options.warn ?? (() => undefined),
        publicKeyText: existsSync(pub) ? readFileSync(pub, "utf8") : undefined,
    })
}

/** Decrypts an age file (armor detected) with the given identities through typage. */
export async function decryptWith(
    identities: SshIdentity[], file: Uint8Array,
): Promise<Uint8Array> {
    const d = new Decrypter()
    for (const identity of identities) d.addIdentity(identity)

    const text = Buffer.from(file.subarray(0, 40)).toString("latin1")
    const binary = text.includes("-----BEGIN AGE ENCRYPTED FILE-----")
        ? armor.decode(Buffer.from(file).toString("utf8"))
        : file
    return d.decrypt(binary)
}

/** Encrypts to SSH public key lines through typage, binary or armored. */
export async function encryptTo(
    publicKeyLines: string[], plaintext: Uint8Array, armored: boolean,
): Promise<Uint8Array> {
    const e = new Encrypter()
    for (const line of publicKeyLines) e.addRecipient(parseSshRecipient(line))

    const binary = await e.encrypt(plaintext)
    return armored ? new TextEncoder().encode(armor.encode(binary)) : binary
}

/** Plaintext sizes every interop case covers: empty, one byte, one chunk, a chunk + 1, MiBs. */
export const PLAINTEXT_SIZES = [0, 1, 65536, 65537, 3 * 1024 * 1024 + 17]

/** Deterministic, non-repeating-looking bytes of a given size. */
export function plaintextOf(size: number): Uint8Array {
    const out = new Uint8Array(size)
    let x = 0x9e3779b9 ^ size
    for (let i = 0; i < size; i++) {
        x ^= x << 13
        x ^= x >>> 17
        x ^= x << 5
        out[i] = x & 0xff
    }
    return out
}

/**
 * 12-character slices of a key file's base64 (the PEM body of a private key,
 * the key field of a .pub line), to check that no message quotes key material.
 */
export function keyMaterialFragments(path: string): string[] {
    const text = readFileSync(path, "utf8")
    const body = path.endsWith(".pub")
        ? text.split(/\s+/)[1] ?? ""
        : text.split("\n").filter((l) => l !== "" && !l.startsWith("-----") && !l.includes(":"))
            .join("")
    const out: string[] = []
    for (let i = 0; i + 12 <= body.length; i += 6) out.push(body.slice(i, i + 12))
    return out
}
