import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { test } from "node:test"

import fc from "fast-check"

import { UsageError } from "../../src/errors.js"
import {
    isHomeageUnitName, secretUnitName, systemdEscape, UNIT_NAME_MAX,
} from "../../src/services/systemd-names.js"

/** Escapes every name with the real `systemd-escape`, in one call. */
function realEscape(names: readonly string[]): string[] {
    const r = spawnSync("systemd-escape", ["--", ...names], { encoding: "utf8" })
    assert.equal(r.status, 0, r.stderr)
    return r.stdout.trimEnd().split(" ")
}

const NAMES = [
    "git/netrc", "git-netrc", ".hidden", "a.b_c", "git/.netrc", "x.", "gh-token", "A-Z/0_9.x",
    "deep/er/path", "_", "9", "a..b", "é", "--", "a b", "tab\tand:colon",
]

test("secret names escape exactly as systemd-escape does", () => {
    assert.deepEqual(NAMES.map(systemdEscape), realEscape(NAMES))
})

test("random names from the secret alphabet escape as systemd-escape does", () => {
    const alphabet = "abcXYZ019._-/".split("").map((c) => fc.constant(c))
    const name = fc.array(fc.oneof(...alphabet), { minLength: 1, maxLength: 24 })
        .map((chars) => chars.join(""))
    const samples = fc.sample(name, { numRuns: 300, seed: 4 })

    assert.deepEqual(samples.map(systemdEscape), realEscape(samples))
})

test("git/netrc and git-netrc get distinct, documented unit names", () => {
    assert.equal(secretUnitName("git/netrc"), "homeage-git-netrc.service")
    assert.equal(secretUnitName("git-netrc"), "homeage-git\\x2dnetrc.service")
    assert.equal(secretUnitName(".env"), "homeage-\\x2eenv.service")
})

test("different secret names never share a unit", () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        fc.pre(a !== b)
        return systemdEscape(a) !== systemdEscape(b)
    }), { seed: 4 })
})

test("a name whose unit name would pass systemd's length limit is a usage error", () => {
    const longest = "a".repeat(UNIT_NAME_MAX - "homeage-.service".length)
    assert.equal(secretUnitName(longest).length, UNIT_NAME_MAX)

    assert.throws(() => secretUnitName(`${longest}a`), (err: unknown) => {
        assert.ok(err instanceof UsageError)
        assert.match(err.message, /^secret a+: its systemd unit name would be 256 bytes/)
        return true
    })
    assert.throws(() => secretUnitName("-".repeat(70)), UsageError)
})

test("homeage's unit names are recognised, others are not", () => {
    for (const file of ["homeage.service", "homeage.target", "homeage-git-netrc.service"]) {
        assert.equal(isHomeageUnitName(file), true, file)
    }
    for (const file of ["homeage-x.timer", "other.service", "homeage", "xhomeage.service"]) {
        assert.equal(isHomeageUnitName(file), false, file)
    }
})
