/**
 * The ordered entry tree with max-gap augmentation.
 *
 * FreeBSD keeps map entries in a splay tree whose nodes cache `max_free`, the largest free
 * gap "owned" by a subtree, so that lookup, insert, delete and first-fit search are O(log n).
 * vmspace keeps the same contract with a different balanced tree: a B+tree with wide nodes,
 * as Linux's maple tree is. A lookup at 60,000 entries is three node visits, each a binary
 * search over one contiguous Float64Array, where a binary tree would be about twenty pointer
 * chases to nodes scattered over the heap (measured in BENCHMARKS.md: at 60,000 entries a random
 * lookup went from about 400 to about 100 ns). Observable results never depend on the tree's
 * shape (spec section 10), and reads do not restructure the tree, so a read-locked lookup truly
 * changes nothing.
 *
 * Layout. Every tree node ({@link GapTreeNode}) holds up to `capacity` items and one
 * Float64Array with two rows:
 *   leaf:  items are the entries, in address order;
 *          key[i] = items[i].start,
 *          gap[i] = free bytes between items[i] and its predecessor in the whole tree
 *                   (0 for the tree's first entry: the gap below it depends on the map's lower
 *                   bound, which the searches take as an argument);
 *   inner: items are child nodes, in address order;
 *          key[i] = the first key of child i, gap[i] = child i's maxGap.
 *   maxGap = the largest gap[i] of the node.
 * Every leaf is at the same depth; every node but the root holds at least capacity / 4 items
 * (insert splits a full node in halves, remove merges a node that falls below with a sibling
 * or borrows from it), so the depth is O(log n) with a large base.
 * Entries point to their leaf (`leaf`) and nodes to their parent, so that an operation next to
 * a known entry (insert after a predecessor, remove, resize) finds its place without a walk from
 * the root, and aggregates are repaired upwards only as far as they change.
 *
 * Entries are also threaded on a doubly linked list in address order (`prev`/`next`), which makes
 * neighbour access O(1), as FreeBSD's threaded tree does.
 *
 * Invariants (checked by {@link GapTree.check}): list order = leaf order = sorted by start,
 * consecutive entries do not overlap, all leaves at one depth, fill bounds, parent and leaf links
 * consistent, every key, gap and maxGap equal to its recomputation, count equal to the number of
 * entries.
 *
 * Guarded by: the owner's lock (the map lock for map entries).
 */

import { panic } from "../base/assert.js";

/** An entry: an interval [start, end) plus the tree's private links. */
export class GapNode<N extends GapNode<N>> {
  // Fields are declared, then set in the constructor: V8 (Node 20) runs a class's field
  // initializers as a separate function, a third slower per node than plain assignments,
  // and maps build entries on every insert, clip and fork.
  /** First address (map lock). */
  declare start: number;
  /** One past the last address (map lock). */
  declare end: number;
  /** Neighbours in address order (owned by GapTree). */
  declare prev: N | null;
  declare next: N | null;
  /** The leaf that holds this entry (owned by GapTree). */
  declare leaf: GapTreeNode<N> | null;

  constructor() {
    this.start = 0;
    this.end = 0;
    this.prev = null;
    this.next = null;
    this.leaf = null;
  }
}

/** A node of the B+tree: a leaf of entries or an inner node of nodes. Owned by GapTree. */
export class GapTreeNode<N extends GapNode<N>> {
  /** Number of items. */
  declare n: number;
  /** key[i] at i, gap[i] at capacity + i. */
  declare readonly f: Float64Array;
  /** Entries (leaf) or child nodes (inner); null past n. */
  declare readonly items: (N | GapTreeNode<N> | null)[];
  /** Largest gap of the node, and how many of its gaps equal it. */
  declare maxGap: number;
  declare maxCount: number;
  declare parent: GapTreeNode<N> | null;
  declare readonly isLeaf: boolean;

  constructor(capacity: number, isLeaf: boolean) {
    this.n = 0;
    this.f = new Float64Array(2 * capacity);
    this.items = new Array<N | GapTreeNode<N> | null>(capacity).fill(null);
    this.maxGap = 0;
    this.maxCount = 0;
    this.parent = null;
    this.isLeaf = isLeaf;
  }
}

type TNode<N extends GapNode<N>> = GapTreeNode<N>;

/** Largest of two numbers without the cost of Math.max's argument handling. */
function max2(a: number, b: number): number {
  return a > b ? a : b;
}

/** Free bytes between n and its predecessor (0 for the first entry). */
function gapOf<N extends GapNode<N>>(n: N): number {
  return n.prev === null ? 0 : n.start - n.prev.end;
}

/** Largest i < x.n with key[i] <= key, or -1. */
function floorIndex<N extends GapNode<N>>(x: TNode<N>, key: number): number {
  const f = x.f;
  let lo = 0;
  let hi = x.n - 1;
  if (hi < 0 || f[0] > key) return -1;
  while (lo < hi) {
    const m = (lo + hi + 1) >> 1;
    if (f[m] <= key) lo = m;
    else hi = m - 1;
  }
  return lo;
}

/** The default node capacity: 64 items (a node's keys are 512 bytes, eight cache lines). */
export const GAP_TREE_CAPACITY = 64;

/** The intrusive augmented B+tree. */
export class GapTree<N extends GapNode<N>> {
  /** Root node, a leaf while the tree holds at most `capacity` entries (owner lock). */
  root: TNode<N>;
  /** Lowest and highest entry (owner lock). */
  first: N | null = null;
  last: N | null = null;
  /** Number of entries (owner lock). */
  count = 0;
  /** Items per node at most, and at least for every node but the root. */
  readonly capacity: number;
  readonly #min: number;

  /** @param capacity items per node: an even number >= 4 (small values make deep trees). */
  constructor(capacity = GAP_TREE_CAPACITY) {
    if (!Number.isSafeInteger(capacity) || capacity < 4 || capacity % 2 !== 0)
      throw new RangeError(`GapTree: capacity ${capacity} is not an even integer >= 4`);
    this.capacity = capacity;
    this.#min = capacity >> 2;
    this.root = new GapTreeNode<N>(capacity, true);
  }

  // ---------------------------------------------------------------- positions

  /** Index of entry n in its leaf (n.start may have changed since it was stored). */
  #indexOf(leaf: TNode<N>, n: N): number {
    let i = floorIndex(leaf, n.start);
    if (i < 0 || leaf.items[i] !== n) i++;
    if (leaf.items[i] !== n) panic("GapTree", `entry 0x${n.start.toString(16)} not in its leaf`);
    return i;
  }

  /** Index of child x in its parent p, by x's first key (which may have just changed). */
  #slotOf(p: TNode<N>, x: TNode<N>): number {
    let i = floorIndex(p, x.f[0]);
    if (i < 0 || p.items[i] !== x) i++;
    if (p.items[i] !== x) panic("GapTree", "node not in its parent");
    return i;
  }

  /** Copies x's first key into its ancestors, as far as x is their first child. */
  #fixKey(x: TNode<N>): void {
    const k = x.f[0];
    let p = x.parent;
    while (p !== null) {
      const s = this.#slotOf(p, x);
      if (p.f[s] === k) return;
      p.f[s] = k;
      if (s !== 0) return;
      x = p;
      p = x.parent;
    }
  }

  /** Recomputes x.maxGap and x.maxCount from its gap row. */
  #rescan(x: TNode<N>): void {
    const f = x.f;
    const c = this.capacity;
    let g = 0;
    let k = 0;
    for (let i = c, e = c + x.n; i < e; i++) {
      const v = f[i];
      if (v > g) {
        g = v;
        k = 1;
      } else if (v === g) k++;
    }
    x.maxGap = g;
    x.maxCount = k;
  }

  /** Sets gap[i] of x to g and repairs the maxGaps above as far as they change. */
  #setGap(x: TNode<N>, i: number, g: number): void {
    const f = x.f;
    const j = this.capacity + i;
    const old = f[j];
    if (old === g) return;
    f[j] = g;
    // maxCount makes this O(1) unless the last gap equal to the maximum shrinks.
    const m = x.maxGap;
    if (g > m) {
      x.maxGap = g;
      x.maxCount = 1;
    } else if (g === m) {
      x.maxCount++;
      return;
    } else if (old === m) {
      if (--x.maxCount !== 0) return;
      this.#rescan(x);
    } else return;
    const p = x.parent;
    if (x.maxGap !== m && p !== null) this.#setGap(p, this.#slotOf(p, x), x.maxGap);
  }

  /** Recomputes gap[i] of the entry at leaf index i from the list. */
  #refreshGap(n: N): void {
    const leaf = n.leaf!;
    this.#setGap(leaf, this.#indexOf(leaf, n), gapOf(n));
  }

  // ---------------------------------------------------------------- node surgery

  /** Makes item `it` belong to node x. */
  static #own<N extends GapNode<N>>(x: TNode<N>, it: N | TNode<N>): void {
    if (x.isLeaf) (it as N).leaf = x;
    else (it as TNode<N>).parent = x;
  }

  /** Opens slot i of x (x not full): items i.. move one to the right. */
  #open(x: TNode<N>, i: number): void {
    const f = x.f;
    const c = this.capacity;
    const it = x.items;
    for (let j = x.n; j > i; j--) {
      f[j] = f[j - 1];
      f[c + j] = f[c + j - 1];
      it[j] = it[j - 1];
    }
    x.n++;
  }

  /** Closes slot i of x: items after it move one to the left. */
  #close(x: TNode<N>, i: number): void {
    const f = x.f;
    const c = this.capacity;
    const it = x.items;
    const n = x.n - 1;
    for (let j = i; j < n; j++) {
      f[j] = f[j + 1];
      f[c + j] = f[c + j + 1];
      it[j] = it[j + 1];
    }
    it[n] = null;
    x.n = n;
  }

  /** Moves items [from, from + k) of src to the end of dst (dst has room). */
  #move(src: TNode<N>, from: number, k: number, dst: TNode<N>): void {
    const c = this.capacity;
    const sf = src.f;
    const df = dst.f;
    let d = dst.n;
    for (let j = from; j < from + k; j++, d++) {
      df[d] = sf[j];
      df[c + d] = sf[c + j];
      const it = src.items[j]!;
      dst.items[d] = it;
      GapTree.#own(dst, it);
    }
    dst.n = d;
    // Close the hole in src.
    const n = src.n;
    for (let j = from + k; j < n; j++) {
      sf[j - k] = sf[j];
      sf[c + j - k] = sf[c + j];
      src.items[j - k] = src.items[j];
    }
    for (let j = n - k; j < n; j++) src.items[j] = null;
    src.n = n - k;
  }

  /** Moves the first k items of src to the front of dst (dst has room). */
  #moveToFront(src: TNode<N>, k: number, dst: TNode<N>): void {
    const c = this.capacity;
    const df = dst.f;
    for (let j = dst.n - 1; j >= 0; j--) {
      df[j + k] = df[j];
      df[c + j + k] = df[c + j];
      dst.items[j + k] = dst.items[j];
    }
    const sf = src.f;
    for (let j = 0; j < k; j++) {
      df[j] = sf[src.n - k + j];
      df[c + j] = sf[c + src.n - k + j];
      const it = src.items[src.n - k + j]!;
      dst.items[j] = it;
      GapTree.#own(dst, it);
    }
    for (let j = src.n - k; j < src.n; j++) src.items[j] = null;
    dst.n += k;
    src.n -= k;
  }

  /**
   * Splits full node x in halves; the new right half is linked into x's parent (a new root
   * when x was the root). The entries and their gaps do not change, so neither do the
   * maxGaps above.
   */
  #split(x: TNode<N>): TNode<N> {
    const r = new GapTreeNode<N>(this.capacity, x.isLeaf);
    this.#move(x, x.n >> 1, x.n - (x.n >> 1), r);
    this.#rescan(x);
    this.#rescan(r);
    let p = x.parent;
    if (p === null) {
      p = new GapTreeNode<N>(this.capacity, false);
      p.f[0] = x.f[0];
      p.items[0] = x;
      p.n = 1;
      x.parent = p;
      this.root = p;
    } else if (p.n === this.capacity) {
      // x lands in one of the halves.
      this.#split(p);
      p = x.parent!;
    }
    const s = this.#slotOf(p, x);
    this.#open(p, s + 1);
    const c = this.capacity;
    p.f[s + 1] = r.f[0];
    p.f[c + s] = x.maxGap;
    p.f[c + s + 1] = r.maxGap;
    p.items[s + 1] = r;
    r.parent = p;
    // The maximum of p is unchanged (the same entries below it), its count may not be.
    this.#rescan(p);
    return r;
  }

  /** Rebalances x after it lost an item: merges or borrows when it fell below the minimum. */
  #underflow(x: TNode<N>): void {
    const p = x.parent;
    if (p === null) {
      // A root with one child gives way to it (and that child to its own, when the minimum
      // fill of 1 lets a lone child stand between them).
      while (!x.isLeaf && x.n === 1) {
        const only = x.items[0] as TNode<N>;
        only.parent = null;
        x.items[0] = null;
        x.n = 0;
        this.root = only;
        x = only;
      }
      return;
    }
    if (x.n >= this.#min) return;
    if (x.n === 0) {
      this.#dropEmpty(x);
      return;
    }
    const s = this.#slotOf(p, x);
    // The left node of the pair takes the right one's items, or they share them evenly.
    const ls = s > 0 ? s - 1 : s;
    const l = p.items[ls] as TNode<N>;
    const r = p.items[ls + 1] as TNode<N>;
    const c = this.capacity;
    if (l.n + r.n <= c) {
      this.#move(r, 0, r.n, l);
      this.#rescan(l);
      r.parent = null;
      this.#close(p, ls + 1);
      p.f[c + ls] = l.maxGap;
      this.#rescan(p);
      this.#underflow(p);
      return;
    }
    const k = (l.n + r.n) >> 1;
    if (l.n < k) this.#move(r, 0, k - l.n, l);
    else this.#moveToFront(l, l.n - k, r);
    this.#rescan(l);
    this.#rescan(r);
    p.f[ls + 1] = r.f[0];
    p.f[c + ls] = l.maxGap;
    p.f[c + ls + 1] = r.maxGap;
    this.#rescan(p);
  }

  // ---------------------------------------------------------------- mutators

  /**
   * Inserts `n`, which must not overlap any entry. When the caller knows n's predecessor
   * (`after`: the entry n goes right after, null when n becomes the first), no search is made:
   * n goes into the predecessor's leaf. O(log n) (a split may climb), O(capacity) expected.
   */
  insert(n: N, after?: N | null): void {
    const pred = after !== undefined ? after : this.lookup(n.start);
    const succ = pred === null ? this.first : pred.next;
    // Thread on the list.
    n.prev = pred;
    n.next = succ;
    if (pred !== null) pred.next = n;
    else this.first = n;
    if (succ !== null) succ.prev = n;
    else this.last = n;
    this.count++;
    // Place in the predecessor's leaf (the first leaf when there is none).
    let leaf: TNode<N>;
    let i: number;
    if (pred !== null) {
      leaf = pred.leaf!;
      i = this.#indexOf(leaf, pred) + 1;
    } else {
      leaf = succ !== null ? succ.leaf! : this.root;
      i = 0;
    }
    if (leaf.n === this.capacity) {
      const r = this.#split(leaf);
      if (i > leaf.n) {
        i -= leaf.n;
        leaf = r;
      }
    }
    this.#open(leaf, i);
    leaf.f[i] = n.start;
    leaf.f[this.capacity + i] = -1; // no gap yet: counted by #setGap below
    leaf.items[i] = n;
    n.leaf = leaf;
    if (i === 0) this.#fixKey(leaf);
    this.#setGap(leaf, i, gapOf(n));
    // The successor's gap shrinks to what is left after n; it is usually next in this leaf.
    if (succ !== null) {
      if (succ.leaf === leaf) this.#setGap(leaf, i + 1, gapOf(succ));
      else this.#refreshGap(succ);
    }
  }

  /**
   * One level of a bulk load: `items` (entries for leaves, nodes for the level above) over
   * ceil(total / fill) new nodes filled to three quarters, as evenly as possible (so each holds
   * at least half of fill, above the minimum). The first leaf is the empty root.
   */
  #pack(items: readonly (N | TNode<N>)[], isLeaf: boolean): TNode<N>[] {
    const c = this.capacity;
    const total = items.length;
    const nl = Math.ceil(total / ((c * 3) >> 2));
    const out: TNode<N>[] = [];
    let at = 0;
    for (let k = 0; k < nl; k++) {
      const take = Math.floor((total * (k + 1)) / nl) - at;
      const x = isLeaf && k === 0 ? this.root : new GapTreeNode<N>(c, isLeaf);
      const f = x.f;
      for (let j = 0; j < take; j++) {
        const it = items[at + j];
        if (isLeaf) {
          f[j] = (it as N).start;
          f[c + j] = gapOf(it as N);
        } else {
          f[j] = (it as TNode<N>).f[0];
          f[c + j] = (it as TNode<N>).maxGap;
        }
        x.items[j] = it;
        GapTree.#own(x, it);
      }
      x.n = take;
      this.#rescan(x);
      at += take;
      out.push(x);
    }
    return out;
  }

  /**
   * Fills an empty tree with `nodes`, sorted by start and not overlapping, in O(n): leaves are
   * filled to three quarters, then each level above, every aggregate computed once.
   * vmspace_fork fills the child's map this way.
   */
  build(nodes: readonly N[]): void {
    if (this.count !== 0) throw new Error("GapTree.build: the tree is not empty");
    const len = nodes.length;
    let prev: N | null = null;
    for (let i = 0; i < len; i++) {
      const n = nodes[i];
      n.prev = prev;
      n.next = null;
      if (prev !== null) prev.next = n;
      prev = n;
    }
    if (len === 0) return;
    this.first = nodes[0];
    this.last = prev;
    this.count = len;
    let level = this.#pack(nodes, true);
    while (level.length > 1) level = this.#pack(level, false);
    this.root = level[0];
  }

  /** Removes `n` from the tree and the list. O(log n). */
  remove(n: N): void {
    const leaf = n.leaf!;
    const i = this.#indexOf(leaf, n);
    const pred = n.prev;
    const succ = n.next;
    if (pred !== null) pred.next = succ;
    else this.first = succ;
    if (succ !== null) succ.prev = pred;
    else this.last = pred;
    n.prev = n.next = null;
    n.leaf = null;
    this.count--;
    const lost = leaf.f[this.capacity + i];
    this.#close(leaf, i);
    if (i === 0 && leaf.n > 0) this.#fixKey(leaf);
    if (lost === leaf.maxGap && --leaf.maxCount === 0) this.#rescanUp(leaf);
    // The successor's gap grows to cover n and its gap; it is usually next in this leaf.
    if (succ !== null) {
      if (succ.leaf === leaf) this.#setGap(leaf, i, gapOf(succ));
      else this.#refreshGap(succ);
    }
    this.#underflow(leaf);
  }

  /** Rescans x's maxGap and passes a change up. */
  #rescanUp(x: TNode<N>): void {
    const m = x.maxGap;
    this.#rescan(x);
    if (x.maxGap !== m && x.parent !== null)
      this.#setGap(x.parent, this.#slotOf(x.parent, x), x.maxGap);
  }

  /**
   * Unlinks an empty non-root node (possible only when capacity / 4 is 1). Its slot is found
   * by identity, as it has no key left.
   */
  #dropEmpty(x: TNode<N>): void {
    const p = x.parent!;
    const s = p.items.indexOf(x);
    this.#close(p, s);
    x.parent = null;
    if (s === 0 && p.n > 0) this.#fixKey(p);
    this.#rescanUp(p);
    this.#underflow(p);
  }

  /**
   * Repairs the tree after n.start and/or n.end changed in place (the entry keeps its place in
   * address order and overlaps nothing). O(1) unless a maxGap or first key changes.
   */
  fixUp(n: N | null): void {
    if (n === null) return;
    const leaf = n.leaf!;
    const i = this.#indexOf(leaf, n);
    if (leaf.f[i] !== n.start) {
      leaf.f[i] = n.start;
      if (i === 0) this.#fixKey(leaf);
    }
    this.#setGap(leaf, i, gapOf(n));
    const s = n.next;
    if (s !== null) this.#setGap(s.leaf!, s.leaf === leaf ? i + 1 : 0, gapOf(s));
  }

  // ---------------------------------------------------------------- queries

  /** The entry containing `addr`, else the greatest entry below it, else null. */
  lookup(addr: number): N | null {
    let x = this.root;
    for (;;) {
      const f = x.f;
      let lo = 0;
      let hi = x.n - 1;
      while (lo < hi) {
        const m = (lo + hi + 1) >> 1;
        if (f[m] <= addr) lo = m;
        else hi = m - 1;
      }
      if (x.isLeaf) return hi < 0 || f[0] > addr ? null : (x.items[lo] as N);
      x = x.items[lo] as TNode<N>;
    }
  }

  /**
   * The largest free gap of [min, max), FreeBSD's root max_free.
   */
  maxFree(min: number, max: number): number {
    if (this.first === null) return max - min;
    return max2(this.root.maxGap, max2(this.first.start - min, max - this.last!.end));
  }

  /**
   * First fit: the lowest address a >= from with [a, a + length) free and a + length <= max,
   * or -1. Preconditions: the map's min <= from < max, 0 < length <= max - from. (The gap
   * below the first entry is never searched: from is at or above min.)
   */
  findGap(from: number, length: number, max: number): number {
    const p = this.lookup(from);
    let gapStart: number;
    let succ: N | null;
    if (p === null) {
      gapStart = from;
      succ = this.first;
    } else {
      gapStart = max2(from, p.end);
      succ = p.next;
    }
    const gapEnd = succ !== null ? succ.start : max;
    if (gapEnd - gapStart >= length) return gapStart;
    if (succ === null) return -1;
    const e = this.#firstGapAfter(this.root, succ.start, length);
    if (e !== null) return e.prev!.end;
    const last = this.last!;
    return max - last.end >= length ? last.end : -1;
  }

  /**
   * The first entry e of x's subtree with e.start > key whose gap to its predecessor is at
   * least `length` (length > 0). O(capacity * depth): the path of `key`, then one descent.
   */
  #firstGapAfter(x: TNode<N>, key: number, length: number): N | null {
    const c = this.capacity;
    const f = x.f;
    if (x.isLeaf) {
      for (let i = floorIndex(x, key) + 1; i < x.n; i++)
        if (f[c + i] >= length) return x.items[i] as N;
      return null;
    }
    for (let i = max2(floorIndex(x, key), 0); i < x.n; i++) {
      if (f[c + i] < length) continue;
      const r = this.#firstGapAfter(x.items[i] as TNode<N>, key, length);
      if (r !== null) return r;
    }
    return null;
  }

  /**
   * Last fit: the highest address a with low <= a, a + length <= high and [a, a + length)
   * meeting no entry (an entry n meets it when n.start < a + length and a < n.end; so for
   * length 0, a is the highest address in [low, high] not strictly inside an entry), or -1.
   * Preconditions: addresses are integers, min <= low, high <= max, 0 <= length.
   * O(log n): the lookup of `high`, then one search for the last entry at or below it whose gap
   * to its predecessor holds `length` (Linux's top-down unmapped_area_topdown search).
   */
  findGapTopDown(low: number, high: number, length: number, min: number, max: number): number {
    if (high - low < length || high > max) return -1;
    // p: the last entry that starts below high.
    const p = this.lookup(high - 1);
    // high is in the bottom gap [min, first.start), which low clips: fits by the test above.
    if (p === null) return high - length;
    // high is in the closure of the gap after p: try that gap, clipped to [low, high).
    if (p.end <= high && high - max2(p.end, low) >= length) return high - length;
    // Otherwise the gaps that end at p.start or lower, highest first; the gap below the first
    // entry (stored as 0 in the tree) is measured from min.
    let e = this.#lastGapAtOrBefore(this.root, p.start, length);
    if (e === null) {
      const f = this.first!;
      if (f.start - min < length) return -1;
      e = f;
    }
    // If e's gap is too short once clipped at low, it starts below low, so every lower gap
    // lies wholly below low: nothing fits.
    const a = e.start - length;
    return a >= low ? a : -1;
  }

  /**
   * The last entry e of x's subtree with e.start <= key whose gap (as stored) is at least
   * `length`. Mirror of {@link GapTree.#firstGapAfter}.
   */
  #lastGapAtOrBefore(x: TNode<N>, key: number, length: number): N | null {
    const c = this.capacity;
    const f = x.f;
    if (x.isLeaf) {
      for (let i = floorIndex(x, key); i >= 0; i--) if (f[c + i] >= length) return x.items[i] as N;
      return null;
    }
    for (let i = floorIndex(x, key); i >= 0; i--) {
      if (f[c + i] < length) continue;
      const r = this.#lastGapAtOrBefore(x.items[i] as TNode<N>, key, length);
      if (r !== null) return r;
    }
    return null;
  }

  /** Iterates entries in address order. */
  *[Symbol.iterator](): IterableIterator<N> {
    for (let n = this.first; n !== null; n = n.next) yield n;
  }

  /** Depth of the tree: 1 while the root is a leaf. */
  get height(): number {
    let h = 1;
    for (let x = this.root; !x.isLeaf; x = x.items[0] as TNode<N>) h++;
    return h;
  }

  /**
   * Full structural check (recompute-and-compare, STYLE habit 12). Panics on the first broken
   * invariant; `who` names the caller in the message.
   */
  check(who: string): void {
    let n = 0;
    let prev: N | null = null;
    for (let e = this.first; e !== null; e = e.next) {
      if (e.prev !== prev) panic(who, `list prev link broken at 0x${e.start.toString(16)}`);
      if (!(e.start < e.end)) panic(who, `empty or inverted entry [${e.start}, ${e.end})`);
      if (prev !== null && prev.end > e.start)
        panic(who, `entries overlap or are unordered at 0x${e.start.toString(16)}`);
      prev = e;
      n++;
    }
    if (prev !== this.last) panic(who, "last pointer is not the last entry");
    if (n !== this.count) panic(who, `count ${this.count} but ${n} entries listed`);
    const root = this.root;
    if (root.parent !== null) panic(who, "root has a parent");
    if (!root.isLeaf && root.n < 2) panic(who, "inner root with fewer than two children");
    const c = this.capacity;
    const depth = this.height;
    let expect = this.first;
    let visited = 0;
    const walk = (x: TNode<N>, d: number): void => {
      if (x.n > c) panic(who, `node holds ${x.n} items`);
      if (x !== root && x.n < this.#min) panic(who, `node holds ${x.n} < ${this.#min} items`);
      for (let i = x.n; i < c; i++) if (x.items[i] !== null) panic(who, "stale item past n");
      let g = 0;
      if (x.isLeaf) {
        if (d !== depth) panic(who, "leaves at different depths");
        for (let i = 0; i < x.n; i++) {
          const e = x.items[i] as N;
          if (e !== expect) panic(who, "leaf order disagrees with the list");
          if (e.leaf !== x) panic(who, `leaf link broken at 0x${e.start.toString(16)}`);
          if (x.f[i] !== e.start) panic(who, `stale key at 0x${e.start.toString(16)}`);
          if (x.f[c + i] !== gapOf(e))
            panic(who, `stale gap at 0x${e.start.toString(16)}: ${x.f[c + i]} != ${gapOf(e)}`);
          g = max2(g, gapOf(e));
          expect = e.next;
          visited++;
        }
      } else {
        for (let i = 0; i < x.n; i++) {
          const k = x.items[i] as TNode<N>;
          if (k.parent !== x) panic(who, "parent link broken");
          walk(k, d + 1);
          if (x.f[i] !== k.f[0]) panic(who, "stale separator key");
          if (x.f[c + i] !== k.maxGap) panic(who, "stale child maxGap");
          g = max2(g, k.maxGap);
        }
      }
      if (x.maxGap !== g) panic(who, `stale maxGap ${x.maxGap} != ${g}`);
      let k = 0;
      for (let i = 0; i < x.n; i++) if (x.f[c + i] === g) k++;
      if (x.maxCount !== k) panic(who, `maxCount ${x.maxCount} but ${k} gaps equal the maximum`);
    };
    walk(root, 1);
    if (visited !== n) panic(who, "tree and list sizes differ");
  }
}
