/**
 * `vmspace demo`: a guided tour of the map layer. Every line printed is computed by the
 * library: addresses chosen by first fit, entries clipped and merged, KERN_* codes returned.
 */

import {
  auditMap,
  kernName,
  MAP_COPY_ON_WRITE,
  protString,
  VM_MAP_PROTECT_SET_PROT,
  VM_PROT_ALL,
  VM_PROT_READ,
  VM_PROT_RW,
  VMFS_ANY_SPACE,
  VmMap,
} from "../src/index.js";

function hex(v: number): string {
  return `0x${v.toString(16).padStart(9, "0")}`;
}

/** The map's entries in the style of FreeBSD procstat -v. */
export function formatEntries(map: VmMap): string {
  const lines: string[] = [];
  for (const e of map.entries()) {
    const obj = e.object === null ? "-" : `obj${e.object.id}+${e.offset.toString(16)}`;
    lines.push(`    ${hex(e.start)} ${hex(e.end)} ${protString(e.protection)} ${obj}`);
  }
  lines.push(
    `    ${map.nentries} entries, ${map.size / 1024} KiB mapped, largest free gap ${map.maxFree / 1024} KiB`,
  );
  return `${lines.join("\n")}\n`;
}

/** Runs the demo and returns its transcript. */
export function runDemo(): string {
  let out = "vmspace demo: a FreeBSD vm_map over [0x10000, 2^47) with 4 KiB pages\n\n";
  const map = VmMap.create(null, 0x10000, 2 ** 47);
  const step = (what: string, rv: number | string): void => {
    auditMap(map);
    out += `${what} -> ${typeof rv === "number" ? kernName(rv) : rv}\n${formatEntries(map)}\n`;
  };
  const a = map.find(null, 0, 0, 64 * 1024, 0, VMFS_ANY_SPACE, VM_PROT_RW, VM_PROT_ALL, 0);
  step(`find 64 KiB anywhere (first fit) at ${hex(a.addr)}`, a.rv);
  const b = map.find(null, 0, 0, 32 * 1024, 0, VMFS_ANY_SPACE, VM_PROT_RW, VM_PROT_ALL, 0);
  step("find 32 KiB more: anonymous clustering grows the same entry", b.rv);
  const mid = a.addr + 16 * 1024;
  step(
    `protect [${hex(mid)}, +8 KiB) read-only: the entry is clipped in three`,
    map.protect(mid, mid + 8192, VM_PROT_READ, 0, VM_MAP_PROTECT_SET_PROT),
  );
  step(
    "protect it read-write again: the three pieces merge back",
    map.protect(mid, mid + 8192, VM_PROT_RW, 0, VM_MAP_PROTECT_SET_PROT),
  );
  step(
    "insert over the same range: refused, the range is occupied",
    map.insert(null, 0, mid, mid + 4096, VM_PROT_READ, VM_PROT_ALL, 0),
  );
  step(
    "insert a copy-on-write entry in the free space after it",
    map.insert(null, 0, 0x100000, 0x104000, VM_PROT_READ, VM_PROT_ALL, MAP_COPY_ON_WRITE),
  );
  step(`delete [${hex(a.addr)}, +4 KiB): a hole at the front`, map.delete(a.addr, a.addr + 4096));
  const c = map.find(null, 0, 0x10000, 4096, 0, VMFS_ANY_SPACE, VM_PROT_READ, VM_PROT_ALL, 0);
  step(`find 4 KiB from the bottom: first fit reuses the hole at ${hex(c.addr)}`, c.rv);
  step("remove(0, Infinity): the range is clamped to the map", map.remove(0, Infinity));
  out += "audit passed after every step\n";
  return out;
}
