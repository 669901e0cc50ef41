/**
 * A generation's manifest: everything needed to re-create, check or clean up
 * its outputs without the config file or the dotfiles checkout. Every path is
 * absolute and fully resolved; sources are referred to by store hash.
 */
import { createHash } from "node:crypto"

import { OperationError } from "../errors.js"
import type { ManifestCheck } from "./manifest-schema.js"

/** Version of the manifest format, bumped on incompatible changes. */
export const MANIFEST_VERSION = 1

/** The key of the digest in a manifest file, after the generation's own keys. */
const DIGEST_KEY = "digest"

/** How a digest value starts: the name of its hash. */
const DIGEST_PREFIX = "sha256:"

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

let validations = 0

/**
 * How many manifests this process has validated against the schema. An
 * intact manifest is read without it; tests use this count to show so.
 */
export function manifestValidations(): number {
    return validations
}

/**
 * The digest of a generation: SHA-256 over its body exactly as
 * {@link serializeManifest} writes it, without the digest itself.
 */
function digestOf(body: unknown): string {
    const text = JSON.stringify(body, null, 2)
    return DIGEST_PREFIX + createHash("sha256").update(text).digest("hex")
}

/**
 * `data` without its digest when the digest vouches for it: homeage wrote
 * exactly this body, after validating it, in this format version. `undefined`
 * when there is no digest, it does not match (the file was edited or
 * damaged), or the version is another one.
 */
function vouchedFor(data: unknown): Manifest | undefined {
    if (!isRecord(data)) return undefined

    const digest = data[DIGEST_KEY]
    const body = withoutDigest(data)
    if (typeof digest !== "string" || body.version !== MANIFEST_VERSION) return undefined
    return digestOf(body) === digest ? body as unknown as Manifest : undefined
}

function isRecord(data: unknown): data is Record<string, unknown> {
    return typeof data === "object" && data !== null && !Array.isArray(data)
}

/** A copy of `data` without the digest, its other keys in their order. */
function withoutDigest(data: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(data).filter(([key]) => key !== DIGEST_KEY))
}

/**
 * Validates parsed manifest data against the schema, which is loaded on first
 * use. A digest is left out: it belongs to the file, not to the generation,
 * and whatever it says, the data is checked in full here.
 */
async function validate(data: unknown): Promise<ManifestCheck> {
    validations++
    const { checkManifest } = await import("./manifest-schema.js")
    return checkManifest(isRecord(data) ? withoutDigest(data) : data)
}

/** Manifests read from a file whose digest did not vouch for them. */
const unvouched = new WeakSet<Manifest>()

/**
 * Parses a manifest file's text; `file` names it in errors. A manifest whose
 * digest matches its body is what homeage validated and wrote, and is taken as
 * it is; one without a digest (written by an earlier version) or whose digest
 * does not match (edited by hand, damaged) is validated against the schema.
 * @throws OperationError when the text is not JSON or does not match the
 *   schema, with one problem per mismatch.
 */
export async function parseManifest(text: string, file: string): Promise<Manifest> {
    let data: unknown
    try {
        data = JSON.parse(text)
    } catch (err) {
        throw new OperationError(`the manifest ${file} is not valid JSON; ` +
            "run homeage activate to write a new generation", { cause: err })
    }

    const vouched = vouchedFor(data)
    if (vouched !== undefined) return vouched

    const result = await validate(data)
    if (!result.ok) {
        throw new OperationError(`the manifest ${file} is damaged; ` +
            "run homeage activate to write a new generation", { problems: result.problems })
    }
    unvouched.add(result.manifest)
    return result.manifest
}

/**
 * Whether `manifest` was read from a file without a matching digest (written
 * by an earlier version, or edited by hand): every read of that file runs the
 * schema until it is written again.
 */
export function lacksDigest(manifest: Manifest): boolean {
    return unvouched.has(manifest)
}

/**
 * Checks a manifest homeage is about to write against the schema, so that a
 * digest always vouches for a valid manifest. `file` is where it goes.
 * @throws OperationError listing the mismatches; nothing is written then.
 */
export async function validateManifest(manifest: Manifest, file: string): Promise<void> {
    const result = await validate(manifest)
    if (result.ok) return

    throw new OperationError(`homeage made an invalid manifest for ${file} and did not ` +
        "write it; please report this as a bug", { problems: result.problems })
}

/**
 * The manifest's file text: stable key order, two-space indent, final newline,
 * and last a `digest` of everything before it (see {@link parseManifest}).
 * Any `digest` the object carries is replaced.
 */
export function serializeManifest(manifest: Manifest): string {
    const body = withoutDigest(manifest as unknown as Record<string, unknown>)
    return `${JSON.stringify({ ...body, [DIGEST_KEY]: digestOf(body) }, null, 2)}\n`
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
