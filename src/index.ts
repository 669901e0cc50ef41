/**
 * homeage as a library: the age layer, config loading and activation.
 */
export { HomeageError, OperationError, UsageError } from "./errors.js"
