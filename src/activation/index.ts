/**
 * Activation: the check phase, the switch, cleanup, and the runtime commands
 * (start, stop, status) that work from the current generation alone. Imports
 * go one way: CLI -> activation -> generations, fs, config, age.
 */
export { activate, checkActivation, summarize, type ActivateOptions } from "./activate.js"
export {
    desiredFromConfig, desiredFromManifest, type Desired, type DesiredSecret,
} from "./desired.js"
export { planActivation, type Plan, type PlanOptions, type PlannedSecret } from "./plan.js"
export { applyPlan, type SwitchOptions, type SwitchResult } from "./switch.js"
export {
    startSecrets, stopSecrets, secretStatus, requireCurrent, readCurrentQuietly, selectSecrets,
    type RuntimeOptions, type RuntimeResult, type StatusReport, type SecretStatus,
    type OutputStatus, UNIT_LOCK_WAIT_MS,
} from "./runtime.js"
export {
    applyServices, checkServices, serviceSecrets, type ServiceManager, type ServiceManagers,
    type ServicePlan, type ServiceWork,
} from "./services.js"
export { cliEntryPoint, serviceManagers, serviceSetup } from "./service-setup.js"
export { beginHandover, endHandover, handedOver } from "./handover.js"
export { rollback, rollbackTarget, type RollbackOptions } from "./rollback.js"
export { deactivate, type DeactivateOptions, type DeactivateResult } from "./deactivate.js"
export { showPath, silentReporter, type Reporter } from "./report.js"
export {
    checkRuntimeDir, launchdRuntimeDirWarning, type RuntimeDirCheck,
} from "./runtime-dir.js"
export {
    loadActivationInput, rememberConfig, stateFor, type ActivationInput,
} from "./from-config.js"
