/**
 * Fixtures for the authoring tests: throw-away homes, a real tmpfs as the
 * runtime dir, keys from the real age-keygen and ssh-keygen, files encrypted
 * and decrypted by the Go age binary, and a pseudo-terminal for the editor.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync }
    from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

import { CLI, type CliResult } from "../helpers/cli.js"

/** Size of the tmpfs a test mounts as the runtime dir. */
const TMPFS_SIZE = "8m"

/** Files larger than this (4 MiB) are not scanned for leftover plaintext. */
const MAX_SCANNED_FILE_BYTES = 4 * 1024 * 1024

/** A temporary folder tree for one test file. */
export interface Sandbox {
    root: string
    home: string
    configHome: string
    stateHome: string
    /** A tmpfs mounted by {@link mountRuntime}, used as `$XDG_RUNTIME_DIR`. */
    runtime: string
    env: NodeJS.ProcessEnv
}

/** Makes a sandbox under the system temporary folder (not yet with a tmpfs). */
export function makeSandbox(prefix: string): Sandbox {
    const root = mkdtempSync(join(tmpdir(), `homeage-${prefix}-`))
    const home = join(root, "home")
    const configHome = join(home, ".config")
    const stateHome = join(home, ".local", "state")
    const runtime = join(root, "run")
    for (const dir of [home, runtime]) mkdirSync(dir, { recursive: true })

    const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: home,
        USER: "tester",
        XDG_CONFIG_HOME: configHome,
        XDG_STATE_HOME: stateHome,
        XDG_RUNTIME_DIR: runtime,
        NO_COLOR: "1",
        TERM: "dumb",
    }
    return { root, home, configHome, stateHome, runtime, env }
}

/** Mounts a real tmpfs (0700) on the sandbox's runtime dir; needs root. */
export function mountRuntime(box: Sandbox): void {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_SIZE},mode=0700`, "tmpfs",
        box.runtime])
}

/** Unmounts the runtime tmpfs (if mounted) and removes the sandbox. */
export function removeSandbox(box: Sandbox): void {
    spawnSync("umount", [box.runtime])
    rmSync(box.root, { recursive: true, force: true })
}

/** A new X25519 key from age-keygen: the identity file and its recipient. */
export function ageKey(file: string): string {
    execFileSync("age-keygen", ["-o", file], { stdio: "ignore" })
    return execFileSync("age-keygen", ["-y", file], { encoding: "utf8" }).trim()
}

/** A new unencrypted ssh-ed25519 key from ssh-keygen: returns the public key line. */
export function sshKey(file: string): string {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", file])
    return readFileSync(`${file}.pub`, "utf8").trim()
}

/** Encrypts `plaintext` with Go age to `recipients`, optionally armored. */
export function ageEncrypt(plaintext: string, recipients: string[], armor = false): Buffer {
    const args = recipients.flatMap((r) => ["-r", r])
    if (armor) args.push("-a")
    return execFileSync("age", ["-e", ...args], { input: plaintext })
}

/** Encrypts with Go age to the recipients in files (`-R`, for SSH public keys). */
export function ageEncryptToFiles(plaintext: string, files: string[]): Buffer {
    return execFileSync("age", ["-e", ...files.flatMap((f) => ["-R", f])], { input: plaintext })
}

/** Decrypts `file` with Go age and one identity: the plaintext, or `undefined` if it fails. */
export function ageDecrypt(file: string, identity: string): string | undefined {
    const r = spawnSync("age", ["-d", "-i", identity, file], { encoding: "utf8" })
    return r.status === 0 ? r.stdout : undefined
}

/** Writes an executable shell script. */
export function writeScript(file: string, body: string): string {
    writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 })
    return file
}

function shellQuote(word: string): string {
    return `'${word.replaceAll("'", "'\\''")}'`
}

/**
 * Runs `homeage ARGS…` with a pseudo-terminal as its standard input and output
 * (through util-linux `script`), as a user at a terminal runs it, so that `edit`
 * runs the editor. Output of both streams arrives in `stdout`.
 */
export function runInTerminal(args: string[], options: { env: NodeJS.ProcessEnv, cwd: string },
): Promise<CliResult> {
    const command = [process.execPath, CLI, ...args].map(shellQuote).join(" ")
    return new Promise((resolve, reject) => {
        const child = spawn("script", ["-qec", command, "/dev/null"], {
            cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"],
        })
        const out: Buffer[] = []
        const err: Buffer[] = []
        child.stdout.on("data", (b: Buffer) => out.push(b))
        child.stderr.on("data", (b: Buffer) => err.push(b))
        child.on("error", reject)
        child.on("close", (code, signal) => {
            const stdoutBytes = Buffer.concat(out)
            resolve({
                code, signal, stdoutBytes,
                stdout: stdoutBytes.toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            })
        })
    })
}

/**
 * Every file under `folders` (recursively, not following symlinks) whose bytes
 * contain one of `needles`. Unreadable entries are skipped.
 */
export function filesContaining(folders: string[], needles: string[]): string[] {
    const found: string[] = []
    const patterns = needles.map((n) => Buffer.from(n))
    const visit = (path: string): void => {
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
            for (const name of names) visit(join(path, name))
            return
        }
        if (!st.isFile() || st.size > MAX_SCANNED_FILE_BYTES) return
        try {
            const bytes = readFileSync(path)
            if (patterns.some((p) => bytes.includes(p))) found.push(path)
        } catch {
            return
        }
    }
    for (const folder of folders) visit(folder)
    return found
}

/** The entries of a folder, empty when it does not exist. */
export function entries(folder: string): string[] {
    try {
        return readdirSync(folder)
    } catch {
        return []
    }
}
