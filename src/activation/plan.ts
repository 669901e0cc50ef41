/**
 * The check phase (SPEC §5.1): everything that can be known before touching
 * anything. It reads the disk and the state, decrypts what has to be
 * decrypted, and either returns a plan or throws one `OperationError` that
 * lists every problem. It never changes anything on disk.
 */
import { dirname } from "node:path"

import { recipientMismatches } from "../age/recipient-match.js"
import { HomeageError, OperationError, messageOf } from "../errors.js"
import { missingFolders, realFolder } from "../fs/folders.js"
import { setInterruptNote, throwIfInterrupted } from "../fs/interrupt.js"
import { describeState, inspectPath } from "../fs/inspect.js"
import { mapAll } from "../fs/pool.js"
import {
    currentGeneration, listGenerations, pendingGeneration, readCurrent, readGeneration,
} from "../generations/generations.js"
import { readHashKey, type HashKey } from "../generations/keyed-hash.js"
import type { Manifest, ManifestSecret } from "../generations/manifest.js"
import { verifyStateDir, type StatePaths } from "../generations/state.js"
import { decryptProblem, openIdentities, type Decryptor } from "./decryptor.js"
import { describedSecret, type Desired, type DesiredSecret } from "./desired.js"
import {
    examine, isManaged, outputsOf, outputsOfSecret, type Examined, type Output,
} from "./outputs.js"
import { checkPlacement } from "./placement.js"
import { realConflicts } from "./real-conflicts.js"
import { showPath, type Reporter } from "./report.js"
import { checkRuntimeDir, type RuntimeDirCheck } from "./runtime-dir.js"
import { checkServices, type ServiceManagers, type ServiceWork } from "./services.js"

/** Options of {@link planActivation}. */
export interface PlanOptions {
    paths: StatePaths
    reporter: Reporter
    /** Extension for moving unmanaged files out of the way (`--backup EXT`). */
    backup?: string | undefined
    /** Decrypt every secret even if nothing changed (`homeage check`). */
    verifyAll?: boolean
    /** Problems found before planning (config conflicts), listed with the rest. */
    problems?: string[]
    /** The home folder, to show paths as `~/…`. */
    home?: string | undefined
    /**
     * The service managers by installation type; the plan of the new type's
     * (and whether the previous type's can be removed) is part of the check.
     * Without it, services are left as they are.
     */
    services?: ServiceManagers | undefined
}

/** A secret of the plan: what is wanted, what was there, and its plaintext if decrypted. */
export interface PlannedSecret {
    desired: DesiredSecret
    /** The same secret in the current generation, if it was there. */
    previous: ManifestSecret | undefined
    /** The decrypted plaintext, when the secret is written or was verified. */
    plaintext: Uint8Array | undefined
    /**
     * Whether the check found every output as the current generation wrote it,
     * from the same source: the switch then leaves the secret alone instead
     * of looking at its outputs again. A path changed in between by another
     * program is kept as it is, and reported by the next status or activate.
     */
    settled?: boolean
}

/** An unmanaged path moved aside with `--backup`. */
export interface Backup {
    from: string
    to: string
}

/** The result of a successful check: everything the switch needs. */
export interface Plan {
    desired: Desired
    paths: StatePaths
    /** The current generation, and its number as seen by the check. */
    current: Manifest | undefined
    currentNumber: number | undefined
    /** A generation whose switch did not finish (a crash), if any. */
    pending: Manifest | undefined
    /**
     * Generations above the current one other than `pending`: older unfinished
     * switches (a run stopped before another such run), or generations rolled
     * back from. A file in the way that holds exactly what one of them wrote
     * is homeage's own and may be replaced; cleanup removes only what the
     * current and pending generations wrote.
     */
    unfinished: Manifest[]
    /** The state's hash key, if one exists yet. */
    key: HashKey | undefined
    secrets: PlannedSecret[]
    backups: Backup[]
    runtimeDir: RuntimeDirCheck
    /** What the service managers will change after the switch, if they were given. */
    services: ServiceWork | undefined
    /**
     * Where each output's folder really was at the check (symlinks followed),
     * so the switch can refuse a folder replaced by a symlink since.
     */
    realFolders: Map<string, string>
}

/** Outputs an earlier generation (current or pending) wrote, by path. */
type Records = Map<string, Output[]>

function recordsOf(manifests: (Manifest | undefined)[]): Records {
    const records: Records = new Map()
    for (const manifest of manifests) {
        if (manifest === undefined) continue
        for (const output of outputsOf(manifest)) {
            const list = records.get(output.path) ?? []
            list.push(output)
            records.set(output.path, list)
        }
    }
    return records
}

/** The desired secret as a manifest entry, with the plaintext hash it had before. */
function asManifestSecret(desired: DesiredSecret, previous: ManifestSecret | undefined) {
    const rest = describedSecret(desired)
    const sameSource = previous?.storeHash === desired.storeHash
    return { ...rest, plaintextHash: sameSource ? previous.plaintextHash : "" }
}

function managedBy(path: string, records: Records, key: HashKey | undefined): boolean {
    for (const record of records.get(path) ?? []) {
        if (isManaged(examine(record, key).verdict)) return true
    }
    return false
}

/** What gathering one secret found: its outputs' verdicts and the paths in the way. */
interface Gathered {
    needsPlaintext: boolean
    examined: Examined[]
    problems: string[]
    backups: Backup[]
}

/** Examines one secret's outputs and finds the paths in the way. */
function gatherSecret(
    planned: PlannedSecret, records: Records, key: HashKey | undefined,
    refused: ReadonlySet<string>, options: PlanOptions,
): Gathered {
    const wanted = asManifestSecret(planned.desired, planned.previous)
    const gathered: Gathered = { needsPlaintext: false, examined: [], problems: [], backups: [] }
    const { problems, backups } = gathered
    const show = (p: string): string => showPath(p, options.home)

    for (const output of outputsOfSecret(wanted)) {
        // Refused already, whatever is there: no "in the way" advice for it.
        if (refused.has(output.path)) continue
        const examined = examine(output, wanted.plaintextHash === "" ? undefined : key)
        gathered.examined.push(examined)
        if (examined.verdict === "ok") continue
        if (output.role !== "symlink") gathered.needsPlaintext = true

        if (examined.verdict === "missing") {
            try {
                missingFolders(dirname(output.path))
            } catch (err) {
                problems.push(`secret ${wanted.name}: ${show(output.path)}: ${messageOf(err)}`)
            }
            continue
        }
        if (examined.verdict === "attributes") continue
        if (managedBy(output.path, records, key)) continue

        const what = describeState(examined.state)
        const known = records.has(output.path)
        const why = known ? `${what}, changed since homeage wrote it,`
            : `${what} that homeage does not manage`
        if (options.backup === undefined) {
            problems.push(`secret ${wanted.name}: ${show(output.path)}: ${why} is in the way; ` +
                "move it away, or run homeage activate --backup EXT to rename it")
            continue
        }
        const to = `${output.path}.${options.backup}`
        if (inspectPath(to).kind !== "missing") {
            problems.push(`secret ${wanted.name}: ${show(output.path)}: ${why} is in the way ` +
                `and cannot be backed up: ${show(to)} exists; move one of them away`)
            continue
        }
        backups.push({ from: output.path, to })
    }
    return gathered
}

/** The generations above `current` other than `pending`, oldest first (see Plan.unfinished). */
async function readUnfinished(
    paths: StatePaths, current: number | undefined, pending: number | undefined,
): Promise<Manifest[]> {
    const numbers = (await listGenerations(paths))
        .filter((n) => n > (current ?? 0) && n !== pending)
    const manifests: Manifest[] = []
    for (const n of numbers) {
        try {
            manifests.push(await readGeneration(paths, n))
        } catch {
            // A damaged one cannot vouch for any file; the others still can.
        }
    }
    return manifests
}

/**
 * A backup name that is also a target of this run would receive a secret
 * right after the user's file was moved there, and lose it: each is a problem.
 */
function backupCollisions(backups: Backup[], desired: Desired, home: string | undefined) {
    const targets = new Map<string, string>()
    for (const secret of desired.secrets) {
        for (const path of [secret.path, ...secret.symlinks, ...secret.copies]) {
            targets.set(path, secret.name)
        }
    }
    const problems: string[] = []
    for (const backup of backups) {
        const owner = targets.get(backup.to)
        if (owner === undefined) continue
        problems.push(`${showPath(backup.from, home)} cannot be backed up to ` +
            `${showPath(backup.to, home)}: that is a target of secret ${owner}; use another ` +
            "--backup extension")
    }
    return problems
}

async function readPending(
    paths: StatePaths, current: number | undefined,
): Promise<Manifest | undefined> {
    const pending = await pendingGeneration(paths)
    if (pending === undefined || pending === current) return undefined
    try {
        return await readGeneration(paths, pending)
    } catch {
        return undefined
    }
}

/**
 * Checks where plaintext goes (every secret's path on tmpfs, no symlink inside
 * the runtime dir) and the conflicts that only show once symlinks are followed.
 * Returns the outputs refused whatever is there (see RealConflict.refused).
 */
async function checkPlaces(
    desired: Desired, options: PlanOptions, problems: string[], warnings: string[],
): Promise<Set<string>> {
    const placement = await checkPlacement(desired.secrets, desired.runtimeDir,
        desired.allowPersistentRuntimeDir, options.home)
    for (const list of placement.problems.values()) problems.push(...list)
    warnings.push(...placement.warnings)

    const conflicts = realConflicts({
        secrets: desired.secrets, runtimeDir: desired.runtimeDir,
        stateDir: options.paths.root, configFile: desired.configFile,
        identityPaths: desired.identityPaths, textChecked: desired.origin === "config",
        home: options.home,
    })
    problems.push(...conflicts.map((c) => c.message))
    return new Set(conflicts.flatMap((c) => c.refused ?? []))
}

/**
 * Warns about each secret whose file, by its header, is not encrypted to the
 * recipients its config declares (a rekey is due). A header that cannot be
 * read is a problem, unless decrypting the secret already failed.
 */
function checkRecipients(
    planned: PlannedSecret[], failed: ReadonlySet<string>, home: string | undefined,
    problems: string[], warnings: string[],
): void {
    for (const { desired } of planned) {
        const recipients = desired.recipients ?? []
        if (recipients.length === 0 || failed.has(desired.name)) continue
        try {
            warnings.push(...recipientMismatches({
                name: desired.name, source: showPath(desired.source, home),
                ciphertext: desired.ciphertext, recipients,
            }))
        } catch (err) {
            problems.push(messageOf(err))
        }
    }
}

/**
 * Checks `desired` against the disk and the state and decides what to decrypt.
 * Throws an `OperationError` listing every problem; changes nothing. A signal
 * ends it between secrets with "nothing was changed" (see fs/interrupt.ts).
 */
export async function planActivation(desired: Desired, options: PlanOptions): Promise<Plan> {
    setInterruptNote("nothing was changed")
    await verifyStateDir(options.paths)
    const problems = [...(options.problems ?? []), ...desired.problems]
    const warnings: string[] = []

    const runtimeDir = await checkRuntimeDir(desired.runtimeDir,
        desired.allowPersistentRuntimeDir, desired.installationType)
    problems.push(...runtimeDir.problems)
    warnings.push(...runtimeDir.warnings)
    const refused = await checkPlaces(desired, options, problems, warnings)

    const currentNumber = await currentGeneration(options.paths)
    const current = await readCurrent(options.paths)
    const pending = await readPending(options.paths, currentNumber)
    const unfinished = await readUnfinished(options.paths, currentNumber, pending?.generation)
    const key = await readHashKey(options.paths.hashKey)
    const records = recordsOf([current, pending, ...unfinished])

    const previousByName = new Map((current?.secrets ?? []).map((s) => [s.name, s]))
    const secrets = desired.secrets.map((desiredSecret): PlannedSecret => ({
        desired: desiredSecret, previous: previousByName.get(desiredSecret.name),
        plaintext: undefined,
    }))
    const backups: Backup[] = []
    const toDecrypt: PlannedSecret[] = []
    const repaired = new Set<string>()
    for (const planned of secrets) {
        const one = gatherSecret(planned, records, key, refused, options)
        problems.push(...one.problems)
        backups.push(...one.backups)
        const name = planned.desired.name
        if (one.examined.some((e) => e.verdict !== "ok")) repaired.add(name)
        else if (planned.previous?.storeHash === planned.desired.storeHash) planned.settled = true
        const sourceChanged = planned.previous?.storeHash !== planned.desired.storeHash
        if (options.verifyAll === true || one.needsPlaintext || sourceChanged) {
            toDecrypt.push(planned)
        }
    }
    throwIfInterrupted()

    problems.push(...backupCollisions(backups, desired, options.home))

    const failed = toDecrypt.length === 0 ? new Set<string>()
        : await decryptAll(toDecrypt, desired, options.reporter, problems, warnings)
    checkRecipients(secrets, failed, options.home, problems, warnings)

    const services = options.services === undefined ? undefined
        : await checkServices(options.services, {
            kind: desired.installationType, previousKind: current?.installationType,
            secrets: desired.secrets, previous: current?.secrets ?? [], repaired,
        }, problems)

    const folders = [...new Set(desired.secrets.flatMap((secret) =>
        [secret.path, ...secret.symlinks, ...secret.copies].map((path) => dirname(path))))]
    const reals = folders.map(realFolder)
    const realFolders = new Map(folders.map((folder, i) => [folder, reals[i] ?? folder]))

    for (const line of new Set(warnings)) options.reporter.warn(line)
    // The same problem found twice (by the config's check and once symlinks are
    // followed, say) is listed once.
    const listed = [...new Set(problems)]
    if (listed.length > 0) {
        const count = listed.length === 1 ? "1 problem" : `${listed.length} problems`
        throw new OperationError(`activation check failed with ${count}; nothing was changed`,
            { problems: listed })
    }
    return {
        desired, paths: options.paths, current, currentNumber, pending, unfinished, key,
        secrets, backups, runtimeDir, services, realFolders,
    }
}

/** Identities opened for one desired state, and where their warnings go now. */
interface OpenedIdentities {
    decryptor: Promise<Decryptor>
    sink: { warnings: string[] }
}

/**
 * The identities opened per desired state. An activation checks twice (before
 * taking the lock and under it) with the same desired state; sharing the
 * identities between the two checks asks for a protected key's passphrase
 * once per run, as for the secrets within one check.
 */
const openedFor = new WeakMap<Desired, OpenedIdentities>()

/** The identities of `desired`, opened once; their warnings go to `warnings`. */
function identitiesFor(desired: Desired, warnings: string[]): Promise<Decryptor> {
    let opened = openedFor.get(desired)
    if (opened === undefined) {
        const sink = { warnings }
        const decryptor = openIdentities(desired.identityPaths,
            (line) => { sink.warnings.push(line) })
        opened = { decryptor, sink }
        openedFor.set(desired, opened)
    }
    opened.sink.warnings = warnings
    return opened.decryptor
}

/** Decrypts `secrets` completely; returns the names of those that failed (all without identity). */
async function decryptAll(
    secrets: PlannedSecret[], desired: Desired, reporter: Reporter,
    problems: string[], warnings: string[],
): Promise<Set<string>> {
    const identityPaths = desired.identityPaths
    const failed = new Set(secrets.map((s) => s.desired.name))
    let decryptor: Decryptor
    try {
        decryptor = await identitiesFor(desired, warnings)
    } catch (err) {
        const message = messageOf(err)
        problems.push(message.startsWith("no usable identity") ? message
            : `no usable identity: ${message}`)
        if (err instanceof HomeageError) problems.push(...err.problems.map((p) => `  ${p}`))
        return failed
    }
    if (decryptor.usable === 0) {
        const tried = identityPaths.length === 0
            ? "identityPaths is not set, and none of the default files exists: " +
                "~/.ssh/id_ed25519, ~/.ssh/id_rsa, $XDG_CONFIG_HOME/homeage/identity.txt"
            : `tried: ${identityPaths.join(", ")}`
        problems.push(`no usable identity (${tried}); set identityPaths to your identity ` +
            "files, or create one with homeage keygen -o ~/.config/homeage/identity.txt")
        return failed
    }
    for (const line of decryptor.describe()) reporter.detail(`identity: ${line}`)

    const decrypted = await mapAll(secrets, async (planned) => {
        const what = `secret ${planned.desired.name} (${planned.desired.source})`
        try {
            planned.plaintext = await decryptor.decrypt(planned.desired.ciphertext, what)
            return undefined
        } catch (err) {
            return decryptProblem(err, what)
        }
    }, { beforeEach: throwIfInterrupted })
    for (const [i, planned] of secrets.entries()) {
        const problem = decrypted[i]
        if (problem === undefined) failed.delete(planned.desired.name)
        else problems.push(problem)
    }
    throwIfInterrupted()
    return failed
}
