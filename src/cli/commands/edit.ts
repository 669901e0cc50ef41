import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage edit`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the edit command is not available in this version"))
