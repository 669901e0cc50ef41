/**
 * What an activation wants on disk, before it is checked: every secret with
 * its encrypted source bytes, resolved paths and numeric owner. Built from a
 * loaded config, or from a stored generation (rollback), so the switch works
 * the same way for both.
 */
import { readFileSync } from "node:fs"
import { resolve } from "node:path"

import type { Config } from "../config/types.js"
import { messageOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { groupId, userId } from "../fs/accounts.js"
import type { Manifest, ManifestSecret } from "../generations/manifest.js"
import { readSource, sha256Hex } from "../generations/store.js"

/** A secret as it should be, with its encrypted source. */
export interface DesiredSecret extends Omit<ManifestSecret, "plaintextHash"> {
    /** The encrypted source bytes. */
    ciphertext: Uint8Array
    /**
     * The recipients the config declares for it, as written, so the check can
     * say when the file is not encrypted to them; absent for a stored generation.
     */
    recipients?: string[]
}

/** Everything an activation wants, plus the problems found while gathering it. */
export interface Desired {
    /**
     * Where it comes from: a config, whose conflicts visible as text were
     * found by the config's own check, or a stored generation (rollback).
     */
    origin: "config" | "generation"
    configFile: string | null
    runtimeDir: string
    installationType: Manifest["installationType"]
    allowPersistentRuntimeDir: boolean
    identityPaths: string[]
    secrets: DesiredSecret[]
    /** Sources that cannot be read, unknown owners: reported with the other check problems. */
    problems: string[]
}

/** A secret's manifest fields, without its source bytes and plaintext hash. */
export function describedSecret(
    secret: Omit<ManifestSecret, "plaintextHash">,
): Omit<ManifestSecret, "plaintextHash"> {
    return {
        name: secret.name, source: secret.source, storeHash: secret.storeHash,
        path: secret.path, mode: secret.mode, owner: secret.owner, group: secret.group,
        uid: secret.uid, gid: secret.gid, symlinks: secret.symlinks, copies: secret.copies,
    }
}

function euid(): number {
    return process.geteuid?.() ?? 0
}

async function resolveOwner(
    name: string, owner: string | undefined, group: string | undefined, problems: string[],
): Promise<{ uid: number | null, gid: number | null }> {
    let uid: number | null = null
    let gid: number | null = null
    const root = euid() === 0

    if (owner !== undefined) {
        const id = await userId(owner)
        if (id === undefined) {
            problems.push(`secret ${name}: owner "${owner}" is not a user on this machine; ` +
                `fix secrets.${name}.owner`)
        } else if (!root && id !== euid()) {
            problems.push(`secret ${name}: only root can give a file to user "${owner}"; ` +
                `remove secrets.${name}.owner or run homeage as root`)
        } else {
            uid = id
        }
    }

    if (group !== undefined) {
        const id = await groupId(group)
        const mine = process.getgroups?.() ?? []
        if (id === undefined) {
            problems.push(`secret ${name}: group "${group}" is not a group on this machine; ` +
                `fix secrets.${name}.group`)
        } else if (!root && !mine.includes(id) && id !== process.getegid?.()) {
            problems.push(`secret ${name}: you are not a member of group "${group}", so ` +
                `homeage cannot give the file to it; fix secrets.${name}.group or run as root`)
        } else {
            gid = id
        }
    }
    return { uid, gid }
}

/** Reads every source a config declares and resolves owners; problems are collected. */
export async function desiredFromConfig(config: Config): Promise<Desired> {
    const problems: string[] = []
    const secrets: DesiredSecret[] = []

    for (const secret of config.secrets) {
        let ciphertext: Uint8Array
        try {
            ciphertext = readFileSync(secret.source)
        } catch (err) {
            problems.push(`secret ${secret.name}: cannot read its source ${secret.source}: ` +
                `${fsReason(err, secret.source)}; fix secrets.${secret.name}.source`)
            continue
        }
        const ids = await resolveOwner(secret.name, secret.owner, secret.group, problems)
        secrets.push({
            name: secret.name,
            source: secret.source,
            storeHash: sha256Hex(ciphertext),
            path: resolve(secret.path),
            mode: secret.mode,
            owner: secret.owner ?? null,
            group: secret.group ?? null,
            ...ids,
            symlinks: secret.symlinks.map((p) => resolve(p)),
            copies: secret.copies.map((p) => resolve(p)),
            ciphertext,
            recipients: secret.recipients,
        })
    }

    return {
        origin: "config",
        configFile: config.file,
        runtimeDir: resolve(config.runtimeDir),
        installationType: config.installationType,
        allowPersistentRuntimeDir: config.allowPersistentRuntimeDir,
        identityPaths: config.identityPaths,
        secrets,
        problems,
    }
}

/**
 * What a stored generation wants, with sources read back from the store: the
 * input of a rollback. Owners are resolved again, as users may have changed.
 */
export async function desiredFromManifest(
    storeDir: string, manifest: Manifest,
): Promise<Desired> {
    const problems: string[] = []
    const secrets: DesiredSecret[] = []

    for (const secret of manifest.secrets) {
        let ciphertext: Uint8Array
        try {
            ciphertext = readSource(storeDir, secret.storeHash)
        } catch (err) {
            problems.push(`secret ${secret.name}: ${messageOf(err)}`)
            continue
        }
        const ids = await resolveOwner(secret.name, secret.owner ?? undefined,
            secret.group ?? undefined, problems)
        secrets.push({ ...describedSecret(secret), ...ids, ciphertext })
    }

    return {
        origin: "generation",
        configFile: manifest.configFile,
        runtimeDir: manifest.runtimeDir,
        installationType: manifest.installationType,
        allowPersistentRuntimeDir: manifest.allowPersistentRuntimeDir,
        identityPaths: manifest.identityPaths,
        secrets,
        problems,
    }
}
