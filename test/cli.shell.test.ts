/**
 * `vmspace shell`: golden transcripts, and the stdin and terminal wrappers.
 *
 * Each test/golden/shell/NAME.vmsh is run through runShell and its transcript compared byte for
 * byte with NAME.out; every script must exit 0 (each failure it shows is marked with `!`).
 * Scripts named linux-*.vmsh run with the Linux personality (`vmspace shell --linux`), the
 * others with FreeBSD's (the default).
 * After a deliberate change of the shell or of the library's behaviour, rewrite the transcripts
 * with
 *
 *   UPDATE_GOLDEN=1 npx vitest run test/cli.shell.test.ts
 *
 * and read the diff: the values must be what a FreeBSD kernel would do (only the writer of a
 * copy-on-write page gets a copy, a parent's reads after its child's writes are unchanged, ...).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { runShell, Shell, type ShellOptions, shellCommand } from "../cli/shell.js";

const DIR = join(import.meta.dirname, "golden", "shell");
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const scripts = readdirSync(DIR)
  .filter((f) => f.endsWith(".vmsh"))
  .sort();

function lines(text: string): string[] {
  const l = text.split("\n");
  if (l.at(-1) === "") l.pop();
  return l;
}

function transcript(script: string, opts: ShellOptions = {}): { out: string; status: number } {
  let out = "";
  const status = runShell(
    lines(script),
    (s) => {
      out += s;
    },
    opts,
  );
  return { out, status };
}

function sink(): { stream: Writable; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

describe("vmspace shell: golden transcripts", () => {
  it("has at least four scripts", () => {
    expect(scripts.length).toBeGreaterThanOrEqual(4);
  });

  for (const name of scripts) {
    it(name, () => {
      const personality = name.startsWith("linux-") ? "linux" : "freebsd";
      const { out, status } = transcript(readFileSync(join(DIR, name), "utf8"), { personality });
      const golden = join(DIR, name.replace(/\.vmsh$/, ".out"));
      if (UPDATE) writeFileSync(golden, out);
      expect(out).toBe(readFileSync(golden, "utf8"));
      expect(status).toBe(0);
    });
  }

  it("help lists every command, and some script runs each one", () => {
    const sh = new Shell();
    const help = sh.exec("help");
    const used = new Set<string>();
    for (const name of scripts)
      for (const line of lines(readFileSync(join(DIR, name), "utf8"))) {
        const word = line.trim().replace(/^!\s*/, "").split(/\s+/)[0];
        if (word !== "" && !word.startsWith("#")) used.add(word === "proc" ? "switch" : word);
      }
    for (const cmd of Shell.commandNames()) {
      expect(help).toMatch(new RegExp(`^  ${cmd.replace("?", "\\?")}\\b`, "m"));
      expect(used, `no golden script runs '${cmd}'`).toContain(cmd);
      expect(sh.exec(`help ${cmd}`).startsWith(cmd)).toBe(true);
    }
  });
});

describe("vmspace shell: the core", () => {
  it("counts unexpected failures and unmet expectations, not expected failures", () => {
    expect(transcript("map 4k rw-\n!unmap 0 0\n").status).toBe(0);
    expect(transcript("map 4k rw-\nunmap 0 0\n").status).toBe(1);
    expect(transcript("!map 4k rw-\n").status).toBe(1);
    expect(transcript("frob\n").status).toBe(1);
    expect(transcript("read 0\n").status).toBe(1);
    const { out } = transcript("!map 4k rw-\n");
    expect(out).toContain("error: expected this command to fail, but it succeeded");
  });

  it("stops at quit and echoes comments and blank lines as they are", () => {
    const { out } = transcript("# a note\n\nquit\nmap 4k rw-\n");
    expect(out).toBe("# a note\n\nvmspace[1]> quit\n");
  });

  it("numbers: hex, suffixes, pages, $ and sums", () => {
    const sh = new Shell();
    sh.exec("map 0x900000000 2m rw- fixed");
    expect(sh.num("$+2p-0x10", "x")).toBe(0x900000000 + 8192 - 16);
    expect(sh.num("1g+1m+1k+1", "x")).toBe(2 ** 30 + 2 ** 20 + 1024 + 1);
    expect(() => sh.num("$-0x1000000000", "x")).toThrow(/negative/);
    expect(sh.prot("rw-/rwx")).toBe(3 | (7 << 16));
    expect(sh.prot("rx")).toBe(5);
  });

  it("object names do not depend on what ran before in the same process", () => {
    const a = transcript("map 4k rw-\ntouch $\nobjects\n").out;
    const b = transcript("map 4k rw-\ntouch $\nobjects\n").out;
    expect(a).toBe(b);
    expect(a).toContain("obj#1 ");
  });
});

describe("vmspace shell: the Node wrapper", () => {
  it("reads a script from a stream that is not a terminal and prints its transcript", async () => {
    const out = sink();
    const err = sink();
    const stdin = Readable.from(["map 4k rw-\nwrite $ 0x2a\n", "read $\n!frob\n"]);
    const status = await shellCommand([], { stdin, stdout: out.stream, stderr: err.stream });
    expect(status).toBe(0);
    expect(out.text()).toBe(
      "vmspace[1]> map 4k rw-\nmapped [0x800000000, 0x800001000) 1 pages\n" +
        "vmspace[1]> write $ 0x2a\nvmspace[1]> read $\n0x800000000: 0x0000002a\n" +
        "vmspace[1]> !frob\nunknown command 'frob' (try 'help')\n",
    );
    expect(err.text()).toBe("");
    const failing = Readable.from(["read 0\n"]);
    expect(await shellCommand([], { stdin: failing, stdout: out.stream, stderr: err.stream })).toBe(
      1,
    );
  });

  it("gives a terminal a prompt that follows the current process", async () => {
    const out = sink();
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const done = shellCommand([], { stdin, stdout: out.stream, stderr: sink().stream });
    stdin.end("fork\nswitch 2\nquit\n");
    expect(await done).toBe(0);
    expect(out.text()).toContain("vmspace[1]> child pid 2\n");
    expect(out.text()).toContain("vmspace[2]> ");
  });

  it("--linux gives the processes Linux's placement and errors", async () => {
    const out = sink();
    const stdin = Readable.from(["map 4k rw-\n!map 0 rw-\n"]);
    const io = { stdin, stdout: out.stream, stderr: sink().stream };
    expect(await shellCommand(["--linux"], io)).toBe(0);
    expect(out.text()).toContain("mapped [0x7ffff7ffe000, 0x7ffff7fff000) 1 pages\n");
  });

  it("refuses bad options with status 2", async () => {
    const err = sink();
    const io = { stdin: Readable.from([]), stdout: sink().stream, stderr: err.stream };
    expect(await shellCommand(["--memory", "lots"], io)).toBe(2);
    expect(err.text()).toMatch(/bad memory size 'lots'/);
  });
});
