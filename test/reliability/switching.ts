/**
 * A world with two generations to switch between, for the crash, concurrency
 * and hostile suites: a temporary HOME, a runtime dir on a real tmpfs, an
 * identity made by age-keygen, sources made by Go age, and two configs, A and
 * B, whose difference changes, adds, removes and moves secrets, symlinks and
 * copies (a symlink becomes a copy and back, a mode changes, a runtime path
 * is reused by another secret). Unmanaged files sit beside the outputs.
 *
 * Trees record kind, mode, owner and content of every path (mtimes only for
 * the unmanaged files), so a suite can say precisely which states are allowed.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync }
    from "node:fs"
import { tmpdir } from "node:os"
import { dirname, isAbsolute, join } from "node:path"

import { snapshotOf, type Entry, type Snapshot } from "../helpers/world.js"
import {
    ageIdentityNeedles, plaintextNeedles, scanOutput, scanTree, token, type Needle,
    type ScanResult,
} from "./leaks.js"
import { runToEnd, startCli, type Finished, type Running, type StartOptions } from "./proc.js"

/** Size of the big secret (bytes: 512 KiB), so that writing it takes a while. */
const BIG_SECRET_BYTES = 512 * 1024

/** Size of the runtime tmpfs. */
const RUNTIME_TMPFS_SIZE = "16m"

/** The two configs. */
export type Side = "a" | "b"

/** A path's state without its mtime: what "holds the old or the new content" compares. */
export type Shape = Omit<Entry, "mtimeMs">

/** Path → shape. */
export type Tree = Map<string, Shape>

/** A switching world; call {@link SwitchWorld.destroy} in `after`. */
export interface SwitchWorld {
    root: string
    home: string
    run: string
    dotfiles: string
    state: string
    identity: string
    /** The plaintext of every secret on each side, by `name` or `name@side`. */
    plaintexts: Map<string, string>
    /** The unmanaged paths planted beside the outputs. */
    unmanaged: string[]
    configFile(side: Side): string
    env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv
    /** Runs `homeage --config <side> ARGS…` to the end. */
    cli(side: Side, args: string[], extra?: NodeJS.ProcessEnv, inject?: boolean):
    Promise<Finished>
    /** Starts `homeage --config <side> ARGS…`. */
    start(side: Side, args: string[], options?: Partial<StartOptions>): Running
    /** Every path under HOME and the runtime dir except the state dir and temp files. */
    tree(): Tree
    /** Snapshot (with mtimes) of the unmanaged paths and the dotfiles folder. */
    unmanagedSnapshot(): Snapshot
    /** Every `.homeage-tmp-*` path anywhere under the world's root. */
    temps(): string[]
    /** Needles for the leak scan: every plaintext token and the identity. */
    needles(): Needle[]
    /** Scans the world (except runtime dir, copies and keys), /tmp and $TMPDIR. */
    scanForLeaks(outputs: string[]): ScanResult
    destroy(): void
}

const TEMP_PREFIX = ".homeage-tmp-"

function secretsOf(side: Side): string {
    const shared = `
identityPaths = ["~/keys/identity.txt"]
installationType = "activation"
generationsToKeep = 2

[secrets.keep]
source = "secrets/keep.age"
symlinks = ["~/.config/app/keep"]
`
    if (side === "a") {
        return `${shared}
[secrets.change]
source = "secrets/change-a.age"
symlinks = ["~/.config/app/token"]
copies = ["~/.local/share/app/token"]

[secrets.big]
source = "secrets/big-a.age"
copies = ["~/big-copy"]

[secrets.mode]
source = "secrets/mode.age"
mode = "0400"
copies = ["~/mode-copy"]

[secrets.gone]
source = "secrets/gone.age"
path = "reuse"
symlinks = ["~/gone-link"]
copies = ["~/gone/deep/copy"]

[secrets.move]
source = "secrets/move.age"
path = "move/here"
symlinks = ["~/move-link-1"]
copies = ["~/move-copy-1"]

[secrets.swap]
source = "secrets/swap.age"
symlinks = ["~/swap-1"]
copies = ["~/swap-2"]
`
    }
    return `${shared}
[secrets.change]
source = "secrets/change-b.age"
symlinks = ["~/.config/app/token"]
copies = ["~/.local/share/app/token"]

[secrets.big]
source = "secrets/big-b.age"
copies = ["~/big-copy"]

[secrets.mode]
source = "secrets/mode.age"
mode = "0440"
copies = ["~/mode-copy"]

[secrets.new]
source = "secrets/new.age"
path = "reuse"
symlinks = ["~/new-dir/new-link"]
copies = ["~/new-copy"]

[secrets.move]
source = "secrets/move.age"
path = "move/there/now"
symlinks = ["~/move-link-2"]
copies = ["~/moved/copy-2"]

[secrets.swap]
source = "secrets/swap.age"
symlinks = ["~/swap-2"]
copies = ["~/swap-1"]
`
}

/** Drops mtimes: a path's shape. */
export function shapeOf(snapshot: Snapshot): Tree {
    const tree: Tree = new Map()
    for (const [path, entry] of snapshot) {
        const shape: Shape = { kind: entry.kind, mode: entry.mode, uid: entry.uid }
        if (entry.content !== undefined) shape.content = entry.content
        tree.set(path, shape)
    }
    return tree
}

/** Whether two shapes are the same (or both absent). */
export function sameShape(a: Shape | undefined, b: Shape | undefined): boolean {
    return JSON.stringify(a) === JSON.stringify(b)
}

function describe(shape: Shape | undefined): string {
    if (shape === undefined) return "absent"
    const size = shape.content === undefined ? "" : ` ${shape.content.length / 2} bytes`
    const target = shape.kind === "symlink" ? ` -> ${shape.content ?? ""}` : size
    return `${shape.kind} ${shape.mode.toString(8)}${target}`
}

/** Lines naming each path of `now` that differs from `want`. */
export function treeDifferences(want: Tree, now: Tree): string[] {
    const lines: string[] = []
    for (const path of new Set([...want.keys(), ...now.keys()])) {
        const a = want.get(path)
        const b = now.get(path)
        if (!sameShape(a, b)) lines.push(`${path}: want ${describe(a)}, found ${describe(b)}`)
    }
    return lines
}

/**
 * The paths of `now` that hold neither what `before` nor what `after` had
 * there (absent counts as a state only when one side has no such path): a
 * missing, empty, partial or foreign file, or a symlink to the wrong place.
 */
export function mixedDifferences(before: Tree, after: Tree, now: Tree): string[] {
    const lines: string[] = []
    for (const path of new Set([...before.keys(), ...after.keys(), ...now.keys()])) {
        const found = now.get(path)
        const a = before.get(path)
        const b = after.get(path)
        if (sameShape(found, a) || sameShape(found, b)) continue
        lines.push(`${path}: found ${describe(found)}; old ${describe(a)}, new ${describe(b)}`)
    }
    return lines
}

/** Creates the world: keys, sources, configs, unmanaged files; the runtime dir is mounted. */
export function makeSwitchWorld(prefix = "rel"): SwitchWorld {
    const root = mkdtempSync(join(tmpdir(), `homeage-${prefix}-`))
    const home = join(root, "home")
    const run = join(root, "run")
    const dotfiles = join(root, "dotfiles")
    const state = join(home, ".local", "state", "homeage")
    for (const dir of [home, run, join(dotfiles, "secrets"), join(home, "keys")]) {
        mkdirSync(dir, { recursive: true })
    }
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${RUNTIME_TMPFS_SIZE},mode=0700`,
        "tmpfs", run])

    const identity = join(home, "keys", "identity.txt")
    execFileSync("age-keygen", ["-o", identity], { stdio: "ignore" })
    const recipient = execFileSync("age-keygen", ["-y", identity], { encoding: "utf8" }).trim()

    const plaintexts = new Map<string, string>()
    const source = (file: string, text: string): void => {
        plaintexts.set(file, text)
        execFileSync("age", ["-r", recipient, "-o", join(dotfiles, "secrets", `${file}.age`)],
            { input: text })
    }
    for (const name of ["keep", "change-a", "change-b", "mode", "gone", "new", "move", "swap"]) {
        source(name, `${token(`plaintext-${name}`)}\n`)
    }
    for (const side of ["a", "b"]) {
        const line = `${token(`plaintext-big-${side}`)}\n`
        source(`big-${side}`, line.repeat(Math.ceil(BIG_SECRET_BYTES / line.length)))
    }
    for (const side of ["a", "b"] as const) {
        writeFileSync(join(dotfiles, `${side}.toml`), secretsOf(side))
    }

    const unmanaged = [
        join(home, ".config", "app", "settings.ini"),
        join(home, ".local", "share", "app", "data.db"),
        join(home, "unmanaged.txt"),
        join(run, "unmanaged-socket-like"),
    ]
    for (const path of unmanaged) {
        mkdirSync(dirname(path), { recursive: true })
        writeFileSync(path, `unmanaged ${path}\n`, { mode: 0o644 })
    }
    const link = join(home, ".config", "app", "unmanaged-link")
    symlinkSync("/etc/hostname", link)
    unmanaged.push(link)

    const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
        PATH: process.env.PATH, HOME: home, USER: "root", XDG_RUNTIME_DIR: run,
        NO_COLOR: "1", ...extra,
    })
    const configFile = (side: Side): string => join(dotfiles, `${side}.toml`)
    const isTemp = (path: string): boolean => path.split("/").pop()?.startsWith(TEMP_PREFIX)
        ?? false

    const world: SwitchWorld = {
        root, home, run, dotfiles, state, identity, plaintexts, unmanaged,
        configFile,
        env,
        cli: (side, args, extra, inject) => runToEnd(["--config", configFile(side), ...args],
            { env: env(extra), cwd: root, inject: inject === true }),
        start: (side, args, options = {}) => startCli(["--config", configFile(side), ...args],
            { cwd: root, ...options, env: env(options.env) }),
        tree() {
            const tree = shapeOf(snapshotOf([home, run]))
            for (const path of [...tree.keys()]) {
                if (path === state || path.startsWith(`${state}/`) || isTemp(path)) {
                    tree.delete(path)
                }
            }
            return tree
        },
        unmanagedSnapshot: () => snapshotOf([...unmanaged, dotfiles]),
        temps: () => [...snapshotOf([root]).keys()].filter(isTemp),
        needles() {
            const needles: Needle[] = []
            for (const [name, text] of plaintexts) {
                needles.push(...plaintextNeedles(`plaintext of ${name}`, text.slice(0, 40)))
            }
            needles.push(...ageIdentityNeedles("X25519 identity", identity))
            return needles
        },
        scanForLeaks(outputs) {
            const copies = [...shapeOf(snapshotOf([home])).keys()].filter((p) =>
                /(token|copy|copy-\d|swap-\d)$/.test(p) && !p.startsWith(state))
            const exclude = [run, identity, ...copies]
            const roots = [root, tmpdir(), ...(isAbsolute(process.env.TMPDIR ?? "")
                ? [process.env.TMPDIR ?? ""] : [])]
            const scan = scanTree([...new Set(roots)], this.needles(), { exclude })
            scan.hits.push(...scanOutput(outputs, this.needles()))
            return scan
        },
        destroy() {
            spawnSync("umount", [run])
            if (existsSync(run) && statSync(run).dev === statSync(root).dev) {
                rmSync(root, { recursive: true, force: true })
            }
        },
    }
    return world
}
