import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage keygen`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the keygen command is not available in this version"))
