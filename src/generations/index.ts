/**
 * Generations: the state dir, its content-addressed store of encrypted
 * sources, numbered manifests, the lock and the keyed hash of written
 * plaintext. Activation, rollback and the login services build on this.
 */
export { statePaths, ensureStateDirs, type StatePaths } from "./state.js"
export {
    MANIFEST_VERSION, parseManifest, serializeManifest, validateManifest, sameOutputs,
    manifestValidations,
    type Manifest, type ManifestSecret,
} from "./manifest.js"
export { putSource, readSource, pruneStore, sha256Hex, storePath } from "./store.js"
export {
    listGenerations, currentGeneration, pendingGeneration, readGeneration, readCurrent,
    writeGeneration, rewriteGeneration, setCurrent, setPending, pruneGenerations,
} from "./generations.js"
export { acquireLock, LOCK_WAIT_MS, processRunning, type Lock } from "./lock.js"
export { readHashKey, ensureHashKey, keyedHash, hashMatches, type HashKey } from "./keyed-hash.js"
