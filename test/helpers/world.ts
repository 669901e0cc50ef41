/**
 * A throwaway user world for activation tests: a temporary HOME, a runtime
 * dir on a real tmpfs (mounted here; the tests run as root), a dotfiles
 * folder with a config, and an identity and secrets made by the Go `age` and
 * `age-keygen` binaries. Snapshots record every path, byte, mode and mtime so
 * a test can prove that nothing changed.
 */
import { execFileSync } from "node:child_process"
import {
    lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync,
    writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

import { runCli, type CliResult } from "./cli.js"

/** One path of a snapshot. */
export interface Entry {
    kind: "file" | "folder" | "symlink" | "other"
    mode: number
    mtimeMs: number
    uid: number
    content?: string
}

/** Every path under some roots, with what a user would compare. */
export type Snapshot = Map<string, Entry>

/** A test world; call {@link World.destroy} in `after`. */
export interface World {
    root: string
    home: string
    run: string
    dotfiles: string
    identity: string
    recipient: string
    configFile: string
    /** Encrypts `text` with the Go age binary into `dotfiles/secrets/NAME.age`. */
    encrypt(name: string, text: string): string
    /** Writes the config file (TOML). */
    config(toml: string): void
    /** Runs homeage with the world's environment plus `extra`. */
    cli(args: string[], extra?: NodeJS.ProcessEnv): Promise<CliResult>
    /** The environment the CLI runs with. */
    env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv
    /** A snapshot of HOME and the runtime dir (or of `paths`). */
    snapshot(paths?: string[]): Snapshot
    /** Unmounts the tmpfs and removes everything. */
    destroy(): void
}

/** Mounts a 16 MiB tmpfs at `dir` (mode 0700). */
export function mountTmpfs(dir: string): void {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", dir])
}

/** Reads a whole tree into a snapshot. */
export function snapshotOf(paths: string[]): Snapshot {
    const snap: Snapshot = new Map()
    const walk = (path: string): void => {
        let st
        try {
            st = lstatSync(path)
        } catch {
            return
        }
        const base = { mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, uid: st.uid }
        if (st.isSymbolicLink()) {
            snap.set(path, { kind: "symlink", ...base, content: readlinkSync(path) })
        } else if (st.isFile()) {
            snap.set(path, { kind: "file", ...base, content: readFileSync(path, "hex") })
        } else if (st.isDirectory()) {
            snap.set(path, { kind: "folder", ...base })
            for (const name of readdirSync(path).sort()) walk(join(path, name))
        } else {
            snap.set(path, { kind: "other", ...base })
        }
    }
    for (const path of paths) walk(path)
    return snap
}

/** Creates a world with a fresh identity and an empty dotfiles folder. */
export function makeWorld(): World {
    const root = mkdtempSync(join(tmpdir(), "homeage-act-"))
    const home = join(root, "home")
    const run = join(root, "run")
    const dotfiles = join(root, "dotfiles")
    for (const dir of [home, run, join(dotfiles, "secrets"), join(home, "keys")]) {
        mkdirSync(dir, { recursive: true })
    }
    mountTmpfs(run)

    const identity = join(home, "keys", "identity.txt")
    execFileSync("age-keygen", ["-o", identity], { stdio: "ignore" })
    const recipient = execFileSync("age-keygen", ["-y", identity], { encoding: "utf8" }).trim()
    const configFile = join(dotfiles, "homeage.toml")

    const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
        PATH: process.env.PATH,
        HOME: home,
        USER: "root",
        XDG_RUNTIME_DIR: run,
        HOMEAGE_CONFIG: configFile,
        NO_COLOR: "1",
        ...extra,
    })

    return {
        root, home, run, dotfiles, identity, recipient, configFile,
        encrypt(name, text) {
            const out = join(dotfiles, "secrets", `${name}.age`)
            execFileSync("age", ["-r", recipient, "-o", out], { input: text })
            return out
        },
        config(toml) {
            writeFileSync(configFile, "identityPaths = [\"~/keys/identity.txt\"]\n" +
                `installationType = "activation"\n${toml}`)
        },
        env,
        cli: (args, extra) => runCli(args, { env: env(extra), cwd: root }),
        snapshot: (paths) => snapshotOf(paths ?? [home, run]),
        destroy() {
            try {
                execFileSync("umount", [run])
            } finally {
                rmSync(root, { recursive: true, force: true })
            }
        },
    }
}

/** The differences between two snapshots, one line per path, for assertion messages. */
export function diffSnapshots(before: Snapshot, after: Snapshot): string[] {
    const lines: string[] = []
    for (const [path, entry] of before) {
        const now = after.get(path)
        if (now === undefined) lines.push(`removed ${path}`)
        else if (JSON.stringify(now) !== JSON.stringify(entry)) lines.push(`changed ${path}`)
    }
    for (const path of after.keys()) if (!before.has(path)) lines.push(`added ${path}`)
    return lines
}
