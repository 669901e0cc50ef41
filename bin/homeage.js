#!/usr/bin/env node
// The homeage command. A CommonJS file (see bin/package.json): Node.js starts
// one faster than an ES module. `--version` is answered here, before anything
// is loaded, so that the cheapest call stays as cheap as Node.js itself; every
// other call runs the bundled command line in dist/cli/ (src/cli/launch.ts).
"use strict"

const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    process.stdout.write(`${require("../package.json").version}\n`)
} else {
    const { join } = require("node:path")
    const cli = join(__dirname, "..", "dist", "cli")
    require(join(cli, "launch.cjs")).launch(join(cli, "homeage.cjs"), args)
}
