/**
 * Makes the code cache of a freshly built command-line bundle: loads it the
 * way `bin/homeage.js` does, runs the everyday commands once in a throw-away
 * home folder (so that V8 compiles the functions they use), then stores what
 * V8 compiled beside the bundle, headed by the SHA-256 of the bundle it was
 * made from (src/cli/launch.ts).
 *
 * Run by scripts/bundle.ts in a process of its own, without NODE_OPTIONS,
 * since V8 takes a cache only under the flags it was made with. If the bundle
 * was replaced meanwhile (another build), no cache is written.
 *
 * Usage: node dist/scripts/code-cache.js BUNDLE
 */
import {
    accessSync, constants, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"

import { cacheFile, cachePathOf, loadCli } from "../src/cli/launch.js"
import { memoryBacked } from "../src/fs/inspect.js"

/** A tmpfs that the training may use for its runtime dir. */
const SHM = "/dev/shm"

/** Longer than the unchanged record's racy window (100 ms). */
const SETTLE_MS = 150

const given = process.argv[2]
if (given === undefined) {
    process.stderr.write("usage: code-cache BUNDLE\n")
    process.exit(2)
}
const bundle = resolve(given)

const work = mkdtempSync(join(tmpdir(), "homeage-code-cache-"))
try {
    await train(bundle, work)
} finally {
    rmSync(work, { recursive: true, force: true })
}

async function train(file: string, dir: string): Promise<void> {
    const home = join(dir, "home")
    const dotfiles = join(home, "dotfiles")
    // On tmpfs when there is one to use, so that activate does not warn.
    const memory = await memoryFolder()
    const runtime = memory === undefined ? join(dir, "run")
        : mkdtempSync(join(memory, "homeage-code-cache-"))
    const persistent = memory === undefined
    mkdirSync(dotfiles, { recursive: true })
    if (persistent) mkdirSync(runtime, { mode: 0o700 })
    try {
        await trainIn({ file, dir, home, dotfiles, runtime, persistent })
    } finally {
        if (!persistent) rmSync(runtime, { recursive: true, force: true })
    }
}

/** /dev/shm when it is a tmpfs this user may write to. */
async function memoryFolder(): Promise<string | undefined> {
    try {
        if (!(await memoryBacked(SHM)).memory) return undefined
        accessSync(SHM, constants.W_OK)
        return SHM
    } catch {
        return undefined
    }
}

async function trainIn(where: {
    file: string, dir: string, home: string, dotfiles: string, runtime: string,
    persistent: boolean,
}): Promise<void> {
    const { file, dir, home, dotfiles, runtime, persistent } = where
    const bytes = readFileSync(file)
    const identity = join(home, "identity.txt")
    const config = join(dotfiles, "homeage.toml")
    Object.assign(process.env, {
        HOME: home,
        XDG_CONFIG_HOME: join(home, ".config"),
        XDG_STATE_HOME: join(home, ".local", "state"),
        XDG_RUNTIME_DIR: runtime,
        HOMEAGE_CONFIG: config,
        NO_COLOR: "1",
    })
    delete process.env.HOMEAGE_ASKPASS

    const cli = loadCli(file, { useCache: false })
    const run = async (...argv: string[]): Promise<void> => {
        const status = await cli.main(argv)
        if (status !== 0) throw new Error(`homeage ${argv.join(" ")} exited ${status}`)
    }

    const plain = join(dir, "plain.txt")
    writeFileSync(plain, "a secret for the code cache\n")
    await run("keygen", "-o", identity)
    await run("encrypt", "-i", identity, "-o", join(dotfiles, "link.age"), plain)
    await run("encrypt", "-a", "-i", identity, "-o", join(dotfiles, "copy.age"), plain)
    writeFileSync(config, [
        `identityPaths = [${JSON.stringify(identity)}]`,
        "installationType = \"activation\"",
        `runtimeDir = ${JSON.stringify(join(runtime, "secrets"))}`,
        ...persistent ? ["allowPersistentRuntimeDir = true"] : [],
        "",
        "[secrets.link]",
        "source = \"link.age\"",
        "symlinks = [\"~/.config/app/token\"]",
        "",
        "[secrets.copy]",
        "source = \"copy.age\"",
        "mode = \"0600\"",
        "copies = [\"~/.app-copy\"]",
        "",
    ].join("\n"))
    await run("check")
    await run("activate")
    await run("activate")
    if (!persistent) {
        // Once the files are settled, a run leaves the record of an unchanged
        // run (activation/unchanged.ts); a persistent runtime dir warns, so none.
        await sleep(SETTLE_MS)
        await run("activate")
    }
    await run("status")
    await run("start")
    await run("decrypt", "-i", identity, "-o", join(dir, "out.txt"), join(dotfiles, "link.age"))
    await run("deactivate", "--purge")

    const cache = cachePathOf(file)
    const temp = `${cache}.${process.pid}.tmp`
    writeFileSync(temp, cacheFile(bytes, cli.makeCache()))
    if (!readFileSync(file).equals(bytes)) {
        rmSync(temp, { force: true })
        process.stderr.write(`code-cache: ${file} was replaced meanwhile; no cache written\n`)
        return
    }
    renameSync(temp, cache)
}
