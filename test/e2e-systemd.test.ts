/**
 * End to end on a real `systemd --user` manager (test/helpers/sd-user-manager.sh),
 * run for a dedicated user, `homeage-e2e`, with its own HOME: the real CLI is
 * run AS that user, activates secrets with installationType systemd, and the
 * manager runs the units homeage wrote at login and logout.
 *
 * The CLI the units run is a copy of this build in a temp folder (bin/,
 * dist/src/, package.json, and node_modules as a symlink), whose
 * bin/homeage.js first appends its pid and arguments to a log, then runs the
 * real CLI. That log shows every homeage process anyone started, so the test
 * can count the Node.js processes that decrypted at login.
 *
 * There is no journald on the test machine, so the manager runs with its units'
 * output inherited into its own log (SDU_UNIT_OUTPUT=inherit, SDU_LOG): that
 * log holds what the journal would, and the last test scans it, with
 * everything the CLI printed, for the secrets' plaintexts and the identity.
 */
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import {
    chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync,
    readlinkSync, rmSync, symlinkSync, writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { fileURLToPath } from "node:url"

import { UserManager, userManagerSkipReason, type RunResult } from "./helpers/systemd.js"
import { snapshotOf, type Snapshot } from "./helpers/world.js"
import {
    ageIdentityNeedles, plaintextNeedles, scanOutput, scanTree, type Needle,
} from "./reliability/leaks.js"
import { Tally } from "./reliability/results.js"

const USER = "homeage-e2e"
const REPO = fileURLToPath(new URL("../../", import.meta.url))

/** Longest time one test may take (ms); each runs a few CLI calls and manager restarts. */
const TEST_TIMEOUT_MS = 120_000

/** Longest wait for a background reader to produce its first line (tries of 50 ms). */
const READY_TRIES = 200

const UNIT = {
    gitNetrcSlash: "homeage-git-netrc.service",
    gitNetrcDash: "homeage-git\\x2dnetrc.service",
    apiToken: "homeage-api.token.service",
    batch: "homeage.service",
    target: "homeage.target",
}
const READER = "reader.service"

const skip = userManagerSkipReason()

/** The plaintexts the flows write, scanned for in the manager's log and the CLI output. */
const PLAINTEXTS = ["machine example.com password one\n", "netrc v1\n", "netrc v2\n",
    "token-abc\n"]

/** A snapshot without times, so that folders touched but restored compare equal. */
function shape(snapshot: Snapshot, exclude: string[] = []): Map<string, string> {
    const out = new Map<string, string>()
    for (const [path, entry] of snapshot) {
        if (exclude.some((e) => path === e || path.startsWith(`${e}/`))) continue
        out.set(path, `${entry.kind} ${entry.mode.toString(8)} ${entry.content ?? ""}`)
    }
    return out
}

describe("homeage on a real systemd user manager", { skip }, () => {
    let mgr: UserManager
    let started: UserManager | undefined
    let app = ""
    let rt = ""
    let mounted = false
    let recipient: string
    let baseline: Snapshot
    /** The manager's log: its own messages and its units' output (the journal's stand-in). */
    let journal = ""
    let journalDir = ""
    /** Everything the CLI printed, for the leak scan. */
    const printed: string[] = []
    const tally = new Tally("journal", 6, "scans")

    const home = (p: string): string => join(mgr.home, p)
    const secrets = (): string => join(rt, "secrets")
    const unitDir = (): string => home(".config/systemd/user")
    const stateDir = (): string => home(".local/state/homeage")
    const calls = (): string => join(app, "log", "calls.log")
    const text = (p: string): string => readFileSync(p, "utf8")
    const present = (p: string): boolean => {
        try {
            lstatSync(p)
            return true
        } catch {
            return false
        }
    }
    const giveToUser = (p: string): void => {
        execFileSync("chown", ["-R", `${mgr.user.uid}:${mgr.user.gid}`, p])
    }

    /** Runs the CLI copy as the test user. */
    const homeage = async (args: string[], extra: NodeJS.ProcessEnv = {}): Promise<RunResult> => {
        const r = await mgr.run(process.execPath, [join(app, "bin", "homeage.js"), ...args],
            { NO_COLOR: "1", HOMEAGE_CONFIG: home("dotfiles/homeage.toml"), ...extra })
        printed.push(r.stdout, r.stderr)
        return r
    }

    const activate = async (): Promise<RunResult> => {
        const r = await homeage(["activate"])
        assert.equal(r.code, 0, `activate: ${r.stdout}${r.stderr}`)
        return r
    }

    /** The homeage processes logged since the last {@link clearCalls}: their arguments. */
    const loggedCalls = (): string[][] => {
        if (!existsSync(calls())) return []
        return text(calls()).split("\n").filter((l) => l !== "")
            .map((l) => JSON.parse(l.slice(l.indexOf(" ") + 1)) as string[])
    }
    const clearCalls = (): void => {
        rmSync(calls(), { force: true })
    }

    const encrypt = (name: string, content: string): void => {
        const out = home(`dotfiles/secrets/${name}.age`)
        execFileSync("age", ["-r", recipient, "-o", out], { input: content })
        giveToUser(out)
    }

    const config = (extra: { type?: string, keep?: number, withApi?: boolean } = {}): void => {
        const lines = [
            "identityPaths = [\"~/.config/homeage/identity.txt\"]",
            `runtimeDir = "${secrets()}"`,
            `installationType = "${extra.type ?? "systemd"}"`,
            `generationsToKeep = ${extra.keep ?? 10}`,
            "",
            "[secrets.\"git/netrc\"]",
            "source = \"secrets/git-slash-netrc.age\"",
            "symlinks = [\"~/.netrc\"]",
            "",
            "[secrets.git-netrc]",
            "source = \"secrets/git-netrc.age\"",
            "copies = [\"~/.config/git/netrc-copy\"]",
            "",
        ]
        if (extra.withApi !== false) {
            lines.push("[secrets.\"api.token\"]", "source = \"secrets/api.age\"",
                "symlinks = [\"~/.config/app/token\"]", "")
        }
        writeFileSync(home("dotfiles/homeage.toml"), lines.join("\n"))
        giveToUser(home("dotfiles/homeage.toml"))
    }

    const activeState = (unit: string): Promise<string> => mgr.property(unit, "ActiveState")
    const homeageUnits = (): string[] =>
        readdirSync(unitDir()).filter((f) => f.startsWith("homeage"))
    const wantedUnits = (): string[] => {
        const wants = join(unitDir(), "default.target.wants")
        return existsSync(wants) ? readdirSync(wants).filter((f) => f.startsWith("homeage")) : []
    }
    const currentManifest = (): { generation: number, secrets: { storeHash: string }[] } =>
        JSON.parse(text(join(stateDir(), "current"))) as ReturnType<typeof currentManifest>

    /** Empties the runtime dir, as a reboot would. */
    const emptyRuntimeDir = (): void => {
        for (const name of readdirSync(rt)) rmSync(join(rt, name), { recursive: true })
    }

    const expectInstalled = (gitNetrc = "netrc v1\n"): void => {
        assert.equal(text(join(secrets(), "git/netrc")), "machine example.com password one\n")
        assert.equal(readlinkSync(home(".netrc")), join(secrets(), "git/netrc"))
        assert.equal(text(join(secrets(), "git-netrc")), gitNetrc)
        assert.equal(text(home(".config/git/netrc-copy")), gitNetrc)
        assert.equal(lstatSync(home(".config/git/netrc-copy")).mode & 0o7777, 0o400)
    }

    before(async () => {
        journalDir = mkdtempSync(join(tmpdir(), "homeage-e2e-journal-"))
        journal = join(journalDir, "manager.log")
        process.env.SDU_LOG = journal
        process.env.SDU_LOG_TARGET = "console"
        process.env.SDU_UNIT_OUTPUT = "inherit"
        mgr = await UserManager.start(USER)
        started = mgr

        // The CLI copy, readable by the test user, with the logging entry point.
        app = mkdtempSync(join(tmpdir(), "homeage-e2e-app-"))
        chmodSync(app, 0o755)
        mkdirSync(join(app, "bin"))
        mkdirSync(join(app, "dist"))
        mkdirSync(join(app, "log"))
        giveToUser(join(app, "log"))
        cpSync(join(REPO, "dist", "src"), join(app, "dist", "src"), { recursive: true })
        cpSync(join(REPO, "package.json"), join(app, "package.json"))
        symlinkSync(join(REPO, "node_modules"), join(app, "node_modules"))
        writeFileSync(join(app, "bin", "homeage.js"), [
            "#!/usr/bin/env node",
            "import { appendFileSync } from \"node:fs\"",
            `appendFileSync(${JSON.stringify(calls())}, ` +
                "`${process.pid} ${JSON.stringify(process.argv.slice(2))}\\n`)",
            "const { main } = await import(\"../dist/src/cli/main.js\")",
            "process.exitCode = await main(process.argv.slice(2))",
            "",
        ].join("\n"), { mode: 0o755 })

        // The runtime dir: a tmpfs of the user's own.
        rt = mkdtempSync(join(tmpdir(), "homeage-e2e-run-"))
        execFileSync("mount", ["-t", "tmpfs", "-o",
            `size=16m,mode=0700,uid=${mgr.user.uid},gid=${mgr.user.gid}`, "tmpfs", rt])
        mounted = true

        // The user's home: an identity, dotfiles, a unit of its own that reads
        // one secret, and neighbours homeage must leave alone.
        for (const dir of [".config/homeage", "dotfiles/secrets", ".config/systemd/user",
            ".config/app", ".local/state"]) {
            mkdirSync(home(dir), { recursive: true })
        }
        execFileSync("age-keygen", ["-o", home(".config/homeage/identity.txt")],
            { stdio: "ignore" })
        recipient = execFileSync("age-keygen", ["-y", home(".config/homeage/identity.txt")],
            { encoding: "utf8" }).trim()
        writeFileSync(home(".config/app/settings.ini"), "theme=dark\n")
        writeFileSync(join(unitDir(), READER), [
            "[Unit]",
            `Requires=${UNIT.gitNetrcDash}`,
            `After=${UNIT.gitNetrcDash}`,
            "",
            "[Service]",
            "Type=oneshot",
            "RemainAfterExit=yes",
            `ExecStart=/bin/sh -c 'cat "$$HOME/.config/git/netrc-copy" > ${app}/log/reader.out'`,
            "",
            "[Install]",
            "WantedBy=default.target",
            "",
        ].join("\n"))
        giveToUser(mgr.home)
        encrypt("git-slash-netrc", "machine example.com password one\n")
        encrypt("git-netrc", "netrc v1\n")
        encrypt("api", "token-abc\n")
        config()

        baseline = snapshotOf([mgr.home, rt])
    })

    after(async () => {
        tally.save()
        await started?.stop()
        if (mounted) execFileSync("umount", [rt])
        for (const dir of [app, rt, journalDir]) {
            if (dir !== "") rmSync(dir, { recursive: true, force: true })
        }
    })

    it("activates several secrets, and a user unit requiring one of them reads it",
        { timeout: TEST_TIMEOUT_MS }, async () => {
            const r = await activate()

            assert.match(r.stdout, /added git\/netrc -> ~\/\.netrc/)
            expectInstalled()
            assert.equal(text(join(secrets(), "api.token")), "token-abc\n")
            assert.deepEqual(homeageUnits().sort(), [UNIT.apiToken, UNIT.gitNetrcSlash,
                UNIT.gitNetrcDash, UNIT.batch, UNIT.target].sort())
            assert.deepEqual(wantedUnits().sort(), homeageUnits().sort())
            for (const unit of [UNIT.gitNetrcSlash, UNIT.gitNetrcDash, UNIT.apiToken,
                UNIT.target]) {
                assert.equal(await activeState(unit), "active", unit)
            }
            // The units found the files activate wrote: no homeage ran besides activate.
            assert.deepEqual(loggedCalls(), [["activate"]])

            const reader = await mgr.systemctl("start", READER)
            assert.equal(reader.code, 0, reader.stderr)
            assert.equal(text(join(app, "log", "reader.out")), "netrc v1\n")
        })

    it("writes units that pass systemd-analyze verify --user", { timeout: TEST_TIMEOUT_MS },
        async () => {
            for (const unit of homeageUnits()) {
                const r = await mgr.run("systemd-analyze", ["verify", "--user",
                    join(unitDir(), unit)])
                assert.equal(r.code, 0, `${unit}: ${r.stderr}`)
                assert.equal(r.stderr, "", unit)
            }
        })

    it("says so when the user manager cannot be reached, and changes nothing",
        { timeout: TEST_TIMEOUT_MS }, async () => {
            encrypt("git-netrc", "netrc v2\n")
            const noBus = join(app, "log", "no-bus")
            mkdirSync(noBus)
            giveToUser(noBus)
            const before = snapshotOf([mgr.home, rt])
            clearCalls()

            const r = await homeage(["activate"], { XDG_RUNTIME_DIR: noBus })

            assert.equal(r.code, 1, r.stderr)
            assert.match(r.stderr, /cannot reach the systemd user manager/)
            assert.match(r.stderr, /run `homeage activate` from a login session, or set /)
            assert.match(r.stderr, /nothing was changed/)
            assert.deepEqual(snapshotOf([mgr.home, rt]), before)
        })

    it("restarts only the unit of a changed secret, and no reader sees it missing",
        { timeout: TEST_TIMEOUT_MS }, async () => {
            const units = [UNIT.gitNetrcSlash, UNIT.gitNetrcDash, UNIT.apiToken, READER]
            const ids = await Promise.all(units.map((u) => mgr.property(u, "InvocationID")))
            const since = await Promise.all(units.map(
                (u) => mgr.property(u, "ActiveEnterTimestampMonotonic")))
            const seen = join(app, "log", "seen")
            const stop = join(app, "log", "stop-reading")
            const reading = mgr.run("/bin/sh", ["-c", [
                "while [ ! -e \"$1\" ]; do for f in \"$3\" \"$4\"; do",
                "c=$(cat \"$f\" 2>/dev/null) || c=MISSING; [ -n \"$c\" ] || c=EMPTY;",
                "echo \"$c\" >> \"$2\"; done; done",
            ].join(" "), "reader", stop, seen, join(secrets(), "git-netrc"),
            home(".config/git/netrc-copy")])
            for (let i = 0; i < READY_TRIES && !existsSync(seen); i++) {
                await new Promise((resolve) => setTimeout(resolve, 50))
            }
            clearCalls()

            // The reader stops even when activate fails, so a failure ends the test.
            let r: RunResult
            try {
                r = await activate()
            } finally {
                writeFileSync(stop, "")
            }
            await reading
            const values = new Set(text(seen).split("\n").filter((l) => l !== ""))
            assert.ok(values.has("netrc v2"), [...values].join(", "))
            for (const value of values) assert.match(value, /^netrc v[12]$/)
            assert.match(r.stdout, /changed git-netrc: content/)
            assert.match(r.stdout, /restarted homeage-git\\x2dnetrc\.service/)
            expectInstalled("netrc v2\n")
            const idsAfter = await Promise.all(units.map((u) => mgr.property(u, "InvocationID")))
            const sinceAfter = await Promise.all(units.map(
                (u) => mgr.property(u, "ActiveEnterTimestampMonotonic")))
            assert.deepEqual(idsAfter.map((id, i) => id === ids[i]), [true, false, true, false])
            assert.deepEqual(sinceAfter.map((t, i) => t === since[i]), [true, false, true, false])
            for (const unit of units) assert.equal(await activeState(unit), "active", unit)
            assert.equal(text(join(app, "log", "reader.out")), "netrc v2\n")

            // The restart's stop ran and kept the new files, so no start was needed.
            assert.deepEqual(loggedCalls(), [["activate"],
                ["stop", "--from-unit", "--", "git-netrc"]])
            assert.equal(existsSync(join(stateDir(), "handover.json")), false)
        })

    it("removes a secret's files when the user stops its unit; starting it restores them",
        { timeout: TEST_TIMEOUT_MS }, async () => {
            clearCalls()

            const stopped = await mgr.systemctl("stop", UNIT.apiToken)

            assert.equal(stopped.code, 0, stopped.stderr)
            assert.equal(present(join(secrets(), "api.token")), false)
            assert.equal(present(home(".config/app/token")), false)
            assert.equal(text(join(secrets(), "git-netrc")), "netrc v2\n")

            const again = await mgr.systemctl("start", UNIT.apiToken)

            assert.equal(again.code, 0, again.stderr)
            assert.equal(text(home(".config/app/token")), "token-abc\n")
            assert.deepEqual(loggedCalls(), [["stop", "--from-unit", "--", "api.token"],
                ["start", "--", "api.token"]])
        })

    it("removes the unit and the files of a removed secret", { timeout: TEST_TIMEOUT_MS },
        async () => {
            config({ withApi: false })

            const r = await activate()

            assert.match(r.stdout, /removed api\.token/)
            assert.equal(present(join(unitDir(), UNIT.apiToken)), false)
            assert.equal(present(join(unitDir(), "default.target.wants", UNIT.apiToken)), false)
            assert.equal(await mgr.property(UNIT.apiToken, "LoadState"), "not-found")
            assert.equal(present(join(secrets(), "api.token")), false)
            assert.equal(present(home(".config/app/token")), false)
            assert.equal(text(home(".config/app/settings.ini")), "theme=dark\n")
            assert.equal(await activeState(UNIT.target), "active")
            expectInstalled("netrc v2\n")
        })

    it("brings every secret back at login, decrypted by one Node.js process",
        { timeout: TEST_TIMEOUT_MS }, async () => {
            clearCalls()
            await mgr.logout()

            assert.equal(present(join(secrets(), "git-netrc")), false)
            assert.equal(present(home(".config/git/netrc-copy")), false)
            assert.deepEqual(loggedCalls().map((c) => c.join(" ")).sort(), [
                "stop --from-unit -- git-netrc", "stop --from-unit -- git/netrc"])
            emptyRuntimeDir()
            clearCalls()

            await mgr.login()

            expectInstalled("netrc v2\n")
            for (const unit of [UNIT.batch, UNIT.gitNetrcSlash, UNIT.gitNetrcDash,
                UNIT.target]) {
                assert.equal(await activeState(unit), "active", unit)
            }
            assert.deepEqual(loggedCalls(), [["start"]])
        })

    it("fails only the unit of a secret whose stored copy is damaged, and its reader",
        { timeout: TEST_TIMEOUT_MS }, async () => {
            const enabled = await mgr.systemctl("enable", READER)
            assert.equal(enabled.code, 0, enabled.stderr)
            const hashes = currentManifest().secrets.map((s) => s.storeHash)
            const damaged = join(stateDir(), "store", `${hashes[1] ?? ""}.age`)
            chmodSync(damaged, 0o600)
            writeFileSync(damaged, "not what was stored\n")
            await mgr.logout()
            emptyRuntimeDir()
            rmSync(join(app, "log", "reader.out"))
            clearCalls()

            await mgr.login()

            assert.equal(await activeState(UNIT.gitNetrcDash), "failed")
            assert.equal(await activeState(UNIT.gitNetrcSlash), "active")
            assert.equal(await activeState(UNIT.batch), "failed")
            assert.notEqual(await activeState(UNIT.target), "active")
            assert.notEqual(await activeState(READER), "active")
            assert.equal(present(join(app, "log", "reader.out")), false)
            assert.equal(present(join(secrets(), "git-netrc")), false)
            assert.equal(text(join(secrets(), "git/netrc")), "machine example.com password one\n")
            assert.deepEqual(loggedCalls(), [["start"], ["start", "--", "git-netrc"]])

            // activate repairs the store from the dotfiles and starts the failed unit.
            const r = await activate()

            assert.match(r.stdout, /restored git-netrc/)
            expectInstalled("netrc v2\n")
            assert.equal(await activeState(UNIT.gitNetrcDash), "active")
            assert.equal(await activeState(UNIT.target), "active")
            assert.equal((await mgr.systemctl("start", READER)).code, 0)
            assert.equal(text(join(app, "log", "reader.out")), "netrc v2\n")
        })

    it("lists generations and rolls back to exact bytes, links and units",
        { timeout: TEST_TIMEOUT_MS }, async () => {
            const list = await homeage(["generations"])

            assert.equal(list.code, 0, list.stderr)
            const lines = list.stdout.trimEnd().split("\n")
            assert.equal(lines.length, 3, list.stdout)
            assert.match(lines[0] ?? "", /^1 {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}3 secrets$/)
            assert.match(lines[1] ?? "", /^2 {2}\S+ {2}3 secrets$/)
            assert.match(lines[2] ?? "", /^3 {2}\S+ {2}2 secrets {2}\(current\)$/)

            const back = await homeage(["rollback"])

            assert.equal(back.code, 0, back.stderr)
            assert.match(back.stdout, /added api\.token -> ~\/\.config\/app\/token/)
            assert.match(back.stdout, /rolled back: 1 added \(generation 2\)/)
            assert.equal(readlinkSync(home(".config/app/token")), join(secrets(), "api.token"))
            assert.equal(text(home(".config/app/token")), "token-abc\n")
            assert.equal(await activeState(UNIT.apiToken), "active")
            expectInstalled("netrc v2\n")
            assert.equal(currentManifest().generation, 2)

            const first = await homeage(["rollback", "1"])

            assert.equal(first.code, 0, first.stderr)
            assert.match(first.stdout, /restarted homeage-git\\x2dnetrc\.service/)
            expectInstalled("netrc v1\n")
            assert.equal(currentManifest().generation, 1)
            const after = await homeage(["generations"])
            assert.match(after.stdout, /^1 {2}\S+ {2}3 secrets {2}\(current\)$/m)
            assert.equal(after.stdout.trimEnd().split("\n").length, 3)
            assert.equal((await homeage(["rollback", "7"])).code, 2)

            config({ withApi: false })
            const latest = await activate()
            assert.match(latest.stdout, /\(generation 4\)/)
            expectInstalled("netrc v2\n")
            assert.equal(present(home(".config/app/token")), false)
            assert.equal(await mgr.property(UNIT.apiToken, "LoadState"), "not-found")
        })

    it("switches installationType both ways with no orphaned or duplicate units or files",
        { timeout: TEST_TIMEOUT_MS }, async () => {
            const outputs = shape(snapshotOf([rt, home(".netrc"), home(".config/git")]))

            config({ type: "activation", keep: 2, withApi: false })
            const off = await activate()

            assert.match(off.stdout, /\(generation 5\)/)
            assert.deepEqual(homeageUnits(), [])
            assert.deepEqual(wantedUnits(), [])
            for (const unit of [UNIT.gitNetrcDash, UNIT.gitNetrcSlash, UNIT.batch, UNIT.target]) {
                assert.equal(await mgr.property(unit, "LoadState"), "not-found", unit)
            }
            assert.deepEqual(shape(snapshotOf([rt, home(".netrc"), home(".config/git")])),
                outputs)
            // Pruned to two generations, with the store files only they refer to.
            const kept = readdirSync(join(stateDir(), "generations")).sort()
            assert.deepEqual(kept, ["4.json", "5.json"])
            const referenced = new Set(kept.flatMap((f) => (JSON.parse(text(
                join(stateDir(), "generations", f))) as { secrets: { storeHash: string }[] })
                .secrets.map((s) => `${s.storeHash}.age`)))
            assert.deepEqual(readdirSync(join(stateDir(), "store")).sort(), [...referenced].sort())

            config({ type: "systemd", keep: 2, withApi: false })
            const on = await activate()

            assert.match(on.stdout, /\(generation 6\)/)
            assert.deepEqual(homeageUnits().sort(), [UNIT.gitNetrcSlash, UNIT.gitNetrcDash,
                UNIT.batch, UNIT.target].sort())
            for (const unit of [UNIT.gitNetrcDash, UNIT.gitNetrcSlash, UNIT.target]) {
                assert.equal(await activeState(unit), "active", unit)
            }
            assert.deepEqual(shape(snapshotOf([rt, home(".netrc"), home(".config/git")])),
                outputs)
        })

    it("deactivates: removes every output and unit homeage made and nothing else; " +
        "--purge removes the state", { timeout: TEST_TIMEOUT_MS }, async () => {
        assert.equal((await mgr.systemctl("disable", READER)).code, 0)
        assert.equal((await mgr.systemctl("stop", READER)).code, 0)

        const r = await homeage(["deactivate"])

        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /deactivated: .*generation 6 is no longer current/)
        assert.deepEqual(homeageUnits(), [])
        assert.equal(await mgr.property(UNIT.gitNetrcDash, "LoadState"), "not-found")
        // The test changed the dotfiles on the way; everything else is as before activate.
        const mine = [home("dotfiles"), stateDir()]
        assert.deepEqual(shape(snapshotOf([mgr.home, rt]), mine), shape(baseline, mine))
        assert.equal(existsSync(join(stateDir(), "generations", "6.json")), true)
        assert.equal((await homeage(["start"])).code, 1)

        const purge = await homeage(["deactivate", "--purge"])

        assert.equal(purge.code, 0, purge.stderr)
        assert.equal(existsSync(stateDir()), false)
        assert.deepEqual(shape(snapshotOf([mgr.home, rt]), [home("dotfiles")]),
            shape(baseline, [home("dotfiles")]))
    })
    it("leaks no plaintext or key material into the manager's log or the CLI output",
        { timeout: TEST_TIMEOUT_MS }, async () => {
            tally.checks("after the systemd flows (activate, unit restart, unit stop and " +
                "start, logout and login, a unit failing on a damaged store file, rollback, " +
                "deactivate --purge): the user manager's log, which receives its units' " +
                "output (no journald here), and all CLI output scanned for the plaintexts and " +
                "the AGE-SECRET-KEY line: zero hits")
            const needles: Needle[] = [
                ...PLAINTEXTS.flatMap((p, i) => plaintextNeedles(`plaintext ${i + 1}`, p.trim())),
                ...ageIdentityNeedles("X25519 identity", home(".config/homeage/identity.txt")),
            ]
            await tally.check("manager log", () => {
                const log = text(journal)
                // The log really holds the units' output: the failing unit's error.
                assert.match(log, /homeage: error: /)
                assert.deepEqual(scanTree([journal], needles, { exclude: [] }).hits, [])
            })
            await tally.check("CLI output", () => {
                assert.ok(printed.length > 0)
                assert.deepEqual(scanOutput(printed, needles), [])
            })
            assert.deepEqual(tally.failureList(), [])
        })
})
