import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage rollback`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the rollback command is not available in this version"))
