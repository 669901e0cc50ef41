import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage deactivate`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the deactivate command is not available in this version"))
