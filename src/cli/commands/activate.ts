import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage activate`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the activate command is not available in this version"))
