/**
 * The config file (SPEC §3): finding it, loading and validating it into a
 * resolved {@link Config}, the conflicts between its secrets' outputs, and the
 * schema that TOML, YAML and JSON files share. The schema itself
 * (`configFileSchema`, `renderJsonSchema`) is imported from schema.ts, not
 * from here, so that importing the config layer does not load zod.
 */
export type { Config, InstallationType, SecretConfig } from "./types.js"
export { type Environment, environment } from "./environment.js"
export {
    type FindConfigOptions, configCandidates, findConfigFile, findOptionalConfigFile,
} from "./find.js"
export {
    type LoadConfigOptions, cacheValidatedConfig, defaultIdentityCandidates,
    defaultInstallationType, defaultRuntimeDir, loadConfig,
} from "./load.js"
export { type ConflictOptions, findConflicts } from "./conflicts.js"
export { PATH_VARIABLES, type Expansion, expandVariables, resolvePath } from "./expand.js"
export { nameProblems } from "./names.js"
export { CONFIG_EXTENSIONS, type ConfigFormat } from "./parse.js"
export { DEFAULT_GENERATIONS_TO_KEEP, DEFAULT_MODE } from "./defaults.js"
export type { ConfigFile, SecretFile } from "./schema.js"
export { configValidations } from "./cache.js"
