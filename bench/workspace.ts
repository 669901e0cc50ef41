/**
 * The benchmark's scratch space: a temp folder for fixtures, a tmpfs mounted
 * inside it for runtime dirs and decrypted outputs (when running as root),
 * and the age identity everything is encrypted to. Everything is removed and
 * unmounted at the end, also on Ctrl-C.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { mkdir } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

import { run } from "./processes.js"

/** Size limit of the benchmark's tmpfs; only what is written uses memory (1 GiB). */
const TMPFS_SIZE = "1g"

/** The CLI entry point, as a user runs it. */
export const HOMEAGE_BIN = fileURLToPath(new URL("../../bin/homeage.js", import.meta.url))

/** A temp folder with a memory-backed sub-folder and an X25519 identity. */
export class Workspace {
    /** Whether {@link memoryDir} is a tmpfs (else a plain folder on disk). */
    readonly onTmpfs: boolean

    private constructor(
        /** The temp folder holding every fixture. */
        readonly root: string,
        /** Where runtime dirs and decrypted outputs go: a tmpfs when possible. */
        readonly memoryDir: string,
        onTmpfs: boolean,
        /** The X25519 identity file (`age-keygen`). */
        readonly identityFile: string,
        /** Its recipient, `age1…`. */
        readonly recipient: string,
    ) {
        this.onTmpfs = onTmpfs
    }

    /**
     * Creates the temp folder, mounts a tmpfs in it when running as root
     * (falling back to a plain folder otherwise, which the caller reports), and
     * makes the X25519 identity with `age-keygen`.
     */
    static async create(): Promise<Workspace> {
        const root = mkdtempSync(join(tmpdir(), "homeage-bench-"))
        const memoryDir = join(root, "memory")
        const identityFile = join(root, "identity.txt")
        let onTmpfs = false
        try {
            await mkdir(memoryDir, { mode: 0o700 })
            onTmpfs = mountTmpfs(memoryDir)

            await run({ program: "age-keygen", args: ["-o", identityFile] })
            const recipient = (await run({ program: "age-keygen", args: ["-y", identityFile] }))
                .stdout.trim()
            return new Workspace(root, memoryDir, onTmpfs, identityFile, recipient)
        } catch (err) {
            new Workspace(root, memoryDir, onTmpfs, identityFile, "").dispose()
            throw err
        }
    }

    /** Unmounts the tmpfs and removes the temp folder; synchronous, for signal handlers. */
    dispose(): void {
        if (this.onTmpfs) {
            const done = spawnSync("umount", [this.memoryDir]).status === 0
            if (!done) spawnSync("umount", ["-l", this.memoryDir])
        }
        rmSync(this.root, { recursive: true, force: true })
    }

    /** A path inside the temp folder. */
    path(...parts: string[]): string {
        return join(this.root, ...parts)
    }

    /** A path inside the memory-backed folder. */
    memory(...parts: string[]): string {
        return join(this.memoryDir, ...parts)
    }

    /** The environment of every homeage run: nothing inherited but PATH and the user. */
    homeageEnv(home: string, runtimeParent: string, config: string): NodeJS.ProcessEnv {
        return {
            PATH: process.env.PATH,
            USER: process.env.USER,
            HOME: home,
            XDG_RUNTIME_DIR: runtimeParent,
            HOMEAGE_CONFIG: config,
            NO_COLOR: "1",
        }
    }
}

function mountTmpfs(dir: string): boolean {
    if (process.getuid?.() !== 0) return false
    const result = spawnSync("mount",
        ["-t", "tmpfs", "-o", `size=${TMPFS_SIZE},mode=0700`, "tmpfs", dir])
    return result.status === 0
}

/** The version line of the Go `age` binary, for the notes. */
export async function ageVersion(): Promise<string> {
    return (await run({ program: "age", args: ["--version"] })).stdout.trim()
}
