import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage generations`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the generations command is not available in this version"))
