import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { test } from "node:test"
import { fileURLToPath } from "node:url"

import { UsageError } from "../../src/errors.js"
import {
    quoteAssignment, quoteExecWord, renderBatchUnit, renderSecretUnit, renderUnits, UNIT_MARKER,
} from "../../src/services/systemd.js"
import { defaultServicePath } from "../../src/services/setup.js"
import type { ServiceSecret, ServiceSetup } from "../../src/services/types.js"

const CLI = fileURLToPath(new URL("../../../bin/homeage.js", import.meta.url))

function setup(configHome: string): ServiceSetup {
    return {
        node: process.execPath, cli: CLI, path: "/usr/local/bin:/usr/bin:/bin",
        environment: { XDG_STATE_HOME: "/home/al ice/.state $HOME 100%" },
        home: "/home/al ice", configHome, uid: 1000,
    }
}

function secret(name: string, extra: Partial<ServiceSecret> = {}): ServiceSecret {
    return {
        name, path: `/run/user/1000/secrets/${name}`, symlinks: [], copies: [], changed: false,
        ...extra,
    }
}

test("the unit of a secret, byte for byte", () => {
    const unit = renderSecretUnit(secret("git/netrc", {
        symlinks: ["/home/a/.netrc"], copies: ["/home/a/it's 100%.txt"],
    }), { ...setup("/c"), node: "/usr/bin/node", cli: "/opt/homeage/bin/homeage.js",
        path: "/usr/bin:/bin", environment: {} })

    assert.equal(unit, [
        UNIT_MARKER,
        "[Unit]",
        "Description=homeage secret git/netrc",
        "After=homeage.service",
        "PartOf=homeage.service",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        "Environment=\"PATH=/usr/bin:/bin\"",
        "ExecStart=/bin/sh -c 'n=$$1 c=$$2 s=$$3; shift 3; " +
            "ready() { for f; do [ -s \"$$f\" ] || return 1; done; }; ready \"$$@\" && exit 0; " +
            "\"$$n\" \"$$c\" start -- \"$$s\" || exit; for f; do [ -s \"$$f\" ] && continue; " +
            "echo \"homeage: secret $$s: $$f is missing or empty\" >&2; exit 1; done' " +
            "homeage-check /usr/bin/node /opt/homeage/bin/homeage.js git/netrc " +
            "/run/user/1000/secrets/git/netrc /home/a/.netrc \"/home/a/it's 100%%.txt\"",
        "ExecStop=/usr/bin/node /opt/homeage/bin/homeage.js stop --from-unit -- git/netrc",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ].join("\n"))
})

test("the batch unit runs homeage start once, for every secret", () => {
    const unit = renderBatchUnit({ ...setup("/c"), node: "/usr/bin/node",
        cli: "/opt/homeage/bin/homeage.js" })

    assert.match(unit, /^# Managed by homeage; changes are overwritten\n/)
    assert.match(unit, /\nExecStart=\/usr\/bin\/node \/opt\/homeage\/bin\/homeage\.js start\n/)
    assert.match(unit, /\nEnvironment="XDG_STATE_HOME=\/home\/al ice\/\.state \$HOME 100%%"\n/)
    assert.match(unit, /\nType=oneshot\nRemainAfterExit=yes\n/)
    assert.match(unit, /\nWantedBy=default\.target\n$/)
})

test("words and assignments are quoted for systemd's parser", () => {
    assert.equal(quoteExecWord("/usr/bin/node"), "/usr/bin/node")
    assert.equal(quoteExecWord("a b"), "'a b'")
    assert.equal(quoteExecWord("$HOME 5%"), "'$$HOME 5%%'")
    assert.equal(quoteExecWord("it's"), "\"it's\"")
    assert.equal(quoteExecWord("back\\slash \"q\"\n"), "\"back\\\\slash \\\"q\\\"\\n\"")
    assert.equal(quoteExecWord(""), "''")
    assert.equal(quoteAssignment("X", "a\"b\\c%d$e"), "\"X=a\\\"b\\\\c%%d$e\"")
})

test("every rendered unit passes systemd-analyze verify --user", async () => {
    const root = await mkdtemp(join(tmpdir(), "homeage-verify-"))
    try {
        const configHome = join(root, "config")
        const unitDir = join(configHome, "systemd", "user")
        const runtimeDir = join(root, "runtime")
        await mkdir(unitDir, { recursive: true })
        await mkdir(runtimeDir)
        const secrets = [
            secret("git/netrc", { symlinks: ["/home/al ice/.netrc"] }),
            secret("git-netrc", { copies: ["/home/al ice/it's \"quoted\" $x 100%"] }),
            secret(".hidden"), secret("a.b_c"), secret("deep/er/x-y.z"), secret("_x"),
        ]
        const files = renderUnits(secrets, setup(configHome))
        assert.equal(files.size, secrets.length + 2)

        for (const [file, content] of files) await writeFile(join(unitDir, file), content)
        for (const file of files.keys()) {
            const r = spawnSync("systemd-analyze", ["verify", "--user", join(unitDir, file)], {
                encoding: "utf8",
                env: { PATH: process.env.PATH, XDG_CONFIG_HOME: configHome,
                    XDG_RUNTIME_DIR: runtimeDir },
            })
            assert.equal(r.status, 0, `${file}: ${r.stderr}`)
            assert.equal(r.stderr, "", file)
        }
    } finally {
        await rm(root, { recursive: true, force: true })
    }
})

test("a relative output path or Node.js path is a usage error naming it", () => {
    assert.throws(() => renderSecretUnit(secret("x", { symlinks: ["rel/link"] }), setup("/c")),
        (err: unknown) => err instanceof UsageError &&
            err.message === "secret x: output paths must be absolute: rel/link")
    assert.throws(() => renderBatchUnit({ ...setup("/c"), node: "node" }),
        (err: unknown) => err instanceof UsageError &&
            err.problems.includes("the Node.js path node is not absolute"))
    assert.throws(() => renderBatchUnit({ ...setup("/c"), environment: { "A-B": "x" } }),
        (err: unknown) => err instanceof UsageError &&
            err.problems.includes("A-B is not a valid environment variable name"))
})

test("the default PATH starts with the Node.js binary's folder", () => {
    assert.equal(defaultServicePath("/home/a/.nvm/versions/node/v20/bin/node"),
        "/home/a/.nvm/versions/node/v20/bin:/usr/local/bin:/usr/bin:/bin")
    assert.equal(defaultServicePath("/usr/bin/node"), "/usr/bin:/usr/local/bin:/bin")
})
