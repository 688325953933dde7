/**
 * `vmspace shell`: a prompt, and a script runner over stdin, for watching a FreeBSD VM make its
 * decisions one system call at a time — map, unmap, protect, inherit, advise, lock, touch, read,
 * write, fork and exit processes, then look at the map entries, the VM objects and their shadow
 * chains, the pages behind an address, the software TLB and the system's counters. With
 * `--linux` the processes get the Linux personality (its flags, errno numbers and placement)
 * over the same machinery.
 *
 * Layout: `Shell` is the pure core (no I/O): `exec(line)` runs one command and returns its
 * output, so tests drive it in-process. `runShell(lines, out)` turns a script into a transcript:
 * each command is echoed after the prompt (`vmspace[1]> map 64k rw-`), followed by its output;
 * comment lines (`# ...`) and blank lines are echoed as they are, so a transcript reads like the
 * script annotated with the kernel's answers. `shellCommand(args, io)` is the Node wrapper: a
 * readline prompt when stdin is a terminal, the script runner otherwise (or on a FILE argument).
 *
 * Failure rule (script mode): a command fails when a system call returns an error (printed as
 * `mmap: EINVAL (len is 0)`, from VmError), an access is answered with a signal (printed as
 * `SIGSEGV (SEGV_ACCERR) on write at 0x...`, from MemoryFault), or the line is malformed or
 * unknown (a one-line message); the shell always goes on with the next line. A line prefixed
 * with `!` states that its command must fail: its failure is expected, and its success is
 * reported as an error. The exit status is 1 if any command failed unexpectedly, else 0.
 *
 * `touch` must write-fault a page without changing it: it stores back the byte a read would
 * return, found first without faulting (pmap, else the shadow chain, else zero) — a debugger's
 * peek, so that the one fault taken is the store's (zero fill or copy on write).
 *
 * Determinism, so that transcripts can be golden: no ASLR (no aslrRandom), no clock. VM object
 * ids come from a counter shared by every VmSystem in the JavaScript realm; the shell shows them
 * relative to the first id its own system could get (`obj#1` is the first object it created), so
 * a transcript does not depend on what ran before it in the same process.
 *
 * Uses only the public entry and Node built-ins (test/layers.test.ts).
 */

import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import {
  hex,
  INHERIT_NAMES,
  MAP_ENTRY_BEHAV_MASK,
  MAP_ENTRY_BEHAV_RANDOM,
  MAP_ENTRY_BEHAV_SEQUENTIAL,
  MAP_ENTRY_COW,
  MAP_ENTRY_DROPPABLE,
  MAP_ENTRY_GROWS_DOWN,
  MAP_ENTRY_GROWS_UP,
  MAP_ENTRY_GUARD,
  MAP_ENTRY_IN_TRANSITION,
  MAP_ENTRY_NEEDS_COPY,
  MAP_ENTRY_NOCOREDUMP,
  MAP_ENTRY_NOFAULT,
  MAP_ENTRY_NOSYNC,
  MAP_ENTRY_STACK_GAP_DN,
  MAP_ENTRY_STACK_GAP_UP,
  MAP_ENTRY_USER_WIRED,
  MAP_ENTRY_VN_EXEC,
  MAP_ENTRY_WRITECNT,
  MemoryFault,
  OBJ_ANON,
  OBJ_ONEMAPPING,
  PROT_MAX,
  type Process,
  PTE_A,
  PTE_M,
  PTE_R,
  PTE_W,
  PTE_WIRED,
  PTE_X,
  protString,
  TLB_SIZE,
  VmError,
  type VmEvent,
  type VmMapEntry,
  VmObject,
  VmPanic,
  VmSystem,
} from "../src/index.js";

/** Options of a shell's machine. */
export interface ShellOptions {
  /** Bytes of physical memory. Default 16 MiB (4096 frames of 4 KiB). */
  physicalMemory?: number;
  /** Page size. Default 4096. */
  pageSize?: number;
  /** The kernel whose system calls, errno numbers and placement the processes get. */
  personality?: "freebsd" | "linux";
}

/** A malformed command line: printed as one line, the shell goes on. */
class UsageError extends Error {}
/** A line whose first word is no command. */
class UnknownCommand extends UsageError {}

interface Command {
  /** Argument synopsis after the name. */
  args: string;
  /** One line for `help`. */
  summary: string;
  /** More lines for `help <name>`. */
  detail: string;
  /** Other names. */
  aliases?: string[];
  run: (sh: Shell, args: string[]) => string;
}

/** Words of `map` and the constant each stands for (a personality may lack some). */
const MAP_FLAGS: Record<string, string> = {
  shared: "MAP_SHARED",
  private: "MAP_PRIVATE",
  droppable: "MAP_DROPPABLE",
  fixed: "MAP_FIXED",
  excl: "MAP_EXCL",
  noreplace: "MAP_FIXED_NOREPLACE",
  guard: "MAP_GUARD",
  stack: "MAP_STACK",
  growsdown: "MAP_GROWSDOWN",
  "32bit": "MAP_32BIT",
  super: "MAP_ALIGNED_SUPER",
  "align=N": "MAP_ALIGNED",
  nocore: "MAP_NOCORE",
  nosync: "MAP_NOSYNC",
  prefault: "MAP_PREFAULT_READ",
  populate: "MAP_POPULATE",
  noreserve: "MAP_NORESERVE",
  locked: "MAP_LOCKED",
};

/** A personality's constant table, looked up by name. */
type Consts = Record<string, number | ((n: number) => number) | undefined> & {
  MAP_ANON?: number;
  MAP_PRIVATE?: number;
  MAP_GUARD?: number;
};

const ENTRY_FLAGS: [number, string][] = [
  [MAP_ENTRY_COW, "COW"],
  [MAP_ENTRY_NEEDS_COPY, "NEEDS_COPY"],
  [MAP_ENTRY_GUARD, "GUARD"],
  [MAP_ENTRY_STACK_GAP_DN, "STACK_GAP_DN"],
  [MAP_ENTRY_STACK_GAP_UP, "STACK_GAP_UP"],
  [MAP_ENTRY_GROWS_DOWN, "GROWS_DOWN"],
  [MAP_ENTRY_GROWS_UP, "GROWS_UP"],
  [MAP_ENTRY_DROPPABLE, "DROPPABLE"],
  [MAP_ENTRY_USER_WIRED, "USER_WIRED"],
  [MAP_ENTRY_NOSYNC, "NOSYNC"],
  [MAP_ENTRY_NOCOREDUMP, "NOCOREDUMP"],
  [MAP_ENTRY_NOFAULT, "NOFAULT"],
  [MAP_ENTRY_VN_EXEC, "VN_EXEC"],
  [MAP_ENTRY_WRITECNT, "WRITECNT"],
  [MAP_ENTRY_IN_TRANSITION, "IN_TRANSITION"],
];

const FAULT_KINDS: Record<string, string> = {
  zero: "zero fill",
  cow: "copy on write",
  soft: "soft (page already in the top object)",
  shadow: "read from a backing object (mapped read-only)",
};

/** Columns padded to their widest cell, two spaces apart, trailing blanks trimmed. */
function table(rows: string[][]): string {
  const w: number[] = [];
  for (const r of rows) for (const [i, c] of r.entries()) w[i] = Math.max(w[i] ?? 0, c.length);
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join("  ");
  return rows.map((r) => line(r).trimEnd()).join("\n");
}

function pteString(pte: number): string {
  return (
    (pte & PTE_R ? "r" : "-") +
    (pte & PTE_W ? "w" : "-") +
    (pte & PTE_X ? "x" : "-") +
    (pte & PTE_A ? " A" : "") +
    (pte & PTE_M ? " M" : "") +
    (pte & PTE_WIRED ? " W" : "")
  );
}

function sizeString(bytes: number): string {
  if (bytes % 2 ** 30 === 0 && bytes > 0) return `${bytes / 2 ** 30}G`;
  if (bytes % 2 ** 20 === 0 && bytes > 0) return `${bytes / 2 ** 20}M`;
  if (bytes % 1024 === 0) return `${bytes / 1024}K`;
  return `${bytes}B`;
}

/** The interpreter: one VmSystem, a current process, and the commands. */
export class Shell {
  readonly sys: VmSystem;
  /** Unexpected failures so far (script mode's exit status is 1 when this is not 0). */
  failures = 0;
  /** Set by `quit`. */
  done = false;
  #cur: Process | null;
  /** Parent pid of each process the shell has seen (null: created by the shell). */
  readonly #ppid = new Map<number, number | null>();
  /** `$`: the address the last successful map returned. */
  #last = 0;
  #unsubscribe: (() => void) | null = null;
  #tlbEvents = false;
  /** Event lines waiting to be printed with the output of the command that caused them. */
  #pending: string[] = [];
  /** Raw VM object id shown as obj#1. */
  readonly #objBase: number;

  constructor(opts: ShellOptions = {}) {
    this.sys = new VmSystem({
      physicalMemory: opts.physicalMemory ?? 16 << 20,
      pageSize: opts.pageSize ?? 4096,
      personality: opts.personality ?? "freebsd",
    });
    // A page-less object outside any system: its id is one below the system's first object's.
    this.#objBase = new VmObject(null, "default", 0, 0).id;
    this.#cur = this.sys.createProcess();
    this.#ppid.set(this.#cur.pid, null);
  }

  /** The prompt: `vmspace[PID]> `, or `vmspace[-]> ` when no process is current. */
  get prompt(): string {
    return `vmspace[${this.#cur?.pid ?? "-"}]> `;
  }

  /** The current process, if any. */
  get current(): Process | null {
    return this.#cur;
  }

  /** Every command name (aliases left out), in help order. */
  static commandNames(): string[] {
    return Object.keys(COMMANDS);
  }

  /**
   * Runs one line and returns its output (each line ending in a newline; "" for none). Blank
   * lines and `#` comments do nothing. A leading `!` expects the command to fail.
   */
  exec(line: string): string {
    let text = line.trim();
    if (text === "" || text.startsWith("#")) return "";
    const expectFail = text.startsWith("!");
    if (expectFail) text = text.slice(1).trim();
    const [name, ...args] = text.split(/\s+/);
    let out = "";
    let failed = false;
    try {
      const cmd = lookup(name);
      if (cmd === undefined) throw new UnknownCommand(`unknown command '${name}' (try 'help')`);
      out = cmd.run(this, args);
    } catch (e) {
      failed = true;
      out = `${describeError(name, e)}\n`;
    }
    out = this.#flushEvents() + out;
    if (expectFail && !failed) {
      out += "error: expected this command to fail, but it succeeded\n";
      this.failures++;
    } else if (failed && !expectFail) this.failures++;
    return out;
  }

  /** Script mode for one line: the line echoed (after the prompt for a command), then its output. */
  scriptLine(line: string): string {
    const text = line.trimEnd();
    const t = text.trim();
    if (t === "" || t.startsWith("#")) return `${text}\n`;
    const prompt = this.prompt;
    return `${prompt}${text}\n${this.exec(text)}`;
  }

  // ------------------------------------------------------------------ helpers for commands

  get #ps(): number {
    return this.sys.pageSize;
  }

  /** The personality's constants by C name. */
  get #consts(): Consts {
    return this.sys.constants as unknown as Consts;
  }

  /** A constant of the personality by C name (a number), or a usage error. */
  constant(name: string): number {
    const c = this.#consts[name];
    if (typeof c !== "number")
      throw new UsageError(`${name} is not in the ${this.sys.personality} personality`);
    return c;
  }

  /** The advice words of this personality: its MADV_* names in lower case. */
  adviceWords(): string[] {
    return Object.keys(this.#consts)
      .filter((k) => k.startsWith("MADV_"))
      .map((k) => k.slice(5).toLowerCase());
  }

  /** The current process, or a usage error. */
  proc(): Process {
    if (this.#cur === null)
      throw new UsageError("no current process (use 'switch PID' or 'spawn')");
    return this.#cur;
  }

  /**
   * A number: decimal or 0x hex, suffix k/m/g (binary) or p (pages), or `$`; terms joined by
   * + and - (`$+16k-2`). A negative result is refused.
   */
  num(tok: string | undefined, what: string): number {
    if (tok === undefined) throw new UsageError(`missing ${what}`);
    const terms = tok.split(/(?=[+-])/);
    let sum = 0;
    for (const [i, term] of terms.entries()) {
      const sign = term[0] === "-" ? -1 : 1;
      const t = term[0] === "+" || term[0] === "-" ? term.slice(1) : term;
      if (i === 0 && t !== term) throw new UsageError(`bad ${what} '${tok}'`);
      if (t === "$") {
        sum += sign * this.#last;
        continue;
      }
      const m = /^(0x[0-9a-f]+|[0-9]+)([kmgp]?)$/i.exec(t);
      if (m === null) throw new UsageError(`bad ${what} '${tok}'`);
      const mult = { "": 1, k: 1024, m: 2 ** 20, g: 2 ** 30, p: this.#ps }[m[2].toLowerCase()]!;
      sum += sign * Number(m[1]) * mult;
    }
    if (!Number.isSafeInteger(sum)) throw new UsageError(`${what} '${tok}' is too large`);
    if (sum < 0) throw new UsageError(`${what} '${tok}' is negative`);
    return sum;
  }

  /** `rw-`, `r-x`, `---`, `none`, or letters `rw`; `/max` appends a PROT_MAX. */
  prot(tok: string | undefined): number {
    if (tok === undefined) throw new UsageError("missing protection (like rw- or r-x)");
    const [p, max, extra] = tok.split("/");
    if (extra !== undefined) throw new UsageError(`bad protection '${tok}'`);
    const one = (s: string): number => {
      if (s === "none" || s === "---") return 0;
      const m = /^([r-]?)([w-]?)([x-]?)$/.exec(s);
      if (m === null || s === "" || (s.includes("-") && s.length !== 3))
        throw new UsageError(`bad protection '${tok}' (like rw-, r-x, --- or rw)`);
      return (m[1] === "r" ? 1 : 0) | (m[2] === "w" ? 2 : 0) | (m[3] === "x" ? 4 : 0);
    };
    const prot = one(p);
    return max === undefined ? prot : prot | PROT_MAX(one(max));
  }

  /** Display name of a VM object: obj#N, numbered from the shell's first object. */
  objName(o: VmObject | number): string {
    const id = typeof o === "number" ? o : o.id;
    return `obj#${id - this.#objBase}`;
  }

  /** `obj#5 -> obj#3 -> obj#1`, with `+0x...` where a shadow starts inside its backing object. */
  chainString(o: VmObject): string {
    const parts = [this.objName(o)];
    for (let s: VmObject = o; s.backingObject !== null; s = s.backingObject) {
      const off = s.backingObjectOffset;
      parts.push(`${this.objName(s.backingObject)}${off !== 0 ? `+${hex(off)}` : ""}`);
    }
    return parts.join(" -> ");
  }

  /** The byte a read at `va` would return, found without faulting (for touch). */
  #peek(p: Process, va: number): number {
    const ps = this.#ps;
    const bytes = this.sys.mem.bytes;
    const pte = p.pmap.extract(va);
    if (pte !== 0) return bytes[(pte >>> 8) * ps + (va % ps)];
    const r = p.map.lookupEntry(va);
    const e = r.entry;
    if (!r.found || e === null || e.object === null) return 0;
    const o = e.object.lookupChain(Math.floor((va - e.start + e.offset) / ps));
    if (o === null) return 0;
    return bytes[o.pages.get(VmObject.chainPindex)! * ps + (va % ps)];
  }

  // ------------------------------------------------------------------ commands

  cmdMap(args: string[]): string {
    const p = this.proc();
    let i = 0;
    const nums: number[] = [];
    // Words that start like a number are numbers: `len`, or `addr len`.
    while (i < args.length && /^([+$0-9]|-[$0-9])/.test(args[i])) i++;
    if (i === 0) throw new UsageError("missing length");
    if (i > 2) throw new UsageError(`usage: map ${COMMANDS.map.args}`);
    for (let k = 0; k < i; k++) nums.push(this.num(args[k], k < i - 1 ? "address" : "length"));
    const [addr, len] = nums.length === 2 ? nums : [0, nums[0]];
    const prot = this.prot(args[i++]);
    const C = this.#consts;
    let flags = 0;
    let sharing = 0;
    for (; i < args.length; i++) {
      const w = args[i];
      const align = /^align=([0-9]+)$/.exec(w);
      const name = align !== null ? "MAP_ALIGNED" : MAP_FLAGS[w];
      if (name === undefined)
        throw new UsageError(`unknown flag '${w}' (one of ${Object.keys(MAP_FLAGS).join(" ")})`);
      const c = C[name];
      if (c === undefined)
        throw new UsageError(
          `flag '${w}' (${name}) is not in the ${this.sys.personality} personality`,
        );
      if (typeof c === "function") flags |= c(Number(align![1]));
      else if (w === "shared" || w === "private" || w === "droppable") sharing |= c;
      else flags |= c;
    }
    // Anonymous memory, private unless said otherwise; a guard is neither (MAP_GUARD alone).
    if (C.MAP_GUARD === undefined || (flags & C.MAP_GUARD) === 0)
      flags |= C.MAP_ANON! | (sharing === 0 ? C.MAP_PRIVATE! : sharing);
    else flags |= sharing;
    const at = p.mmap(addr, len, prot, flags);
    this.#last = at;
    const ps = this.#ps;
    const end = Math.ceil((at + len) / ps) * ps;
    return `mapped [${hex(at)}, ${hex(end)}) ${(end - at) / ps} pages\n`;
  }

  /** `addr len` and `extra` more words, or a usage error naming the command's synopsis. */
  range(args: string[], extra: number, usage: string): [number, number] {
    if (args.length !== 2 + extra) throw new UsageError(`usage: ${usage}`);
    return [this.num(args[0], "address"), this.num(args[1], "length")];
  }

  cmdTouch(args: string[]): string {
    const p = this.proc();
    if (args.length < 1 || args.length > 2) throw new UsageError("usage: touch addr [len]");
    const addr = this.num(args[0], "address");
    const len = args.length > 1 ? this.num(args[1], "length") : 1;
    const ps = this.#ps;
    let n = 0;
    for (let va = addr; va < addr + len; va = va - (va % ps) + ps, n++)
      p.write8(va, this.#peek(p, va));
    return `touched ${n} page${n === 1 ? "" : "s"}\n`;
  }

  cmdRead(args: string[]): string {
    const p = this.proc();
    if (args.length < 1 || args.length > 2) throw new UsageError("usage: read addr [1|2|4|8]");
    const addr = this.num(args[0], "address");
    const w = width(args[1]);
    const v =
      w === 1
        ? p.read8(addr)
        : w === 2
          ? p.read16(addr)
          : w === 4
            ? p.read32(addr)
            : p.read64(addr);
    return `${hex(addr)}: 0x${v.toString(16).padStart(2 * w, "0")}\n`;
  }

  cmdWrite(args: string[]): string {
    const p = this.proc();
    if (args.length < 2 || args.length > 3)
      throw new UsageError("usage: write addr value [1|2|4|8]");
    const addr = this.num(args[0], "address");
    const w = width(args[2]);
    if (w === 8) {
      if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(args[1])) throw new UsageError(`bad value '${args[1]}'`);
      const v = BigInt(args[1]);
      if (v >= 2n ** 64n) throw new UsageError(`value ${args[1]} does not fit in 8 bytes`);
      p.write64(addr, v);
      return "";
    }
    const v = this.num(args[1], "value");
    if (v >= 2 ** (8 * w))
      throw new UsageError(`value ${args[1]} does not fit in ${w} byte${w === 1 ? "" : "s"}`);
    if (w === 1) p.write8(addr, v);
    else if (w === 2) p.write16(addr, v);
    else p.write32(addr, v);
    return "";
  }

  cmdFork(args: string[]): string {
    noArgs("fork", args);
    const p = this.proc();
    const c = p.fork();
    this.#ppid.set(c.pid, p.pid);
    return `child pid ${c.pid}\n`;
  }

  cmdSpawn(args: string[]): string {
    noArgs("spawn", args);
    const p = this.sys.createProcess();
    this.#ppid.set(p.pid, null);
    return `new process pid ${p.pid}\n`;
  }

  #find(tok: string | undefined): Process {
    const pid = this.num(tok, "pid");
    const p = this.sys.processes().find((q) => q.pid === pid);
    if (p === undefined) throw new UsageError(`no process ${pid}`);
    return p;
  }

  cmdSwitch(args: string[]): string {
    if (args.length !== 1) throw new UsageError("usage: switch pid");
    this.#cur = this.#find(args[0]);
    return "";
  }

  cmdExit(args: string[]): string {
    if (args.length > 1) throw new UsageError("usage: exit [pid]");
    const p = args.length === 1 ? this.#find(args[0]) : this.proc();
    p.exit();
    let now = "";
    if (p === this.#cur) {
      const ppid = this.#ppid.get(p.pid) ?? null;
      this.#cur = this.sys.processes().find((q) => q.pid === ppid) ?? null;
      now = this.#cur !== null ? ` (now in pid ${this.#cur.pid})` : " (no current process)";
    }
    return `process ${p.pid} exited${now}\n`;
  }

  cmdPs(args: string[]): string {
    noArgs("ps", args);
    const rows = [["", "PID", "PPID", "ENTRIES", "SIZE", "RSS", "WIRED"]];
    for (const p of this.sys.processes())
      rows.push([
        p === this.#cur ? "*" : "",
        String(p.pid),
        String(this.#ppid.get(p.pid) ?? "-"),
        String(p.map.nentries),
        sizeString(p.map.size),
        String(p.pmap.resident),
        String(p.pmap.wired),
      ]);
    return `${table(rows)}\n`;
  }

  cmdEntries(args: string[]): string {
    noArgs("entries", args);
    const p = this.proc();
    const rows = [["START", "END", "PRT", "MAX", "INHERIT", "WIRED", "OBJECT", "FLAGS"]];
    for (const e of p.map.entries())
      rows.push([
        hex(e.start),
        hex(e.end),
        protString(e.protection),
        protString(e.maxProtection),
        INHERIT_NAMES[e.inheritance] ?? String(e.inheritance),
        String(e.wiredCount),
        e.object === null ? "-" : `${this.objName(e.object)}+${hex(e.offset)}`,
        entryFlags(e),
      ]);
    return `${table(rows)}\n${p.map.nentries} entries, ${sizeString(p.map.size)} mapped\n`;
  }

  cmdObjects(args: string[]): string {
    noArgs("objects", args);
    const users = new Map<VmObject, string[]>();
    for (const p of this.sys.processes())
      for (const e of p.map.entries())
        if (e.object !== null) {
          const u = users.get(e.object) ?? [];
          u.push(`${p.pid}@${hex(e.start)}`);
          users.set(e.object, u);
        }
    const rows = [["OBJECT", "TYPE", "REF", "SHD", "RES", "SIZE", "FLAGS", "MAPPED BY", "CHAIN"]];
    const objs = [...this.sys.objects.objects.values()].sort((a, b) => a.id - b.id);
    for (const o of objs) {
      const flags = [o.flags & OBJ_ANON ? "anon" : "", o.flags & OBJ_ONEMAPPING ? "onemap" : ""];
      rows.push([
        this.objName(o),
        o.type,
        String(o.refCount),
        String(o.shadowCount),
        String(o.residentCount),
        `${o.size}p`,
        flags.filter((f) => f !== "").join(",") || "-",
        (users.get(o) ?? ["-"]).join(" "),
        this.chainString(o),
      ]);
    }
    return `${table(rows)}\n`;
  }

  cmdChain(args: string[]): string {
    if (args.length !== 1) throw new UsageError("usage: chain addr");
    const p = this.proc();
    const ps = this.#ps;
    const va = this.num(args[0], "address");
    const r = p.map.lookupEntry(va);
    const e = r.entry;
    if (!r.found || e === null) throw new UsageError(`${hex(va)} is not mapped`);
    const pte = p.pmap.extract(va);
    let out =
      `${hex(va)} in [${hex(e.start)}, ${hex(e.end)}) ${protString(e.protection)}` +
      ` ${entryFlags(e)}, pte ${pte === 0 ? (p.pmap.isGuard(va) ? "guard marker" : "none") : `${pteString(pte)} frame ${pte >>> 8}`}\n`;
    if (e.object === null) return `${out}  no object yet: the first fault allocates one\n`;
    let pindex = Math.floor((va - e.start + e.offset) / ps);
    let visible = true;
    for (let o: VmObject | null = e.object; o !== null; o = o.backingObject) {
      const f = o.pageLookup(pindex);
      const where =
        f < 0 ? "not here" : `frame ${f}${visible ? " <- visible at this address" : " (hidden)"}`;
      if (f >= 0) visible = false;
      out += `  ${o === e.object ? "" : "-> "}${this.objName(o)} ${o.type} ref ${o.refCount} shd ${o.shadowCount} res ${o.residentCount}: page ${pindex} ${where}\n`;
      pindex += o.backingObjectOffset / ps;
    }
    if (visible) out += "  no page in the chain: a fault would zero fill (or page in)\n";
    return out;
  }

  cmdPages(args: string[]): string {
    if (args.length < 1 || args.length > 2) throw new UsageError("usage: pages addr [len]");
    const p = this.proc();
    const ps = this.#ps;
    const addr = this.num(args[0], "address");
    const len = args.length > 1 ? this.num(args[1], "length") : 1;
    const start = addr - (addr % ps);
    const end = Math.ceil((addr + len) / ps) * ps;
    if ((end - start) / ps > 4096) throw new UsageError("at most 4096 pages at a time");
    const rows = [["ADDRESS", "PTE", "FRAME", "PAGE"]];
    for (let va = start; va < end; va += ps) {
      const pte = p.pmap.extract(va);
      const r = p.map.lookupEntry(va);
      const e = r.entry;
      let page = "unmapped";
      if (r.found && e !== null) {
        page = "not resident";
        if (e.object !== null) {
          const o = e.object.lookupChain(Math.floor((va - e.start + e.offset) / ps));
          if (o !== null)
            page = `${this.objName(o)}[${VmObject.chainPindex}]${o === e.object ? "" : " backing"}`;
        }
      }
      rows.push([
        hex(va),
        pte === 0 ? (p.pmap.isGuard(va) ? "guard" : "-") : pteString(pte),
        pte === 0 ? "-" : String(pte >>> 8),
        page,
      ]);
    }
    return `${table(rows)}\n`;
  }

  cmdTlb(args: string[]): string {
    noArgs("tlb", args);
    const p = this.proc();
    const ps = this.#ps;
    const { tlbTag, tlbBase, tlbPerm } = p.pmap;
    const slots: number[] = [];
    for (let s = 0; s < TLB_SIZE; s++) if (!Number.isNaN(tlbTag[s])) slots.push(s);
    slots.sort((a, b) => tlbTag[a] - tlbTag[b]);
    const rows = [["SLOT", "ADDRESS", "FRAME", "ALLOWS"]];
    for (const s of slots)
      rows.push([
        String(s),
        hex(tlbTag[s] * ps),
        String(tlbBase[s] / ps),
        pteString(tlbPerm[s]).slice(0, 3),
      ]);
    return `${table(rows)}\n${slots.length} of ${TLB_SIZE} slots valid\n`;
  }

  cmdStats(args: string[]): string {
    noArgs("stats", args);
    const s = this.sys.stats();
    const f = s.faults;
    const o = s.objects;
    return `${table([
      [
        "frames",
        `total ${s.frames.total}, free ${s.frames.free}, active ${s.frames.active}, inactive ${s.frames.inactive}, wired ${s.frames.wired}`,
      ],
      [
        "faults",
        `${f.faults}: zero fill ${f.zeroFill}, cow copies ${f.cowCopies}, cow moves ${f.cowMoves}, soft ${f.soft}, shadow reads ${f.shadowReads}, failed ${f.failed}; prefaulted pages ${f.prefaulted}`,
      ],
      [
        "objects",
        `live ${o.live}, shadows created ${o.shadowsCreated}, collapses ${o.collapses}, bypasses ${o.bypasses}, splits ${o.splits}`,
      ],
      ["tlb", `invalidations ${s.tlbInvalidations}`],
      ["paging", `pageins ${s.pageins}, pageouts ${s.pageouts}, swap in use ${s.swapInUse}`],
      ["processes", String(s.processes)],
    ])}\n`;
  }

  cmdEvents(args: string[]): string {
    if (args.length !== 1 || !["on", "off", "all"].includes(args[0]))
      throw new UsageError("usage: events on|off|all");
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    if (args[0] !== "off") {
      this.#tlbEvents = args[0] === "all";
      this.#unsubscribe = this.sys.on((e) => this.#event(e));
    }
    return "";
  }

  #pidOfPmap(id: number): string {
    const p = this.sys.processes().find((q) => q.pmap.id === id);
    return p === undefined ? `pmap ${id}` : `pid ${p.pid}`;
  }

  #event(e: VmEvent): void {
    let s: string;
    switch (e.type) {
      case "fault":
        s = `fault pid ${e.pid} at ${hex(e.address)}: ${FAULT_KINDS[e.kind] ?? e.kind}`;
        break;
      case "fault-failed":
        s = `fault pid ${e.pid} at ${hex(e.address)} failed: ${e.signal} ${e.code}`;
        break;
      case "shadow":
        s = `shadow ${this.objName(e.objectId)} created over ${e.backingId === null ? "nothing" : this.objName(e.backingId)}`;
        break;
      case "collapse":
        s = `collapse: ${this.objName(e.objectId)} absorbed its backing object`;
        break;
      case "bypass":
        s = `bypass: ${this.objName(e.objectId)} skips its backing object`;
        break;
      case "split":
        s = `split: new ${this.objName(e.objectId)}`;
        break;
      case "tlb-invalidate":
        if (!this.#tlbEvents) return;
        s = `tlb invalidate ${this.#pidOfPmap(e.pmapId)} ${e.page < 0 ? "all" : hex(e.page * this.#ps)}`;
        break;
      case "pageout":
      case "pagein":
        s = `${e.type} ${this.objName(e.objectId)} page ${e.pindex}`;
        break;
      default:
        s = JSON.stringify(e);
    }
    this.#pending.push(`event: ${s}\n`);
  }

  #flushEvents(): string {
    const s = this.#pending.join("");
    this.#pending = [];
    return s;
  }
}

function noArgs(name: string, args: string[]): void {
  if (args.length !== 0) throw new UsageError(`${name} takes no arguments`);
}

function width(tok: string | undefined): 1 | 2 | 4 | 8 {
  if (tok === undefined) return 4;
  if (tok === "1" || tok === "2" || tok === "4" || tok === "8") return Number(tok) as 1 | 2 | 4 | 8;
  throw new UsageError(`bad width '${tok}' (1, 2, 4 or 8)`);
}

function entryFlags(e: VmMapEntry): string {
  const names = ENTRY_FLAGS.filter(([bit]) => (e.eflags & bit) !== 0).map(([, n]) => n);
  const behav = e.eflags & MAP_ENTRY_BEHAV_MASK;
  if (behav === MAP_ENTRY_BEHAV_SEQUENTIAL) names.push("SEQUENTIAL");
  else if (behav === MAP_ENTRY_BEHAV_RANDOM) names.push("RANDOM");
  return names.length > 0 ? names.join(" ") : "-";
}

function describeError(name: string, e: unknown): string {
  if (e instanceof VmError || e instanceof MemoryFault) return e.message;
  if (e instanceof UnknownCommand) return e.message;
  if (e instanceof UsageError) return `${name}: ${e.message}`;
  if (e instanceof VmPanic) return `panic: ${e.message}`;
  return `error: ${e instanceof Error ? e.message : String(e)}`;
}

function lookup(name: string): Command | undefined {
  if (Object.hasOwn(COMMANDS, name)) return COMMANDS[name];
  return Object.values(COMMANDS).find((c) => c.aliases?.includes(name));
}

const NUMBERS =
  "Numbers: decimal or 0x hex, with k, m, g (x1024...) or p (pages) after them, `$` for the\n" +
  "address the last map returned, and + or - between them: `$+4k`, `0x800000000+2p-1`.\n";

const COMMANDS: Record<string, Command> = {
  map: {
    args: "[addr] len prot [flag...]",
    summary: "mmap anonymous memory (private unless `shared`); sets `$`",
    detail:
      "mmap(addr, len, prot, MAP_ANON | MAP_PRIVATE | flags). prot: rw-, r-x, ---, rw ...;\n" +
      "`rw-/rwx` also passes PROT_MAX(rwx) (FreeBSD). Flags, where the personality has them:\n" +
      "shared private fixed stack 32bit; FreeBSD: excl guard super align=N nocore nosync\n" +
      "prefault; Linux: noreplace growsdown populate noreserve locked droppable (MAP_DROPPABLE\n" +
      "instead of MAP_PRIVATE). `guard` maps MAP_GUARD alone (prot ---). Without addr the\n" +
      "kernel chooses. `$` is the address it returned.\n",
    run: (sh, a) => sh.cmdMap(a),
  },
  unmap: {
    args: "addr len",
    summary: "munmap a range (holes are fine)",
    detail: "munmap(addr, len).\n",
    run: (sh, a) => {
      sh.proc().munmap(...sh.range(a, 0, "unmap addr len"));
      return "";
    },
  },
  protect: {
    args: "addr len prot",
    summary: "mprotect a range",
    detail: "mprotect(addr, len, prot); `r--/rw-` also lowers the maximum to PROT_MAX(rw-).\n",
    run: (sh, a) => {
      const [addr, len] = sh.range(a, 1, "protect addr len prot");
      sh.proc().mprotect(addr, len, sh.prot(a[2]));
      return "";
    },
  },
  inherit: {
    args: "addr len share|copy|none|zero",
    summary: "minherit: what a fork gives the child",
    detail:
      "minherit(addr, len, INHERIT_*). share: parent and child see the same pages; copy (the\n" +
      "default): copy on write; none: the child gets a hole; zero: the child gets fresh zeros.\n",
    run: (sh, a) => {
      const [addr, len] = sh.range(a, 1, "inherit addr len share|copy|none|zero");
      const i = (INHERIT_NAMES as readonly string[]).indexOf(a[2]);
      if (i < 0) throw new UsageError(`bad inheritance '${a[2]}' (share, copy, none or zero)`);
      sh.proc().minherit(addr, len, i);
      return "";
    },
  },
  advise: {
    args: "addr len advice",
    summary: "madvise a range",
    detail:
      "madvise(addr, len, MADV_<ADVICE>): any MADV_ name of the personality in lower case;\n" +
      "FreeBSD's: normal random sequential willneed dontneed free nosync autosync nocore core\n" +
      "protect. Behaviour advice flags (and clips) entries; willneed maps resident pages;\n" +
      "dontneed and free deactivate pages; protect needs privilege (EPERM here).\n",
    run: (sh, a) => {
      const [addr, len] = sh.range(a, 1, "advise addr len advice");
      const words = sh.adviceWords();
      if (!words.includes(a[2])) throw new UsageError(`bad advice '${a[2]}' (${words.join(", ")})`);
      sh.proc().madvise(addr, len, sh.constant(`MADV_${a[2].toUpperCase()}`));
      return "";
    },
  },
  lock: {
    args: "addr len | current | future | all",
    summary: "mlock a range, or mlockall",
    detail:
      "lock addr len: mlock (wires the pages; RLIMIT_MEMLOCK is 64K for this unprivileged\n" +
      "process). lock current|future|all: mlockall(MCL_CURRENT | MCL_FUTURE | both).\n",
    run: (sh, a) => {
      const p = sh.proc();
      const how = {
        current: sh.constant("MCL_CURRENT"),
        future: sh.constant("MCL_FUTURE"),
        all: sh.constant("MCL_CURRENT") | sh.constant("MCL_FUTURE"),
      };
      if (a.length === 1 && Object.hasOwn(how, a[0])) p.mlockall(how[a[0] as keyof typeof how]);
      else p.mlock(...sh.range(a, 0, "lock addr len | current | future | all"));
      return "";
    },
  },
  unlock: {
    args: "addr len | all",
    summary: "munlock a range, or munlockall",
    detail: "unlock addr len: munlock. unlock all: munlockall.\n",
    run: (sh, a) => {
      const p = sh.proc();
      if (a.length === 1 && a[0] === "all") p.munlockall();
      else p.munlock(...sh.range(a, 0, "unlock addr len | all"));
      return "";
    },
  },
  touch: {
    args: "addr [len]",
    summary: "write-fault every page of a range (contents unchanged)",
    detail:
      "Stores into the first byte of each page (from addr, len bytes; default 1) the value it\n" +
      "already has, so each page takes the write fault a program's store would take (zero\n" +
      "fill, copy on write) and nothing else. Stops at the first signal.\n",
    run: (sh, a) => sh.cmdTouch(a),
  },
  read: {
    args: "addr [1|2|4|8]",
    summary: "load a little-endian value (default 4 bytes)",
    detail: "read8/16/32/64 at addr, as the process's CPU would: may fault or raise a signal.\n",
    run: (sh, a) => sh.cmdRead(a),
  },
  write: {
    args: "addr value [1|2|4|8]",
    summary: "store a little-endian value (default 4 bytes)",
    detail: "write8/16/32/64 at addr, as the process's CPU would: may fault or raise a signal.\n",
    run: (sh, a) => sh.cmdWrite(a),
  },
  fork: {
    args: "",
    summary: "fork (prints the child's pid; the shell stays in the parent)",
    detail:
      "fork(2): the child's address space follows each entry's inheritance; copy entries are\n" +
      "shared copy-on-write until one side writes. `switch PID` enters the child.\n",
    run: (sh, a) => sh.cmdFork(a),
  },
  spawn: {
    args: "",
    summary: "create a new process with an empty address space",
    detail: "sys.createProcess(); the shell stays in the current process.\n",
    run: (sh, a) => sh.cmdSpawn(a),
  },
  ps: {
    args: "",
    summary: "list processes (* marks the current one)",
    detail: "PID, parent, map entries, bytes mapped, resident (RSS: valid PTEs) and wired PTEs.\n",
    run: (sh, a) => sh.cmdPs(a),
  },
  switch: {
    args: "pid",
    aliases: ["proc"],
    summary: "make another process current (alias: proc)",
    detail: "Later commands act on that process; the prompt shows its pid.\n",
    run: (sh, a) => sh.cmdSwitch(a),
  },
  exit: {
    args: "[pid]",
    summary: "exit a process (default: the current one)",
    detail:
      "exit(2): releases its mappings, pages and objects. When the current process exits, its\n" +
      "parent (if alive) becomes current.\n",
    run: (sh, a) => sh.cmdExit(a),
  },
  maps: {
    args: "[procstat|linux]",
    summary: "the map as procstat -v or /proc/PID/maps prints it",
    detail:
      "p.formatMaps(); the default is the personality's own format. procstat FLAG column:\n" +
      "C copy on write, N needs copy, D grows down, W wired.\n",
    run: (sh, a) => {
      if (a.length > 1 || (a.length === 1 && a[0] !== "procstat" && a[0] !== "linux"))
        throw new UsageError("usage: maps [procstat|linux]");
      const own = sh.sys.personality === "linux" ? "linux" : "procstat";
      return sh.proc().formatMaps((a[0] as "procstat" | "linux" | undefined) ?? own);
    },
  },
  entries: {
    args: "",
    summary: "the map entries: range, protections, inheritance, object, flags",
    detail: "One line per vm_map_entry, with its MAP_ENTRY_* flags.\n",
    run: (sh, a) => sh.cmdEntries(a),
  },
  objects: {
    args: "",
    summary: "every live VM object: refs, shadows, pages, users, chain",
    detail:
      "REF: references (map entries and shadows); SHD: shadows backed by it; RES: resident\n" +
      "pages; MAPPED BY: pid@entry start; CHAIN: the object and its backing objects.\n",
    run: (sh, a) => sh.cmdObjects(a),
  },
  chain: {
    args: "addr",
    summary: "the shadow chain behind an address, and whose page it sees",
    detail: "Walks from the entry's object down the backing objects, page by page.\n",
    run: (sh, a) => sh.cmdChain(a),
  },
  pages: {
    args: "addr [len]",
    summary: "per page: PTE (A referenced, M modified, W wired), frame, page",
    detail:
      "PAGE is the object page a read would see (`backing` when it lies below the top\n" +
      "object); `not resident` means the next fault zero fills (or reads the pager).\n",
    run: (sh, a) => sh.cmdPages(a),
  },
  tlb: {
    args: "",
    summary: "the valid slots of the current process's software TLB",
    detail:
      "ALLOWS is what a hit may do without the slow path: write only once the page is\n" +
      "modified (M), so the referenced and modified bits stay exact.\n",
    run: (sh, a) => sh.cmdTlb(a),
  },
  stats: {
    args: "",
    summary: "counters: frames, faults, copies, objects, TLB, paging",
    detail: "sys.stats().\n",
    run: (sh, a) => sh.cmdStats(a),
  },
  audit: {
    args: "",
    summary: "check every invariant of every layer",
    detail: "sys.audit(): a broken invariant is printed as `panic: ...`.\n",
    run: (sh, a) => {
      noArgs("audit", a);
      sh.sys.audit();
      return "audit ok\n";
    },
  },
  events: {
    args: "on|off|all",
    summary: "print events as they happen (all: TLB invalidations too)",
    detail: "Faults, failed faults, shadow, collapse, bypass, split, pagein, pageout.\n",
    run: (sh, a) => sh.cmdEvents(a),
  },
  help: {
    args: "[command]",
    aliases: ["?"],
    summary: "this list, or one command in detail",
    detail: "",
    run: (_sh, a) => help(a[0]),
  },
  quit: {
    args: "",
    summary: "leave the shell (end of input does too)",
    detail: "",
    run: (sh) => {
      sh.done = true;
      return "";
    },
  },
};

function help(name?: string): string {
  if (name !== undefined) {
    const c = lookup(name);
    if (c === undefined) throw new UsageError(`no command '${name}'`);
    const real = Object.keys(COMMANDS).find((k) => COMMANDS[k] === c)!;
    const more = c.detail.replace(/^(?=.)/gm, "  ");
    const alias = c.aliases !== undefined ? `  aliases: ${c.aliases.join(" ")}\n` : "";
    return `${`${real} ${c.args}`.trimEnd()}\n  ${c.summary}\n${more}${alias}`;
  }
  const rows = Object.entries(COMMANDS).map(([n, c]) => [`  ${n} ${c.args}`.trimEnd(), c.summary]);
  return (
    `commands:\n${table(rows)}\n${NUMBERS}` +
    "A line starting with # is a comment; `!cmd` says cmd must fail (scripts exit 1 otherwise).\n"
  );
}

/**
 * Runs a script: writes its transcript to `out` and returns the exit status (1 when a command
 * failed unexpectedly). Stops at `quit`.
 */
export function runShell(
  lines: Iterable<string>,
  out: (s: string) => void,
  opts: ShellOptions = {},
): number {
  const sh = new Shell(opts);
  for (const line of lines) {
    out(sh.scriptLine(line));
    if (sh.done) break;
  }
  return sh.failures > 0 ? 1 : 0;
}

/** Streams the shell needs: stdin (a TTY or not), stdout, stderr. */
export interface ShellIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const SHELL_USAGE = `usage: vmspace shell [--linux] [--memory SIZE] [--page-size SIZE] [FILE]

An interactive prompt on a terminal; otherwise reads a script from FILE or stdin and prints
its transcript (exit status 1 if a command not marked with ! failed). Type 'help' inside.

  --linux           Linux system calls, errno numbers and placement (default: FreeBSD)
  --memory SIZE     physical memory, like 64m (default 16m)
  --page-size SIZE  page size, 4k to 64k (default 4k)
`;

/**
 * `vmspace shell [options] [FILE]`: interactive on a terminal, the script runner otherwise.
 * Resolves to the exit status.
 */
export async function shellCommand(
  args: string[],
  io: ShellIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const opts: ShellOptions = {};
  let file: string | null = null;
  const size = (v: string | undefined, what: string): number => {
    const m = /^([0-9]+)([kmg]?)$/i.exec(v ?? "");
    if (m === null) throw new UsageError(`bad ${what} '${v ?? ""}'`);
    return Number(m[1]) * { "": 1, k: 1024, m: 2 ** 20, g: 2 ** 30 }[m[2].toLowerCase()]!;
  };
  let sh: Shell;
  try {
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === "-h" || a === "--help") {
        io.stdout.write(SHELL_USAGE);
        return 0;
      }
      if (a === "--linux") opts.personality = "linux";
      else if (a === "--memory") opts.physicalMemory = size(args[++i], "memory size");
      else if (a === "--page-size") opts.pageSize = size(args[++i], "page size");
      else if (a.startsWith("-") || file !== null) throw new UsageError(`unexpected '${a}'`);
      else file = a;
    }
    sh = new Shell(opts);
  } catch (e) {
    io.stderr.write(`vmspace shell: ${e instanceof Error ? e.message : String(e)}\n${SHELL_USAGE}`);
    return 2;
  }
  const input = file !== null ? createReadStream(file) : io.stdin;
  if (file === null && io.stdin.isTTY === true) {
    // Interactive: a prompt, no echo (the terminal shows what was typed); status 0.
    const rl = createInterface({ input, output: io.stdout });
    rl.on("SIGINT", () => rl.close());
    const kernel = sh.sys.personality === "linux" ? "Linux" : "FreeBSD";
    const memory = sizeString(sh.sys.stats().frames.total * sh.sys.pageSize);
    const page = sizeString(sh.sys.pageSize);
    io.stdout.write(`vmspace shell: ${kernel}, ${memory} of memory, ${page} pages. Type 'help'.\n`);
    rl.setPrompt(sh.prompt);
    rl.prompt();
    await new Promise<void>((resolve) => {
      rl.on("line", (line) => {
        io.stdout.write(sh.exec(line));
        if (sh.done) rl.close();
        else {
          rl.setPrompt(sh.prompt);
          rl.prompt();
        }
      });
      rl.on("close", resolve);
    });
    return 0;
  }
  try {
    const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of rl) {
      io.stdout.write(sh.scriptLine(line));
      if (sh.done) {
        rl.close();
        break;
      }
    }
  } catch (e) {
    io.stderr.write(`vmspace shell: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  return sh.failures > 0 ? 1 : 0;
}
