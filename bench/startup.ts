/**
 * The start-up row: `homeage --version` against bare Node.js (`node -e ""`),
 * which shows what loading the CLI costs before any command runs.
 */
import { sideBySide } from "./measure.js"
import type { Progress, Sample } from "./measure.js"
import type { BenchOptions } from "./options.js"
import { run } from "./processes.js"
import { timeRow } from "./table.js"
import type { Row, Target } from "./table.js"
import { HOMEAGE_BIN } from "./workspace.js"

/** `homeage --version` may take at most this many times bare Node.js's start-up. */
const STARTUP_TARGET: Target = { kind: "within", factor: 1.5 }

/** Measures the start-up row. */
export async function startupRows(options: BenchOptions, progress: Progress): Promise<Row[]> {
    const env = { PATH: process.env.PATH, NO_COLOR: "1" }
    const node = process.execPath
    const [homeage, bare] = await sideBySide("start-up", [
        {
            label: "homeage --version",
            runs: options.runs,
            warmUp: true,
            measure: async () => (await run({ program: node, args: [HOMEAGE_BIN, "--version"],
                env })).seconds,
        },
        {
            label: "node -e \"\"",
            runs: options.runs,
            warmUp: true,
            measure: async () => (await run({ program: node, args: ["-e", ""], env })).seconds,
        },
    ], options.rowBudgetSeconds, progress) as [Sample, Sample]
    return [timeRow("start-up", "--version", homeage, bare, STARTUP_TARGET)]
}
