#!/usr/bin/env node
// The homeage command. `--version` is answered here, before anything is loaded,
// so that the cheapest call stays as cheap as Node.js itself; every other call
// runs the bundled command line in dist/cli/.
import { readFileSync } from "node:fs"

const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"))
    process.stdout.write(`${pkg.version}\n`)
} else {
    const { main } = await import("../dist/cli/main.js")
    process.exitCode = await main(args)
}
