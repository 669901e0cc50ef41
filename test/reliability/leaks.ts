/**
 * Scanning for leaked secrets: the plaintexts and key material of a suite's
 * test secrets (distinctive random tokens, so a hit is unambiguous) searched
 * byte for byte in folders and in everything the CLI printed. Places where
 * plaintext belongs (the runtime dir, declared copies, the identity files
 * themselves) are excluded by the caller.
 */
import { randomBytes } from "node:crypto"
import { lstatSync, readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"

/** Files larger than this are not read (bytes: 32 MiB); test files are far smaller. */
const MAX_SCANNED_BYTES = 32 * 1024 * 1024

/** Shortest base64 line of a private key used as a needle (characters). */
const MIN_KEY_LINE = 40

/** Lines at the start of an OpenSSH key body that hold only public, common data. */
const PUBLIC_KEY_LINES = 3

/** Something that must not appear anywhere it does not belong. */
export interface Needle {
    label: string
    bytes: Buffer
}

/** One place a needle was found. */
export interface Hit {
    where: string
    label: string
}

/** A distinctive token to put in a test plaintext: `tag` plus 24 random hex digits. */
export function token(tag: string): string {
    return `${tag}-${randomBytes(12).toString("hex")}`
}

/** Needles for a plaintext token: as is, and hex encoded (as a careless log would print it). */
export function plaintextNeedles(label: string, text: string): Needle[] {
    const raw = Buffer.from(text)
    return [
        { label, bytes: raw },
        { label: `${label} (hex)`, bytes: Buffer.from(raw.toString("hex")) },
    ]
}

/** Needles for an age identity file: each `AGE-SECRET-KEY-…` line, upper and lower case. */
export function ageIdentityNeedles(label: string, file: string): Needle[] {
    const keys = readFileSync(file, "utf8").split(/\r?\n/)
        .filter((l) => l.startsWith("AGE-SECRET-KEY-"))
    return keys.flatMap((key) => [
        { label, bytes: Buffer.from(key) },
        { label: `${label} (lower case)`, bytes: Buffer.from(key.toLowerCase()) },
    ])
}

/**
 * Needles for an SSH private key file: the base64 lines of its body that hold
 * private bytes (OpenSSH: after the public header lines; PEM: every full line).
 */
export function sshKeyNeedles(label: string, file: string): Needle[] {
    const lines = readFileSync(file, "utf8").split(/\r?\n/)
    const body = lines.filter((l) => !l.startsWith("-----") && !l.includes(":") && l !== "")
    const openssh = lines[0]?.includes("OPENSSH") === true
    return body.slice(openssh ? PUBLIC_KEY_LINES : 1)
        .filter((l) => l.length >= MIN_KEY_LINE)
        .map((l, i) => ({ label: `${label} line ${i + 1}`, bytes: Buffer.from(l) }))
}

/** Needles for a passphrase. */
export function passphraseNeedles(label: string, passphrase: string): Needle[] {
    return [{ label, bytes: Buffer.from(passphrase) }]
}

/** Options of {@link scanTree}. */
export interface ScanOptions {
    /** Paths (files or folders) not scanned: where plaintext or keys belong. */
    exclude: string[]
}

/** What a scan looked at and found. */
export interface ScanResult {
    files: number
    hits: Hit[]
}

function searchBytes(data: Buffer, where: string, needles: Needle[], hits: Hit[]): void {
    for (const needle of needles) {
        if (data.includes(needle.bytes)) hits.push({ where, label: needle.label })
    }
}

/**
 * Searches every regular file under `roots` (symlinks are not followed) for
 * every needle. Files that vanish or cannot be read while scanning (other
 * tests run meanwhile) are skipped.
 */
export function scanTree(roots: string[], needles: Needle[], options: ScanOptions): ScanResult {
    const excluded = new Set(options.exclude)
    const result: ScanResult = { files: 0, hits: [] }
    const seen = new Set<string>()

    const walk = (path: string): void => {
        if (excluded.has(path) || seen.has(path)) return
        seen.add(path)
        let st
        try {
            st = lstatSync(path)
        } catch {
            return
        }
        if (st.isDirectory()) {
            let names: string[] = []
            try {
                names = readdirSync(path)
            } catch {
                return
            }
            for (const name of names) walk(join(path, name))
            return
        }
        if (!st.isFile() || st.size > MAX_SCANNED_BYTES) return
        let data: Buffer
        try {
            data = readFileSync(path)
        } catch {
            return
        }
        result.files++
        searchBytes(data, path, needles, result.hits)
    }

    for (const root of roots) walk(root)
    return result
}

/** Searches printed output (every run's stdout and stderr) for every needle. */
export function scanOutput(outputs: string[], needles: Needle[]): Hit[] {
    const hits: Hit[] = []
    for (const [i, text] of outputs.entries()) {
        searchBytes(Buffer.from(text), `output of run ${i + 1}`, needles, hits)
    }
    return hits
}
