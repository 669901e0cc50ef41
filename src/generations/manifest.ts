/**
 * A generation's manifest: everything needed to re-create, check or clean up
 * its outputs without the config file or the dotfiles checkout. Every path is
 * absolute and fully resolved; sources are referred to by store hash.
 */
import { z } from "zod"

import { OperationError } from "../errors.js"

/** Version of the manifest format, bumped on incompatible changes. */
export const MANIFEST_VERSION = 1

const secretSchema = z.object({
    name: z.string().min(1),
    source: z.string(),
    storeHash: z.string().regex(/^[0-9a-f]{64}$/),
    path: z.string().startsWith("/"),
    mode: z.number().int().min(0).max(0o7777),
    owner: z.string().nullable(),
    group: z.string().nullable(),
    uid: z.number().int().nullable(),
    gid: z.number().int().nullable(),
    symlinks: z.array(z.string().startsWith("/")),
    copies: z.array(z.string().startsWith("/")),
    plaintextHash: z.string(),
}).strict()

const manifestSchema = z.object({
    version: z.literal(MANIFEST_VERSION),
    generation: z.number().int().positive(),
    created: z.string(),
    configFile: z.string().nullable(),
    runtimeDir: z.string().startsWith("/"),
    installationType: z.enum(["systemd", "launchd", "activation"]),
    allowPersistentRuntimeDir: z.boolean(),
    identityPaths: z.array(z.string()),
    createdFolders: z.array(z.string().startsWith("/")),
    secrets: z.array(secretSchema),
}).strict()

/** One secret of a generation, fully resolved. */
export interface ManifestSecret {
    /** The secret's name from the config. */
    name: string
    /** Where the encrypted source came from (for messages only; the store has the bytes). */
    source: string
    /** SHA-256 (hex) of the encrypted source: its name in the store. */
    storeHash: string
    /** Absolute path of the plaintext. */
    path: string
    /** Mode of the plaintext and its copies. */
    mode: number
    /** Owner and group as written in the config; `null` means the running user. */
    owner: string | null
    group: string | null
    /** Resolved ids applied with fchown; `null` leaves the running user's. */
    uid: number | null
    gid: number | null
    /** Absolute paths of symlinks to `path`. */
    symlinks: string[]
    /** Absolute paths of copies of the plaintext. */
    copies: string[]
    /** Keyed hash of the plaintext (see keyed-hash.ts), to recognize what homeage wrote. */
    plaintextHash: string
}

/** A generation: a numbered, immutable description of one activation. */
export interface Manifest {
    version: typeof MANIFEST_VERSION
    /** The generation number, from 1. */
    generation: number
    /** When it was made (ISO 8601). */
    created: string
    /** The config file it was made from, if any (for messages only). */
    configFile: string | null
    /** Absolute path of the runtime dir. */
    runtimeDir: string
    installationType: "systemd" | "launchd" | "activation"
    allowPersistentRuntimeDir: boolean
    /** Identity files that `start` uses to decrypt. */
    identityPaths: string[]
    /** Folders homeage created for this generation's outputs, outermost first. */
    createdFolders: string[]
    secrets: ManifestSecret[]
}

/** Parses and validates a manifest file's text; `file` names it in errors. */
export function parseManifest(text: string, file: string): Manifest {
    let data: unknown
    try {
        data = JSON.parse(text)
    } catch (err) {
        throw new OperationError(`the manifest ${file} is not valid JSON; ` +
            "run homeage activate to write a new generation", { cause: err })
    }

    const result = manifestSchema.safeParse(data)
    if (!result.success) {
        const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)
        throw new OperationError(`the manifest ${file} is damaged; ` +
            "run homeage activate to write a new generation", { problems })
    }
    return result.data
}

/** The manifest's file text: stable key order, two-space indent, final newline. */
export function serializeManifest(manifest: Manifest): string {
    return `${JSON.stringify(manifest, null, 2)}\n`
}

/**
 * Whether two manifests describe the same outputs (ignoring number, time,
 * config file and created folders), so an activation can be a no-op.
 */
export function sameOutputs(a: Manifest, b: Manifest): boolean {
    const essence = (m: Manifest): string => JSON.stringify({
        runtimeDir: m.runtimeDir,
        installationType: m.installationType,
        allowPersistentRuntimeDir: m.allowPersistentRuntimeDir,
        identityPaths: m.identityPaths,
        secrets: m.secrets.map((s) => ({ ...s, source: undefined })),
    })
    return essence(a) === essence(b)
}
