import assert from "node:assert/strict"
import { test } from "node:test"

import { type Config, type SecretConfig, findConflicts } from "../../src/config/index.js"

function secret(name: string, fields: Partial<SecretConfig> = {}): SecretConfig {
    return {
        name,
        source: `/dots/${name}.age`,
        path: `/run/s/${name}`,
        mode: 0o400,
        owner: undefined,
        group: undefined,
        symlinks: [],
        copies: [],
        recipients: [],
        ...fields,
    }
}

function config(...secrets: SecretConfig[]): Config {
    return {
        file: "/dots/homeage.toml",
        identityPaths: [],
        runtimeDir: "/run/s",
        installationType: "activation",
        recipients: [],
        allowPersistentRuntimeDir: false,
        generationsToKeep: 10,
        secrets,
    }
}

test("distinct outputs have no conflicts", () => {
    assert.deepEqual(findConflicts(config(
        secret("a", { symlinks: ["/h/a"], copies: ["/h/a-copy"] }),
        secret("b", { symlinks: ["/h/b"], copies: ["/h/b-copy"] }),
        secret("dir/c"),
    )), [])
})

test("two secrets with the same path", () => {
    assert.deepEqual(findConflicts(config(secret("a"), secret("b", { path: "/run/s/a" }))), [
        "secrets.b.path: /run/s/a is also secrets.a.path; a file can be the output of one "
            + "secret only",
    ])
})

test("a symlink or copy at another secret's symlink, copy or path", () => {
    assert.deepEqual(findConflicts(config(
        secret("a", { symlinks: ["/h/link"], copies: ["/h/copy"] }),
        secret("b", { symlinks: ["/h/copy"], copies: ["/h/link", "/run/s/a"] }),
    )), [
        "secrets.b.symlinks[0]: /h/copy is also secrets.a.copies[0]; a file can be the output "
            + "of one secret only",
        "secrets.b.copies[0]: /h/link is also secrets.a.symlinks[0]; a file can be the output "
            + "of one secret only",
        "secrets.b.copies[1]: /run/s/a is also secrets.a.path; a file can be the output of "
            + "one secret only",
    ])
})

test("a symlink at its own secret's path, and outputs listed twice in one secret", () => {
    assert.deepEqual(findConflicts(config(
        secret("a", { symlinks: ["/run/s/a", "/h/x"], copies: ["/h/x", "/run/s/a"] }),
    )), [
        "secrets.a.symlinks[0]: /run/s/a is the secret's own path; a symlink there would point "
            + "at itself",
        "secrets.a.copies[0]: /h/x is listed twice in this secret (also secrets.a.symlinks[1])",
        "secrets.a.copies[1]: /run/s/a is the secret's own path; a copy there would replace it",
    ])
})

test("an output inside another secret's path", () => {
    assert.deepEqual(findConflicts(config(
        secret("a"),
        secret("a/b"),
        secret("c", { symlinks: ["/h/c"] }),
        secret("d", { copies: ["/h/c/d"] }),
    )), [
        "secrets.a/b.path: /run/s/a/b is inside /run/s/a, which is secrets.a.path "
            + "(a file, not a folder)",
        "secrets.d.copies[0]: /h/c/d is inside /h/c, which is secrets.c.symlinks[0] "
            + "(a file, not a folder)",
    ])
})

test("an output at or above the runtime dir", () => {
    assert.deepEqual(findConflicts(config(secret("a", { path: "/run/s" }))), [
        "secrets.a.path: /run/s is the runtime dir itself",
    ])
    assert.deepEqual(findConflicts(config(secret("b", { symlinks: ["/run"] }))), [
        "secrets.b.path: /run/s/b is inside /run, which is secrets.b.symlinks[0] "
            + "(a file, not a folder)",
        "secrets.b.symlinks[0]: /run contains the runtime dir /run/s",
    ])
})

test("an output at the config file, a source or an identity file is a conflict", () => {
    const c = config(
        secret("a", { copies: ["/dots/homeage.toml", "/dots/b.age"] }),
        secret("b", { symlinks: ["/keys/id.txt"] }),
    )
    c.identityPaths = ["/keys/id.txt"]
    assert.deepEqual(findConflicts(c), [
        "secrets.a.copies[0]: /dots/homeage.toml is the config file; plaintext must never "
            + "replace it: choose another target",
        "secrets.a.copies[1]: /dots/b.age is the encrypted source of secret b; plaintext must "
            + "never replace it: choose another target",
        "secrets.b.symlinks[0]: /keys/id.txt is an identity file; plaintext must never "
            + "replace it: choose another target",
    ])
})

test("an output in or above the state dir is a conflict", () => {
    const state = { stateDir: "/h/.local/state/homeage" }
    const inside = config(secret("a", { path: "/h/.local/state/homeage/plain" }))
    assert.deepEqual(findConflicts(inside, state), [
        "secrets.a.path: /h/.local/state/homeage/plain is in homeage's state dir "
            + "/h/.local/state/homeage; choose a target outside it",
    ])
    const at = config(secret("b", { symlinks: ["/h/.local/state/homeage"] }))
    assert.deepEqual(findConflicts(at, state), [
        "secrets.b.symlinks[0]: /h/.local/state/homeage is in homeage's state dir "
            + "/h/.local/state/homeage; choose a target outside it",
    ])
    const above = config(secret("c", { copies: ["/h/.local"] }))
    assert.deepEqual(findConflicts(above, state), [
        "secrets.c.copies[0]: /h/.local is above homeage's state dir "
            + "/h/.local/state/homeage; choose a target outside it",
    ])
    assert.deepEqual(findConflicts(inside), [])
})
