#!/usr/bin/env node
// The homeage command. A CommonJS file (see bin/package.json): Node.js starts
// one faster than an ES module. `--version` is answered here, before anything
// is loaded, so that the cheapest call stays as cheap as Node.js itself; every
// other call runs the bundled command line in dist/cli/ (src/cli/launch.ts).
"use strict"

const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    // A closed pipe or a full disk: nothing to report, as for every other command.
    process.stdout.on("error", () => undefined)
    process.stdout.write(`${require("../package.json").version}\n`)
} else {
    const { join } = require("node:path")
    const cli = join(__dirname, "..", "dist", "cli")
    const run = () => {
        const loader = join(cli, "launch.cjs")
        let launch
        try {
            launch = require(loader).launch
        } catch (err) {
            const reason = String(err instanceof Error ? err.message : err).split("\n")[0]
            process.stderr.write(`homeage: error: cannot load the command line from ${loader}: ` +
                `${reason}; reinstall homeage, or run \`npm run build\` in its checkout\n`)
            process.exit(1)
        }
        launch(join(cli, "homeage.cjs"), args)
    }
    // An activate that an earlier run's record answers needs no more than this
    // (src/cli/early.ts); anything else, or any failure there, runs as usual.
    let answering
    if (args.includes("activate")) {
        try {
            const early = join(cli, "early.cjs")
            // A regular file only: require would wait forever on a FIFO.
            if (require("node:fs").statSync(early).isFile()) {
                const answer = require(early).answerFromRecord
                if (typeof answer === "function") answering = answer(args)
            }
        } catch {
            answering = undefined
        }
    }
    if (typeof answering?.then !== "function") run()
    else answering.then((answered) => { if (answered !== true) run() }, run)
}
