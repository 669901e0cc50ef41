import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage check`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the check command is not available in this version"))
