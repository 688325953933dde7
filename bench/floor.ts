/**
 * The floor under the map's lookup (issue 2's scaling goal): the least work a lookup of a
 * random key can do in JavaScript on this machine, measured at 1,000, 60,000 and 1,000,000 keys.
 * `npm run bench:floor`.
 *
 * The structure is an ideal static B-tree, nothing like a map: keys (a page apart) in one
 * Float64Array, nodes of 16 keys (two cache lines) laid out as a complete tree whose children
 * are implicit (node i's are i*17+1 .. i*17+17), no counts, no child array, no entry objects, no
 * updates, a linear scan per node. A lookup returns the index of the greatest key at or below
 * the query. Its cost at 1,000,000 keys over its cost at 1,000 is the ratio below which no
 * lookup structure on this machine goes; the map's lookupEntry does more (a descent through
 * typed arrays, then the entry object and its fields).
 *
 * A second table gives what one dependent load costs here as the data it ranges over grows: a
 * chase through a random cycle of cache lines in an Int32Array (each line holds the index of
 * the next), 64 KiB to 256 MiB. A lookup at a million entries cannot avoid a few loads that
 * land in tens of megabytes (its leaves, the entry pointers); at a thousand entries every load
 * hits the first-level cache.
 */

const B = 16;

interface Tree {
  keys: Float64Array;
  levels: number;
}

/** A complete tree over keys 0, PAGE, 2 PAGE, ... (n of them); padding keys are +Infinity. */
function build(n: number): Tree {
  let levels = 1;
  for (let cap = B; cap < n; cap *= B + 1) levels++;
  const nodes = ((B + 1) ** levels - 1) / B;
  const keys = new Float64Array(nodes * B).fill(Number.POSITIVE_INFINITY);
  let next = 0;
  const fill = (node: number, depth: number): void => {
    const b = node * B;
    if (depth === levels - 1) {
      for (let j = 0; j < B; j++) keys[b + j] = next < n ? next++ * 4096 : Number.POSITIVE_INFINITY;
      return;
    }
    for (let j = 0; j <= B; j++) {
      fill(node * (B + 1) + j + 1, depth + 1);
      // The separator sorts just below the next key: a query equal to it goes right.
      if (j < B) keys[b + j] = next < n ? next * 4096 - 0.5 : Number.POSITIVE_INFINITY;
    }
  };
  fill(0, 0);
  return { keys, levels };
}

/** Index (in `keys`) of the leaf slot just past the greatest key <= k. */
function lookup(t: Tree, k: number): number {
  const keys = t.keys;
  let node = 0;
  for (let d = 0; d < t.levels - 1; d++) {
    const b = node * B;
    let j = 0;
    while (j < B && keys[b + j] < k) j++;
    node = node * (B + 1) + j + 1;
  }
  const b = node * B;
  let j = 0;
  while (j < B && keys[b + j] <= k) j++;
  return b + j;
}

/** ns per dependent load through a random cycle over `bytes` of cache lines. */
function chase(bytes: number): number {
  const LINE = 16; // Int32 words in a 64-byte line
  const lines = bytes / 64;
  const a = new Int32Array(lines * LINE);
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  let s = 987654321;
  for (let i = lines - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (let i = 0; i < lines; i++) a[order[i] * LINE] = order[(i + 1) % lines] * LINE;
  const steps = 1 << 22;
  let best = Number.POSITIVE_INFINITY;
  let p = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < steps; k++) p = a[p];
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / steps);
  }
  // The chase must have walked the cycle: p is a line start.
  if (p % LINE !== 0) throw new Error("floor: the chase went wrong");
  return best;
}

function main(): void {
  const queries = 1 << 20;
  const rows: [number, number, number][] = [];
  for (const n of [1000, 60_000, 1_000_000]) {
    const t = build(n);
    const q = new Float64Array(queries);
    let s = 12345;
    for (let i = 0; i < queries; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      q[i] = (s % n) * 4096 + 100;
    }
    // Every query must land on its own key: a broken tree cannot give a fast-looking number.
    for (let i = 0; i < 1000; i++) {
      const r = lookup(t, q[i]);
      if (t.keys[r - 1] !== q[i] - 100) throw new Error(`floor: lookup of ${q[i]} went wrong`);
    }
    let best = Number.POSITIVE_INFINITY;
    let sink = 0;
    for (let r = 0; r < 7; r++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < queries; i++) sink += lookup(t, q[i]);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / queries);
    }
    if (sink === 0) throw new Error("floor: nothing looked up");
    rows.push([n, t.levels, best]);
  }
  const base = rows[0][2];
  process.stdout.write("| keys | levels | ns per lookup (best of 7) | over 1,000 keys |\n");
  process.stdout.write("|---:|---:|---:|---:|\n");
  for (const [n, levels, ns] of rows)
    process.stdout.write(
      `| ${n.toLocaleString("en")} | ${levels} | ${ns.toFixed(1)} | ${(ns / base).toFixed(2)}x |\n`,
    );
  process.stdout.write("\n| data chased | ns per dependent load (best of 3) |\n|---:|---:|\n");
  for (let kib = 64; kib <= 256 * 1024; kib *= 4) {
    const size = kib < 1024 ? `${kib} KiB` : `${kib / 1024} MiB`;
    process.stdout.write(`| ${size} | ${chase(kib * 1024).toFixed(1)} |\n`);
  }
}

main();
