/**
 * `homeage init`: a starter `homeage.toml` in the current folder and, when no
 * usable identity exists among the default identity files, a new one at
 * `$XDG_CONFIG_HOME/homeage/identity.txt`, whose recipient goes into the
 * config's `recipients`.
 */
import { access } from "node:fs/promises"
import { dirname, join } from "node:path"

import { generateIdentity, identityToRecipient } from "age-encryption"

import { type IdentitySet, loadIdentities, recipientLinesOf } from "../age/index.js"
import {
    CONFIG_EXTENSIONS, type Environment, type InstallationType, defaultIdentityCandidates,
} from "../config/index.js"
import { OperationError, errnoOf, messageOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { makeFolders } from "../fs/folders.js"
import { type ManagerProbe, Systemctl } from "../services/systemctl.js"
import { createFileNoClobber } from "./files.js"
import { defaultIdentityFile, displayPath } from "./paths.js"
import type { Reporter } from "./reporter.js"

/** Name of the config file `init` writes. */
export const STARTER_CONFIG_NAME = "homeage.toml"

/** Mode of a new identity file: the user's alone, as age-keygen makes it. */
const IDENTITY_FILE_MODE = 0o600

/** Mode of the config file: it holds no secret, so it may be shared and committed. */
const CONFIG_FILE_MODE = 0o644

/** The encrypted file the starter config's example secret points at. */
export const EXAMPLE_SOURCE = "secrets/example.age"

/** Longest piece of a service manager's own error message quoted in the config (characters). */
const MAX_REASON_CHARS = 120

/** What {@link initProject} needs. */
export interface InitOptions {
    /** The folder the config is written to. */
    cwd: string
    /** The environment the default identity files are found in. */
    env: Environment
    /** Receives warnings about unusable identity files, and details. */
    report: Reporter
    /** The operating system, default `process.platform`; decides the installation type. */
    platform?: NodeJS.Platform
    /** Asks whether a systemd user manager is reachable; default: `systemctl --user`. */
    probeSystemd?: () => Promise<ManagerProbe>
}

/** The installation type a starter config declares, and why. */
export interface StarterInstallation {
    type: InstallationType
    /** Why this type was chosen, when it is not the platform's usual one. */
    reason?: string | undefined
}

/** What {@link initProject} did. */
export interface InitResult {
    /** Absolute path of the config written. */
    configFile: string
    /** Absolute path of the identity created, when one was. */
    identityFile: string | undefined
    /** The recipients written into the config. */
    recipients: string[]
    /** The installation type written into the config. */
    installation: StarterInstallation
}

/**
 * Writes a starter config in `cwd` and creates an identity if none is usable.
 * Refuses with an `OperationError` (nothing written) when `cwd` already holds a
 * `homeage.{toml,yaml,yml,json}`, or when no identity is usable but the
 * default identity file exists (it is never overwritten). The recipients of
 * existing identities are read without asking for a passphrase.
 */
export async function initProject(options: InitOptions): Promise<InitResult> {
    const { cwd, env, report } = options
    await refuseExistingConfig(cwd)

    const existing = await existingFiles(defaultIdentityCandidates(env))
    const identities = await loadIdentities(existing, {
        warn: (m) => { report.warn(m) },
        passphrase: () => Promise.resolve(undefined),
        required: false,
    })

    let identityFile: string | undefined
    let recipients: string[]
    if (identities.size > 0) {
        recipients = await recipientsOf(identities, report)
        for (const file of existing) report.detail(`using the identity ${file}`)
    } else {
        identityFile = defaultIdentityFile(env)
        recipients = [await createIdentity(identityFile)]
    }

    const installation = await chooseInstallation(options)
    const configFile = join(cwd, STARTER_CONFIG_NAME)
    try {
        await createFileNoClobber(configFile,
            Buffer.from(starterConfig(recipients, installation)), CONFIG_FILE_MODE)
    } catch (err) {
        throw new OperationError(errnoOf(err) === "EEXIST"
            ? `${configFile} appeared while init ran; it was left unchanged`
            : `cannot write ${configFile}: ${fsReason(err, configFile)}`, { cause: err })
    }
    return { configFile, identityFile, recipients, installation }
}

/**
 * The installation type for this machine: launchd on macOS; on Linux systemd
 * when a systemd user manager answers (one cheap `systemctl --user` call),
 * else activation, with the manager's answer as the reason; activation
 * anywhere else.
 */
export async function chooseInstallation(options: InitOptions): Promise<StarterInstallation> {
    const platform = options.platform ?? process.platform
    if (platform === "darwin") return { type: "launchd" }
    if (platform !== "linux") {
        return { type: "activation", reason: `${platform} has no supported service manager` }
    }

    const probe = await (options.probeSystemd ?? (() => new Systemctl().probe()))()
    if (probe.reachable) return { type: "systemd" }
    return { type: "activation", reason: `no systemd user manager answered: ${probe.reason}` }
}

/** A reason as one short comment line: no control characters, at most 120 characters. */
function commentText(text: string): string {
    const flat = text.replace(/\p{Cc}+/gu, " ").trim()
    return flat.length > MAX_REASON_CHARS ? `${flat.slice(0, MAX_REASON_CHARS - 1)}…` : flat
}

/** The installationType lines of the starter config, with a comment saying why. */
function installationLines(installation: StarterInstallation): string {
    const line = `installationType = "${installation.type}"\n`
    if (installation.type === "systemd") {
        return "# How secrets come back after a reboot: a systemd user unit per secret runs\n"
            + "# at login (docs/services.md).\n" + line
    }
    if (installation.type === "launchd") {
        return "# How secrets come back after a reboot: a launchd agent runs homeage start\n"
            + "# at login (docs/services.md).\n" + line
    }
    const why = installation.reason === undefined ? ""
        : `# When this file was written, ${commentText(installation.reason)}.\n`
    return "# How secrets come back after a reboot: with \"activation\", homeage activate\n"
        + "# decrypts them and nothing does at login; run `homeage start` at login yourself\n"
        + "# (docs/services.md).\n"
        + why
        + "# To let systemd user units do it, set installationType = \"systemd\" and run\n"
        + "# homeage activate from a login session (where `systemctl --user` works).\n"
        + line
}

async function refuseExistingConfig(cwd: string): Promise<void> {
    for (const ext of CONFIG_EXTENSIONS) {
        const file = join(cwd, `homeage.${ext}`)
        if (!await exists(file)) continue
        throw new OperationError(`${file} already exists; init leaves it unchanged `
            + "(edit it, or move it away to start over)")
    }
}

async function exists(path: string): Promise<boolean> {
    try {
        await access(path)
        return true
    } catch (err) {
        return errnoOf(err) !== "ENOENT"
    }
}

async function existingFiles(paths: string[]): Promise<string[]> {
    const found: string[] = []
    for (const path of paths) {
        if (await exists(path)) found.push(path)
    }
    return found
}

/**
 * Creates a new X25519 identity file in the layout of age-keygen (a `created`
 * and a `public key` comment, then the key), mode 0600, never over an existing
 * file. Missing folders on the way are created 0700. Returns its recipient.
 */
export async function createIdentity(file: string): Promise<string> {
    const identity = await generateIdentity()
    const recipient = await identityToRecipient(identity)
    const created = new Date().toISOString().replace(/\.\d+Z$/, "Z")
    const text = `# created: ${created}\n# public key: ${recipient}\n${identity}\n`

    await makeFolders(dirname(file))
    try {
        await createFileNoClobber(file, Buffer.from(text), IDENTITY_FILE_MODE)
    } catch (err) {
        if (errnoOf(err) === "EEXIST") {
            throw new OperationError(`${file} exists but holds no usable identity (see the `
                + "warning above); fix it or move it away, then run init again", { cause: err })
        }
        throw new OperationError(`cannot create the identity ${file}: ${fsReason(err, file)}`,
            { cause: err })
    }
    return recipient
}

/**
 * The recipients of the usable identities, read without asking for any
 * passphrase; a passphrase-encrypted identity file makes this give up with a
 * warning (the user then fills in `recipients`).
 */
async function recipientsOf(identities: IdentitySet, report: Reporter): Promise<string[]> {
    try {
        return [...new Set(await recipientLinesOf(identities))]
    } catch (err) {
        report.warn(`cannot read the recipients of your identities (${messageOf(err)}); `
            + "add your public keys to `recipients` in the config")
        return []
    }
}

/**
 * The text of the starter config: the given recipients, the optional keys as
 * comments with their defaults, and a commented example secret. It loads with
 * the config loader as written.
 */
export function starterConfig(
    recipients: string[], installation: StarterInstallation = { type: "systemd" },
): string {
    const list = recipients.length === 0
        ? "recipients = []  # add your public keys here\n"
        : `recipients = [\n${recipients.map((r) => `    ${JSON.stringify(r)},\n`).join("")}]\n`

    return `# homeage config: which secrets this home folder has, and where they go.
# Each secret is an age-encrypted file kept next to this config (safe to commit);
# \`homeage activate\` decrypts them into memory (tmpfs) and links them into place.

# Who can decrypt the secrets: \`homeage edit\` and \`homeage rekey\` encrypt to
# these. Add a line per machine or person (age1… or "ssh-ed25519 AAAA…"), then
# run \`homeage rekey\`.
${list}
# Identity files that decrypt the secrets. Default: those of ~/.ssh/id_ed25519,
# ~/.ssh/id_rsa and $XDG_CONFIG_HOME/homeage/identity.txt that exist.
# identityPaths = ["$XDG_CONFIG_HOME/homeage/identity.txt"]

# Where the plaintext lives; it must be on tmpfs.
# runtimeDir = "$XDG_RUNTIME_DIR/secrets"

${installationLines(installation)}
# A secret. Write its encrypted file first with
# \`homeage edit ${EXAMPLE_SOURCE} -r RECIPIENT\`, then uncomment these lines;
# from then on \`homeage edit example\` changes it and \`homeage activate\` puts
# it in place.
# [secrets.example]
# source = "${EXAMPLE_SOURCE}"
# symlinks = ["~/.config/example/token"]
`
}

/**
 * The line `init` prints last: the command that writes a first secret, with
 * every recipient of the config as a `-r` (quoted for a shell), and what to
 * do after.
 */
export function nextStep(result: InitResult, cwd: string): string {
    const config = displayPath(result.configFile, cwd)
    const quoted = (r: string): string =>
        /^[A-Za-z0-9]+$/.test(r) ? r : `'${r.replaceAll("'", "'\\''")}'`
    const flags = result.recipients.length === 0 ? "-r RECIPIENT"
        : result.recipients.map((r) => `-r ${quoted(r)}`).join(" ")
    return `next: run \`homeage edit ${EXAMPLE_SOURCE} ${flags}\` to write a first `
        + `secret, then uncomment [secrets.example] in ${config} and run \`homeage activate\``
}
