/**
 * The systemd units on a real `systemd --user` manager. `homeage start`/`stop`
 * are played by a small shell script that logs every call, so the tests see
 * exactly which processes the units run: one for every secret at login, the
 * cheap check otherwise.
 */
import assert from "node:assert/strict"
import { chown, lstat, mkdir, readFile, readdir, readlink, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { after, before, describe, it } from "node:test"
import { fileURLToPath } from "node:url"

import { UNIT_MARKER } from "../../src/services/systemd.js"
import { secretUnitName, TARGET_UNIT, BATCH_UNIT } from "../../src/services/systemd-names.js"
import type { ServiceSecret, ServiceSetup } from "../../src/services/types.js"
import { UserManager, userManagerSkipReason } from "../helpers/systemd.js"
import type { DriverRequest, DriverResponse } from "./install-driver.js"

const DRIVER = fileURLToPath(new URL("./install-driver.js", import.meta.url))

/** Plays `node cli start|stop [-- NAME…]`: logs the call, writes or removes outputs. */
const FAKE_HOMEAGE = `#!/bin/sh
shift
cmd=$1; shift
[ "$1" = --from-unit ] && shift
[ "$1" = -- ] && shift
printf '%s\\n' "$cmd $*" >> "$FAKE_STATE/calls.log"
[ $# -eq 0 ] && set -- $(cat "$FAKE_STATE/names")
rc=0
for n; do
    f="$FAKE_SECRETS/$n"
    l="$FAKE_STATE/links/$(printf %s "$n" | tr / _)"
    if [ "$cmd" = start ]; then
        if [ -e "$FAKE_STATE/broken/$n" ]; then rc=1; continue; fi
        mkdir -p "$(dirname "$f")" "$FAKE_STATE/links"
        printf 'secret %s\\n' "$n" > "$f"
        ln -sfn "$f" "$l"
    else
        rm -f "$f" "$l"
    fi
done
exit $rc
`

const NAMES = ["git/netrc", "git-netrc", "api.token_x"]
const READER = "reader.service"

const skip = userManagerSkipReason()

describe("systemd units on a real user manager", { skip }, () => {
    let mgr: UserManager
    let started: UserManager | undefined
    let state: string
    let secretsDir: string
    let setup: ServiceSetup

    const unitDir = (): string => join(mgr.home, ".config", "systemd", "user")
    const link = (name: string): string => join(state, "links", name.replace("/", "_"))
    const secrets = (names: string[], changed: string[] = []): ServiceSecret[] => names.map(
        (name) => ({ name, path: join(secretsDir, name), symlinks: [link(name)], copies: [],
            changed: changed.includes(name) }))

    const asUser = async (path: string): Promise<void> => {
        await chown(path, mgr.user.uid, mgr.user.gid)
    }
    const calls = async (): Promise<string[]> => {
        const text = await readFile(join(state, "calls.log"), "utf8").catch(() => "")
        return text.split("\n").filter((l) => l !== "").map((l) => l.trim())
    }
    const clearCalls = (): Promise<void> => rm(join(state, "calls.log"), { force: true })
    const driver = async (request: Omit<DriverRequest, "setup">): Promise<DriverResponse> => {
        const r = await mgr.run(process.execPath, [DRIVER], {},
            JSON.stringify({ ...request, setup }))
        assert.equal(r.code, 0, r.stderr)
        return JSON.parse(r.stdout) as DriverResponse
    }
    const activeState = (unit: string): Promise<string> => mgr.property(unit, "ActiveState")
    const present = async (path: string): Promise<boolean> =>
        lstat(path).then(() => true, () => false)

    before(async () => {
        mgr = await UserManager.start()
        started = mgr
        state = join(mgr.home, "state")
        secretsDir = join(mgr.runtimeDir, "secrets $x%y'q")
        const bin = join(mgr.home, "bin")
        for (const dir of [state, join(state, "broken"), bin]) {
            await mkdir(dir)
            await asUser(dir)
        }
        await writeFile(join(bin, "fake-node"), FAKE_HOMEAGE, { mode: 0o755 })
        await writeFile(join(bin, "homeage.js"), "")
        await writeFile(join(state, "names"), NAMES.join("\n") + "\n")
        setup = {
            node: join(bin, "fake-node"), cli: join(bin, "homeage.js"), path: "/usr/bin:/bin",
            environment: { FAKE_STATE: state, FAKE_SECRETS: secretsDir },
            home: mgr.home, configHome: join(mgr.home, ".config"), uid: mgr.user.uid,
        }
    })

    after(async () => {
        await started?.stop()
    })

    it("installs, enables and starts the units without running homeage again", async () => {
        const activated = await mgr.run(setup.node, [setup.cli, "start"], setup.environment)
        assert.equal(activated.code, 0, activated.stderr)
        await clearCalls()

        const r = await driver({ action: "apply", previous: [], next: secrets(NAMES) })

        const units = NAMES.map(secretUnitName)
        assert.equal(r.error, undefined, JSON.stringify(r.error))
        assert.deepEqual(r.write, [BATCH_UNIT, ...units, TARGET_UNIT])
        assert.deepEqual(r.enable, [BATCH_UNIT, ...units, TARGET_UNIT])
        assert.deepEqual(r.start, [...units, TARGET_UNIT])
        assert.deepEqual(r.restart, [])
        for (const unit of [...units, TARGET_UNIT]) assert.equal(await activeState(unit), "active")
        assert.equal(await activeState(BATCH_UNIT), "inactive")
        assert.deepEqual(await calls(), [])
        for (const unit of [BATCH_UNIT, ...units, TARGET_UNIT]) {
            const text = await readFile(join(unitDir(), unit), "utf8")
            assert.equal(text.split("\n")[0], UNIT_MARKER)
            const wants = join(unitDir(), "default.target.wants", unit)
            assert.equal(await readlink(wants), join(unitDir(), unit))
        }
    })

    it("passes systemd-analyze verify --user for every unit it wrote", async () => {
        for (const unit of await readdir(unitDir())) {
            if (!unit.startsWith("homeage")) continue
            const r = await mgr.run("systemd-analyze", ["verify", "--user",
                join(unitDir(), unit)])
            assert.equal(r.code, 0, `${unit}: ${r.stderr}`)
            assert.equal(r.stderr, "", unit)
        }
    })

    it("starts a user unit that requires one secret unit, after it", async () => {
        const unit = secretUnitName("git-netrc")
        await writeFile(join(unitDir(), READER), [
            "[Unit]", `Requires=${unit}`, `After=${unit}`, "[Service]", "Type=oneshot",
            "RemainAfterExit=yes",
            `ExecStart=/bin/sh -c 'cat "$$0" > "$$1"' ${link("git-netrc")} ${state}/reader.out`,
            "",
        ].join("\n"))
        await asUser(join(unitDir(), READER))
        assert.equal((await mgr.systemctl("daemon-reload")).code, 0)

        const r = await mgr.systemctl("start", READER)

        assert.equal(r.code, 0, r.stderr)
        assert.equal(await readFile(join(state, "reader.out"), "utf8"), "secret git-netrc\n")
    })

    it("plans nothing, and asks nothing of the manager, when nothing changed", async () => {
        const r = await driver({ action: "plan", previous: NAMES, next: secrets(NAMES) })

        assert.deepEqual([r.write, r.enable, r.start, r.restart, r.remove, r.summary, r.problems],
            [[], [], [], [], [], [], []])
    })

    it("restarts only the unit of a changed secret, and the unit that requires it", async () => {
        const units = NAMES.map(secretUnitName)
        const before = await Promise.all([...units, READER].map(
            (u) => mgr.property(u, "InvocationID")))
        await clearCalls()

        const r = await driver({ action: "apply", previous: NAMES,
            next: secrets(NAMES, ["git-netrc"]) })

        assert.equal(r.error, undefined, JSON.stringify(r.error))
        assert.deepEqual(r.restart, [secretUnitName("git-netrc")])
        assert.deepEqual(r.start, [TARGET_UNIT])
        const afterIds = await Promise.all([...units, READER].map(
            (u) => mgr.property(u, "InvocationID")))
        assert.deepEqual(afterIds.map((id, i) => id === before[i]), [true, false, true, false])
        assert.deepEqual(await calls(), ["stop git-netrc", "start git-netrc"])
        for (const unit of [...units, READER]) assert.equal(await activeState(unit), "active")
    })

    it("stops every secret at logout and decrypts all in one process at login", async () => {
        await clearCalls()

        await mgr.logout()
        assert.deepEqual((await calls()).sort(), NAMES.map((n) => `stop ${n}`).sort())
        assert.equal(await present(link("git/netrc")), false)
        await clearCalls()

        await mgr.login()

        assert.deepEqual(await calls(), ["start"])
        for (const unit of [BATCH_UNIT, ...NAMES.map(secretUnitName), TARGET_UNIT]) {
            assert.equal(await activeState(unit), "active", unit)
        }
        for (const name of NAMES) {
            assert.equal(await readFile(link(name), "utf8"), `secret ${name}\n`)
        }
    })

    it("fails only the unit of a secret that cannot be installed at login", async () => {
        await writeFile(join(state, "broken", "git-netrc"), "")
        await mgr.logout()
        await clearCalls()
        await rm(join(state, "reader.out"), { force: true })

        await mgr.login()

        assert.deepEqual(await calls(), ["start", "start git-netrc"])
        assert.equal(await activeState(BATCH_UNIT), "failed")
        assert.equal(await activeState(secretUnitName("git-netrc")), "failed")
        assert.equal(await activeState(secretUnitName("git/netrc")), "active")
        assert.equal(await activeState(secretUnitName("api.token_x")), "active")
        assert.notEqual(await activeState(TARGET_UNIT), "active")
        assert.equal(await present(join(secretsDir, "git-netrc")), false)
        assert.equal(await readFile(link("git/netrc"), "utf8"), "secret git/netrc\n")

        const reader = await mgr.systemctl("start", READER)
        assert.notEqual(reader.code, 0)
        assert.equal(await present(join(state, "reader.out")), false)
        assert.notEqual(await activeState(READER), "active")
    })

    it("repairs a failed secret unit on restart, with one process for that secret", async () => {
        await rm(join(state, "broken", "git-netrc"))
        await clearCalls()

        const r = await mgr.systemctl("restart", secretUnitName("git-netrc"))

        assert.equal(r.code, 0, r.stderr)
        assert.deepEqual(await calls(), ["start git-netrc"])
        assert.equal(await readFile(link("git-netrc"), "utf8"), "secret git-netrc\n")
    })

    it("removes a secret's outputs when its unit is stopped", async () => {
        await clearCalls()

        const r = await mgr.systemctl("stop", secretUnitName("git/netrc"))

        assert.equal(r.code, 0, r.stderr)
        assert.deepEqual(await calls(), ["stop git/netrc"])
        assert.equal(await present(join(secretsDir, "git", "netrc")), false)
        assert.equal(await present(link("git/netrc")), false)
        assert.equal(await readFile(link("api.token_x"), "utf8"), "secret api.token_x\n")
    })

    it("stops, disables and deletes the unit of a removed secret", async () => {
        const gone = secretUnitName("api.token_x")
        const kept = NAMES.filter((n) => n !== "api.token_x")
        await clearCalls()

        const r = await driver({ action: "apply", previous: NAMES, next: secrets(kept) })

        assert.equal(r.error, undefined, JSON.stringify(r.error))
        assert.deepEqual(r.remove, [gone])
        assert.deepEqual(r.write, [TARGET_UNIT])
        assert.equal(await present(join(unitDir(), gone)), false)
        assert.equal(await present(join(unitDir(), "default.target.wants", gone)), false)
        assert.equal(await present(link("api.token_x")), false)
        assert.equal(await mgr.property(gone, "LoadState"), "not-found")
        assert.ok((await calls()).includes("stop api.token_x"))
        assert.equal(await activeState(TARGET_UNIT), "active")
    })

    it("removes every unit it owns and leaves the user's own unit alone", async () => {
        const r = await driver({ action: "remove", previous: [], next: [] })

        assert.equal(r.error, undefined, JSON.stringify(r.error))
        const left = await readdir(unitDir())
        assert.deepEqual(left.filter((f) => f.startsWith("homeage")), [])
        assert.ok(left.includes(READER))
        const wants = await readdir(join(unitDir(), "default.target.wants")).catch(() => [])
        assert.deepEqual(wants.filter((f) => f.startsWith("homeage")), [])
        for (const name of NAMES) assert.equal(await present(link(name)), false)
    })
})
