#!/usr/bin/env node
/**
 * The `vmspace` command. Uses only the public entry and Node built-ins.
 *
 *   vmspace demo     build an address space with the vm_map layer and show what it did
 *   vmspace help     usage
 */

import { runDemo } from "./demo.js";

const USAGE = `usage: vmspace <command>

commands:
  demo      map, protect, clip, merge and unmap in a FreeBSD-style vm_map and print each step
  help      this text
`;

function main(argv: string[]): number {
  const cmd = argv[0] ?? "help";
  switch (cmd) {
    case "demo":
      process.stdout.write(runDemo());
      return 0;
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`vmspace: unknown command '${cmd}'\n${USAGE}`);
      return 2;
  }
}

process.exitCode = main(process.argv.slice(2));
