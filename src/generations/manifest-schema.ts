/**
 * The schema of a manifest file. Loaded with `import()` only when a manifest
 * must be validated (one homeage is about to write, or one whose digest does
 * not vouch for it), so that reading an intact manifest never loads zod.
 */
import { z } from "zod"

import { MANIFEST_VERSION, type Manifest } from "./manifest.js"

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

/** The outcome of {@link checkManifest}. */
export type ManifestCheck =
    | { ok: true, manifest: Manifest }
    | { ok: false, problems: string[] }

/**
 * Validates parsed manifest data (without the file's digest) against the
 * schema: the manifest, or one `key.path: message` problem per issue.
 */
export function checkManifest(data: unknown): ManifestCheck {
    const result = manifestSchema.safeParse(data)
    if (result.success) return { ok: true, manifest: result.data }

    const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)
    return { ok: false, problems }
}
