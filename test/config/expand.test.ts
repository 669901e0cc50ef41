import assert from "node:assert/strict"
import { describe, test } from "node:test"

import {
    type Environment, PATH_VARIABLES, environment, expandVariables, resolvePath,
} from "../../src/config/index.js"

const env: Environment = {
    HOME: "/home/alice",
    USER: "alice",
    UID: 1000,
    GID: 100,
    XDG_RUNTIME_DIR: "/run/user/1000",
    XDG_CONFIG_HOME: "/xdg/config",
    XDG_STATE_HOME: "/xdg/state",
    XDG_DATA_HOME: "/xdg/data",
    XDG_CACHE_HOME: "/xdg/cache",
    HOMEAGE_CONFIG: undefined,
    platform: "linux",
    TMPDIR: "/tmp",
}

const EXPECTED: Record<string, string> = {
    HOME: "/home/alice",
    USER: "alice",
    UID: "1000",
    XDG_RUNTIME_DIR: "/run/user/1000",
    XDG_CONFIG_HOME: "/xdg/config",
    XDG_STATE_HOME: "/xdg/state",
    XDG_DATA_HOME: "/xdg/data",
    XDG_CACHE_HOME: "/xdg/cache",
}

function expand(text: string, e: Environment = env): string {
    const result = expandVariables(text, e)
    assert.ok(result.ok, `expected ${text} to expand`)
    return result.value
}

describe("variables", () => {
    for (const name of PATH_VARIABLES) {
        test(`$${name} and \${${name}} expand to the same value`, () => {
            const want = EXPECTED[name]
            assert.equal(expand(`/a/$${name}/b`), `/a/${want}/b`)
            assert.equal(expand(`/a/\${${name}}/b`), `/a/${want}/b`)
            assert.equal(expand(`/a/\${${name}}x`), `/a/${want}x`)
        })
    }

    test("every listed variable has an expected value in this test", () => {
        assert.deepEqual(Object.keys(EXPECTED).sort(), [...PATH_VARIABLES].sort())
    })

    test("~/ and ~ expand to HOME only at the start", () => {
        assert.equal(expand("~/.config/gh"), "/home/alice/.config/gh")
        assert.equal(expand("~"), "/home/alice")
        assert.equal(expand("/a/~/b"), "/a/~/b")
    })

    test("a value is not expanded again", () => {
        const odd = { ...env, HOME: "/home/$USER" }
        assert.equal(expand("$HOME/x", odd), "/home/$USER/x")
    })

    test("a bare name ends at the first character that cannot be in a name", () => {
        assert.equal(expand("$HOME.d/$USER-x"), "/home/alice.d/alice-x")
        const unknown = expandVariables("$HOMEDIR/x", env)
        assert.ok(!unknown.ok)
        assert.match(unknown.problem, /^\$HOMEDIR is not a variable homeage expands/)
    })

    test("an unset XDG_RUNTIME_DIR is an error, never an empty string", () => {
        const result = expandVariables("${XDG_RUNTIME_DIR}/secrets", {
            ...env, XDG_RUNTIME_DIR: undefined,
        })
        assert.deepEqual(result, {
            ok: false,
            problem: "$XDG_RUNTIME_DIR is not set in the environment "
                + "(set it, or write the path without it)",
        })
    })

    test("environment variables that are not path variables are not expanded", () => {
        process.env.HOMEAGE_TEST_VARIABLE = "/nope"
        const result = expandVariables("$HOMEAGE_TEST_VARIABLE/x", environment())
        delete process.env.HOMEAGE_TEST_VARIABLE
        assert.ok(!result.ok)
    })
})

describe("paths", () => {
    test("paths are normalized, without a trailing slash", () => {
        assert.deepEqual(resolvePath("~/a//b/../c/", env),
            { ok: true, value: "/home/alice/a/c", relative: false })
        assert.deepEqual(resolvePath("/", env), { ok: true, value: "/", relative: false })
    })

    test("a relative path is joined to the base, or is an error without one", () => {
        assert.deepEqual(resolvePath("secrets/x.age", env, { base: "/dots" }),
            { ok: true, value: "/dots/secrets/x.age", relative: true })
        const result = resolvePath("secrets/x.age", env)
        assert.ok(!result.ok)
        assert.equal(result.problem,
            "\"secrets/x.age\" is relative; write an absolute path or one starting with ~/")
    })
})

describe("environment", () => {
    test("XDG folders fall back to their defaults when unset, empty or relative", () => {
        const e = environment({
            HOME: "/h", USER: "u", XDG_CONFIG_HOME: "", XDG_DATA_HOME: "relative/data",
        })
        assert.equal(e.XDG_CONFIG_HOME, "/h/.config")
        assert.equal(e.XDG_STATE_HOME, "/h/.local/state")
        assert.equal(e.XDG_DATA_HOME, "/h/.local/share")
        assert.equal(e.XDG_CACHE_HOME, "/h/.cache")
        assert.equal(e.XDG_RUNTIME_DIR, undefined)
        assert.equal(e.HOMEAGE_CONFIG, undefined)
    })

    test("set XDG folders, HOME and USER are taken from the variables", () => {
        const e = environment({
            HOME: "/h", USER: "u", XDG_CONFIG_HOME: "/c", XDG_STATE_HOME: "/s",
            XDG_DATA_HOME: "/d", XDG_CACHE_HOME: "/k", XDG_RUNTIME_DIR: "/r",
            HOMEAGE_CONFIG: "x.toml",
        })
        assert.deepEqual([e.HOME, e.USER, e.XDG_CONFIG_HOME, e.XDG_STATE_HOME, e.XDG_DATA_HOME,
            e.XDG_CACHE_HOME, e.XDG_RUNTIME_DIR, e.HOMEAGE_CONFIG],
        ["/h", "u", "/c", "/s", "/d", "/k", "/r", "x.toml"])
    })

    test("UID and GID come from the process, not from variables", () => {
        const e = environment({ HOME: "/h", UID: "4242" })
        assert.equal(e.UID, process.getuid?.())
        assert.equal(e.GID, process.getgid?.())
    })
})
