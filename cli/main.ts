#!/usr/bin/env node
/**
 * The `vmspace` command. Uses only the public entry and Node built-ins.
 *
 *   vmspace replay   rebuild a real program's address spaces from its trace and check them
 *   vmspace demo     build an address space with the vm_map layer and show what it did
 *   vmspace help     usage
 */

import { runDemo } from "./demo.js";
import { REPLAY_USAGE, runReplay } from "./replayCommand.js";
import { shellCommand } from "./shell.js";

const USAGE = `usage: vmspace <command>

commands:
  replay    replay a real program's memory system calls (strace) and check the final maps
            against the kernel's (vmspace replay --help for options)
  shell     map, touch, fork and view objects, shadow chains, pages, TLB (prompt or stdin script)
  demo      map, protect, clip, merge and unmap in a FreeBSD-style vm_map and print each step
  help      this text
`;

function main(argv: string[]): number {
  const cmd = argv[0] ?? "help";
  switch (cmd) {
    case "replay":
      if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(REPLAY_USAGE);
        return 0;
      }
      return runReplay(argv.slice(1), {
        out: (s) => process.stdout.write(s),
        err: (s) => process.stderr.write(s),
        tty: process.stderr.isTTY === true,
      });
    case "shell":
      // Asynchronous (it reads stdin): the exit code is set when the input ends.
      shellCommand(argv.slice(1)).then((code) => {
        process.exitCode = code;
      });
      return 0;
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
