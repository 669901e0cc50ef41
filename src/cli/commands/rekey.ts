import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage rekey`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the rekey command is not available in this version"))
