/**
 * homeage as a library: the age layer (read and write age files in-process),
 * config loading, and activation. The CLI is a thin layer over these.
 */
export { HomeageError, OperationError, UsageError } from "./errors.js"
export * from "./age/index.js"
export {
    type Config, type Environment, type InstallationType, type SecretConfig,
    environment, findConfigFile, findConflicts, loadConfig,
} from "./config/index.js"
export * as activation from "./activation/index.js"
