/**
 * A throw-away home folder and dotfiles folder for config tests, with an
 * {@link Environment} that points at them instead of the real user's.
 */
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"

import { type Environment, environment } from "../../src/config/index.js"
import { UsageError } from "../../src/errors.js"

/** A temporary home with a dotfiles folder in it. */
export interface Home {
    root: string
    home: string
    dotfiles: string
    env: Environment
    /** Writes `text` to `dotfiles/relative`, making folders; returns the absolute path. */
    write(relative: string, text: string): string
    cleanup(): void
}

/** Creates a home under the system temp folder; the environment sets every XDG variable. */
export function makeHome(extra: NodeJS.ProcessEnv = {}): Home {
    const root = mkdtempSync(join(tmpdir(), "homeage-config-"))
    const home = join(root, "home")
    const dotfiles = join(home, "dotfiles")
    mkdirSync(dotfiles, { recursive: true })
    const env = environment({
        HOME: home,
        USER: "alice",
        XDG_RUNTIME_DIR: join(root, "run"),
        ...extra,
    })
    return {
        root, home, dotfiles, env,
        write(relative, text) {
            const file = join(dotfiles, relative)
            mkdirSync(dirname(file), { recursive: true })
            writeFileSync(file, text)
            return file
        },
        cleanup() {
            rmSync(root, { recursive: true, force: true })
        },
    }
}

/** Runs `fn` and returns the `UsageError` it must throw. */
export async function usageError(fn: () => Promise<unknown>): Promise<UsageError> {
    try {
        await fn()
    } catch (err) {
        assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`)
        return err
    }
    assert.fail("expected a UsageError, but nothing was thrown")
}

/** A fresh X25519 recipient from the Go `age-keygen`. */
export function ageRecipient(): string {
    const out = execFileSync("age-keygen", { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
    const match = /# public key: (age1[0-9a-z]+)/.exec(out)
    assert.ok(match?.[1] !== undefined, "age-keygen printed no public key")
    return match[1]
}

/** A fresh ssh-ed25519 recipient line from `ssh-keygen`. */
export function sshRecipient(folder: string): string {
    const key = join(mkdtempSync(join(folder, "ssh-")), "id_ed25519")
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key])
    return readFileSync(`${key}.pub`, "utf8").trim()
}
