/**
 * The ordered entry tree with max-gap augmentation.
 *
 * FreeBSD keeps map entries in a splay tree whose nodes cache `max_free`, the largest free
 * gap "owned" by a subtree, so that lookup, insert, delete and first-fit search are O(log n).
 * vmspace keeps the same contract with a different balanced tree: a B+tree with wide nodes,
 * as Linux's maple tree is. A lookup at 60,000 entries is three or four node visits, each a
 * forward scan over one contiguous run of keys (a cache line at a time, then key by key: in
 * order, the lines arrive ahead of the compares, where a bisection's probes wait on each other),
 * where a binary tree would be about twenty pointer chases to nodes scattered over the heap
 * (measured in BENCHMARKS.md). Observable
 * results never depend on the tree's shape (spec section 10), and reads do not restructure the
 * tree (the lazy repair of largest gaps below touches aggregates only, never entries or their
 * order), so a read-locked lookup truly changes nothing.
 *
 * Layout. Nodes are numbers (ids), not objects: every node field lives in typed arrays owned by
 * the tree (struct of arrays, as the frame table does), so that a level of a descent reads the
 * node's keys and one child id and nothing else; there is no node object, no per-node array
 * object and no boxed number to fetch first. Node x holds up to `capacity` (c) items:
 *   leaf:  items are the entries, in address order, at ents[x*c + i];
 *          key[i] = items[i].start,
 *          gap[i] = free bytes between items[i] and its predecessor in the whole tree
 *                   (0 for the tree's first entry: the gap below it depends on the map's lower
 *                   bound, which the searches take as an argument);
 *   inner: items are child node ids, in address order, at kids[x*c + i];
 *          key[i] = the first key of child i, gap[i] = child i's maxGap;
 * with key[i] at f[2cx + i] and gap[i] at f[2cx + c + i]. maxGap[x] is the largest gap[i] of x
 * and maxCount[x] how many gaps equal it. Freed ids are reused; the arrays double when full and
 * never shrink while the tree lives.
 * Every leaf is at the same depth; every node but the root holds at least capacity / 4 items
 * (insert splits a full node in halves, remove merges a node that falls below with a sibling
 * or borrows from it), so the depth is O(log n) with a large base.
 * Entries hold their leaf's id (`leaf`) and nodes their parent's, so that an operation next to
 * a known entry (insert after a predecessor, remove, resize) finds its place without a walk from
 * the root, and aggregates are repaired upwards only as far as they change.
 * A leaf's largest gap is repaired lazily: a change to a leaf's gap row puts the leaf on a repair
 * list, and the next query that needs largest gaps (first fit, last fit, maxFree, check) repairs
 * the listed leaves and what lies above them, once. A map operation that opens a gap and closes it
 * again (MAP_FIXED over a mapping: delete then insert; a clip; a merge) so never climbs the tree
 * for the intermediate state, as FreeBSD's splay recomputes max_free once per operation.
 *
 * Entries are also threaded on a doubly linked list in address order (`prev`/`next`), which makes
 * neighbour access O(1), as FreeBSD's threaded tree does.
 *
 * Invariants (checked by {@link GapTree.check}): list order = leaf order = sorted by start,
 * consecutive entries do not overlap, all leaves at one depth, fill bounds, parent and leaf links
 * consistent, every key, gap and maxGap equal to its recomputation (after the repair), count
 * equal to the number of entries, every node id either reachable from the root or free.
 *
 * Guarded by: the owner's lock (the map lock for map entries).
 */

import { panic } from "../base/assert.js";

/** No node: the parent of the root, the leaf of an entry outside any tree. */
const NIL = -1;

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
  /** Id of the leaf that holds this entry, -1 outside a tree (owned by GapTree). */
  declare leaf: number;
  /**
   * The entry's index in its leaf when it was put there (owned by GapTree). Items shifted by
   * later inserts and removals in the leaf do not update it: it is a hint, checked before use.
   */
  declare slot: number;

  constructor() {
    this.start = 0;
    this.end = 0;
    this.prev = null;
    this.next = null;
    this.leaf = NIL;
    this.slot = 0;
  }
}

/** Largest of two numbers without the cost of Math.max's argument handling. */
function max2(a: number, b: number): number {
  return a > b ? a : b;
}

/** Free bytes between n and its predecessor (0 for the first entry). */
function gapOf<N extends GapNode<N>>(n: N): number {
  return n.prev === null ? 0 : n.start - n.prev.end;
}

/** The default capacity of an inner node: 64 children (its keys are eight cache lines). */
export const GAP_TREE_CAPACITY = 64;
/**
 * The default capacity of a leaf: 16 entries. Leaves are where inserts and removes shift items,
 * so they are kept narrower than inner nodes (measured in BENCHMARKS.md).
 */
export const GAP_TREE_LEAF_CAPACITY = 16;

/** `to`, a larger array of the same kind as `from`, holding from's contents first. */
function grown<A extends Float64Array | Int32Array | Uint8Array>(from: A, to: A): A {
  to.set(from);
  return to;
}

/** Node ids the arrays of a new level pool have room for. */
const INITIAL_NODES = 2;

/**
 * The nodes of one kind (leaves, or inner nodes), struct of arrays. Node x's keys are at
 * f[w*x ..], its gaps at f[w*x + c ..], its items at c*x .. of `ents` (leaves) or `kids`
 * (inner nodes). Owned by GapTree.
 */
class Pool<N extends GapNode<N>> {
  /** Items per node at most, the stride of f (2c), whether these are leaves. */
  readonly c: number;
  readonly w: number;
  readonly leaf: boolean;
  f: Float64Array;
  readonly ents: (N | null)[] = [];
  kids: Int32Array;
  /** Per node: item count, largest gap and how many gaps equal it, parent (inner) id. */
  n: Int32Array;
  maxGap: Float64Array;
  maxCount: Int32Array;
  parent: Int32Array;
  /** Inner nodes: 1 when the children are leaves. */
  low: Uint8Array;
  /** Leaves: 1 while leaf x is on the tree's repair list (see GapTree.#repair). */
  dirty: Uint8Array;
  /** Ids handed out so far (there is room for `room`), and the freed ones. */
  used = 0;
  room = 0;
  readonly freeIds: number[] = [];

  constructor(c: number, leaf: boolean) {
    this.c = c;
    this.w = 2 * c;
    this.leaf = leaf;
    this.f = new Float64Array(0);
    this.kids = new Int32Array(0);
    this.n = new Int32Array(0);
    this.maxGap = new Float64Array(0);
    this.maxCount = new Int32Array(0);
    this.parent = new Int32Array(0);
    this.low = new Uint8Array(0);
    this.dirty = new Uint8Array(0);
    this.grow(INITIAL_NODES);
  }

  /** Makes room for `room` ids, keeping every node's contents. */
  grow(room: number): void {
    const c = this.c;
    this.f = grown(this.f, new Float64Array(this.w * room));
    if (this.leaf) {
      // One length change and a fill: pushing a null per slot cost fork a tenth of its time.
      const from = this.ents.length;
      this.ents.length = room * c;
      this.ents.fill(null, from);
    } else {
      this.kids = grown(this.kids, new Int32Array(c * room));
      this.low = grown(this.low, new Uint8Array(room));
    }
    this.n = grown(this.n, new Int32Array(room));
    this.maxGap = grown(this.maxGap, new Float64Array(room));
    this.maxCount = grown(this.maxCount, new Int32Array(room));
    this.parent = grown(this.parent, new Int32Array(room));
    this.dirty = grown(this.dirty, new Uint8Array(room));
    this.room = room;
  }

  /** A new empty node. May grow the arrays: callers re-read them afterwards. */
  alloc(): number {
    let x = this.freeIds.pop();
    if (x === undefined) {
      if (this.used === this.room) this.grow(2 * this.room);
      x = this.used++;
    }
    this.n[x] = 0;
    this.maxGap[x] = 0;
    this.maxCount[x] = 0;
    this.parent[x] = NIL;
    return x;
  }

  /** Returns the id of an emptied node (its entry slots are already null). */
  release(x: number): void {
    this.n[x] = 0;
    this.parent[x] = NIL;
    this.dirty[x] = 0;
    this.freeIds.push(x);
  }

  /** Largest i < n[x] with key[i] <= key, or -1. */
  floor(x: number, key: number): number {
    const f = this.f;
    const b = this.w * x;
    const n = this.n[x];
    if (n === 0 || f[b] > key) return -1;
    let lo = 0;
    while (lo + 8 < n && f[b + lo + 8] <= key) lo += 8;
    while (lo + 1 < n && f[b + lo + 1] <= key) lo++;
    return lo;
  }

  /** Recomputes maxGap[x] and maxCount[x] from its gap row. */
  rescan(x: number): void {
    const f = this.f;
    let g = 0;
    let k = 0;
    for (let i = this.w * x + this.c, e = i + this.n[x]; i < e; i++) {
      const v = f[i];
      if (v > g) {
        g = v;
        k = 1;
      } else if (v === g) k++;
    }
    this.maxGap[x] = g;
    this.maxCount[x] = k;
  }

  /** Opens slot i of x (x not full): items i.. move one to the right. */
  open(x: number, i: number): void {
    const f = this.f;
    const c = this.c;
    const b = this.w * x;
    const ib = c * x;
    const n = this.n[x];
    if (this.leaf) {
      const ents = this.ents;
      for (let j = n; j > i; j--) {
        f[b + j] = f[b + j - 1];
        f[b + c + j] = f[b + c + j - 1];
        ents[ib + j] = ents[ib + j - 1];
      }
    } else {
      const kids = this.kids;
      for (let j = n; j > i; j--) {
        f[b + j] = f[b + j - 1];
        f[b + c + j] = f[b + c + j - 1];
        kids[ib + j] = kids[ib + j - 1];
      }
    }
    this.n[x] = n + 1;
  }

  /** Closes slot i of x: items after it move one to the left. */
  close(x: number, i: number): void {
    const f = this.f;
    const c = this.c;
    const b = this.w * x;
    const ib = c * x;
    const n = this.n[x] - 1;
    if (this.leaf) {
      const ents = this.ents;
      for (let j = i; j < n; j++) {
        f[b + j] = f[b + j + 1];
        f[b + c + j] = f[b + c + j + 1];
        ents[ib + j] = ents[ib + j + 1];
      }
      ents[ib + n] = null;
    } else {
      const kids = this.kids;
      for (let j = i; j < n; j++) {
        f[b + j] = f[b + j + 1];
        f[b + c + j] = f[b + c + j + 1];
        kids[ib + j] = kids[ib + j + 1];
      }
    }
    this.n[x] = n;
  }

  /** Copies item i of node x over item j of node y, key and gap included. */
  copy(x: number, i: number, y: number, j: number): void {
    const c = this.c;
    const f = this.f;
    const fb = this.w * x + i;
    const tb = this.w * y + j;
    f[tb] = f[fb];
    f[tb + c] = f[fb + c];
    if (this.leaf) this.ents[c * y + j] = this.ents[c * x + i];
    else this.kids[c * y + j] = this.kids[c * x + i];
  }
}

/** The intrusive augmented B+tree. */
export class GapTree<N extends GapNode<N>> {
  /** Lowest and highest entry (owner lock). */
  first: N | null = null;
  last: N | null = null;
  /** Number of entries (owner lock). */
  count = 0;
  /** Children per inner node and entries per leaf at most. */
  readonly capacity: number;
  readonly leafCapacity: number;
  readonly #leaves: Pool<N>;
  readonly #inner: Pool<N>;
  /** The root: a leaf while the tree holds at most leafCapacity entries (owner lock). */
  #root: number;
  #rootIsLeaf = true;
  /** The repair list (#repair): leaves whose largest gap may be stale. */
  readonly #dirtyLeaves: number[] = [];

  /**
   * @param capacity children per inner node, and entries per leaf unless `leafCapacity` is
   * given: even numbers >= 4 (small values make deep trees; tests use them), and a leaf capacity
   * of 8 or more needs an inner capacity of 8 or more. Every node but the root holds at least a
   * quarter of its capacity.
   */
  constructor(capacity?: number, leafCapacity?: number) {
    const ic = capacity ?? GAP_TREE_CAPACITY;
    const lc = leafCapacity ?? capacity ?? GAP_TREE_LEAF_CAPACITY;
    for (const c of [ic, lc])
      if (!Number.isSafeInteger(c) || c < 4 || c % 2 !== 0)
        throw new RangeError(`GapTree: capacity ${c} is not an even integer >= 4`);
    // An inner node below 8 may hold a lone child (its minimum is 1); a leaf that fell below a
    // minimum of 2 or more would then have no sibling to merge with or borrow from.
    if (ic < 8 && lc >= 8)
      throw new RangeError(`GapTree: leaf capacity ${lc} needs an inner capacity >= 8, not ${ic}`);
    this.capacity = ic;
    this.leafCapacity = lc;
    this.#leaves = new Pool<N>(lc, true);
    this.#inner = new Pool<N>(ic, false);
    this.#root = this.#leaves.alloc();
  }

  /** The pool of x's children (x an inner node). */
  #below(x: number): Pool<N> {
    return this.#inner.low[x] === 1 ? this.#leaves : this.#inner;
  }

  /** First key of node x of pool X. */
  static #key0<N extends GapNode<N>>(X: Pool<N>, x: number): number {
    return X.f[X.w * x];
  }

  // ---------------------------------------------------------------- positions

  /** Index of entry n in its leaf (n.start may have changed since it was stored). */
  #indexOf(leaf: number, n: N): number {
    const L = this.#leaves;
    const ents = L.ents;
    const b = L.c * leaf;
    // Most often the entry has not moved since it was placed (the entry just inserted, or its
    // neighbour): its slot hint saves the scan.
    const h = n.slot;
    if (ents[b + h] === n && h < L.n[leaf]) return h;
    // By identity: a leaf's slots are two cache lines, and n's start (a boxed number once
    // addresses pass 2^31) need not be read.
    for (let k = b, e = b + L.n[leaf]; k < e; k++)
      if (ents[k] === n) {
        n.slot = k - b; // for the next operation on n, which is often near (clip, then merge)
        return k - b;
      }
    panic("GapTree", `entry 0x${n.start.toString(16)} not in its leaf`);
  }

  /** Index of child x (of pool X) in its parent p, by x's first key (which may have changed). */
  #slotOf(p: number, X: Pool<N>, x: number): number {
    const I = this.#inner;
    const b = I.c * p;
    let i = I.floor(p, GapTree.#key0(X, x));
    if (i < 0 || I.kids[b + i] !== x) i++;
    if (I.kids[b + i] !== x) panic("GapTree", "node not in its parent");
    return i;
  }

  /** Copies x's first key into its ancestors, as far as x is their first child. */
  #fixKey(X: Pool<N>, x: number): void {
    const I = this.#inner;
    const k = GapTree.#key0(X, x);
    let p = X.parent[x];
    while (p !== NIL) {
      const s = this.#slotOf(p, X, x);
      if (I.f[I.w * p + s] === k) return;
      I.f[I.w * p + s] = k;
      if (s !== 0) return;
      X = I;
      x = p;
      p = I.parent[x];
    }
  }

  /**
   * Sets gap[i] of x (of pool X) to g. In a leaf that is all: the leaf goes on the repair list
   * (its largest gap is recomputed by the next query that needs it, see #repair). In an inner
   * node the largest gaps above are repaired at once, as far as they change.
   */
  #setGap(X: Pool<N>, x: number, i: number, g: number): void {
    const f = X.f;
    const j = X.w * x + X.c + i;
    if (X.leaf) {
      f[j] = g;
      this.#dirty(X, x);
      return;
    }
    const old = f[j];
    if (old === g) return;
    f[j] = g;
    // maxCount makes this O(1) unless the last gap equal to the maximum shrinks.
    const mg = X.maxGap;
    const m = mg[x];
    if (g > m) {
      mg[x] = g;
      X.maxCount[x] = 1;
    } else if (g === m) {
      X.maxCount[x]++;
      return;
    } else if (old === m) {
      if (--X.maxCount[x] !== 0) return;
      X.rescan(x);
    } else return;
    const p = X.parent[x];
    if (mg[x] !== m && p !== NIL) this.#setGap(this.#inner, p, this.#slotOf(p, X, x), mg[x]);
  }

  /** Puts leaf x on the repair list (once). */
  #dirty(L: Pool<N>, x: number): void {
    if (L.dirty[x] !== 0) return;
    L.dirty[x] = 1;
    this.#dirtyLeaves.push(x);
  }

  /**
   * Brings every largest gap up to date. A leaf's gap row is always exact, but its largest gap
   * (and its parent's copy) is recomputed only here, for the leaves on the repair list; inner
   * nodes are kept exact with respect to their rows at once. Deferring the leaves' part means
   * that an operation that opens a gap and closes it again (vm_map_delete then vm_map_insert at
   * the same place, a clip, a merge) never climbs the tree for it: the repair compares the
   * leaf's final largest gap with what its parent holds. Every query of the largest gaps comes
   * here first; O(1) when nothing changed.
   */
  #repair(): void {
    const L = this.#leaves;
    const dl = this.#dirtyLeaves;
    while (dl.length > 0) {
      const x = dl.pop()!;
      if (L.dirty[x] === 0) continue; // released since
      L.dirty[x] = 0;
      L.rescan(x);
      const p = L.parent[x];
      if (p !== NIL) this.#setGap(this.#inner, p, this.#slotOf(p, L, x), L.maxGap[x]);
    }
  }

  /** Recomputes the gap of entry n from the list. */
  #refreshGap(n: N): void {
    this.#setGap(this.#leaves, n.leaf, this.#indexOf(n.leaf, n), gapOf(n));
  }

  /** Rescans x's maxGap and passes a change up. */
  #rescanUp(X: Pool<N>, x: number): void {
    const m = X.maxGap[x];
    X.rescan(x);
    const p = X.parent[x];
    if (X.maxGap[x] !== m && p !== NIL)
      this.#setGap(this.#inner, p, this.#slotOf(p, X, x), X.maxGap[x]);
  }

  // ---------------------------------------------------------------- node surgery

  /** Makes the item now at absolute slot `slot` of x (of pool X) belong to x. */
  #own(X: Pool<N>, x: number, slot: number): void {
    if (X.leaf) {
      const e = X.ents[slot]!;
      e.leaf = x;
      e.slot = slot - X.c * x;
    } else this.#below(x).parent[X.kids[slot]] = x;
  }

  /** Moves items [from, from + k) of src to the end of dst, both of pool X (dst has room). */
  #move(X: Pool<N>, src: number, from: number, k: number, dst: number): void {
    const c = X.c;
    let d = X.n[dst];
    for (let j = from; j < from + k; j++, d++) {
      X.copy(src, j, dst, d);
      this.#own(X, dst, c * dst + d);
    }
    X.n[dst] = d;
    // Close the hole in src.
    const n = X.n[src];
    for (let j = from + k; j < n; j++) X.copy(src, j, src, j - k);
    if (X.leaf) for (let j = n - k; j < n; j++) X.ents[c * src + j] = null;
    X.n[src] = n - k;
  }

  /** Moves the last k items of src to the front of dst, both of pool X (dst has room). */
  #moveToFront(X: Pool<N>, src: number, k: number, dst: number): void {
    const c = X.c;
    for (let j = X.n[dst] - 1; j >= 0; j--) X.copy(dst, j, dst, j + k);
    const sn = X.n[src];
    for (let j = 0; j < k; j++) {
      X.copy(src, sn - k + j, dst, j);
      this.#own(X, dst, c * dst + j);
    }
    if (X.leaf) for (let j = sn - k; j < sn; j++) X.ents[c * src + j] = null;
    X.n[dst] += k;
    X.n[src] = sn - k;
  }

  /**
   * Where to split a full node of capacity c that is about to take a new item at index i:
   * items [0, at) stay, [at, c) move to the new right node. In the middle, halves. At the end
   * (an append: maps grow by mmaps placed one after another) the left node stays as full as the
   * right one's minimum allows, and at the front (maps that grow downwards) the right one does,
   * so that a map built in address order fills its nodes to three quarters and more instead of
   * half, and stays a level shallower.
   */
  static #splitAt(c: number, i: number): number {
    const min = c >> 2;
    const at = i >= c ? c - min + 1 : i <= 1 ? min - 1 : c >> 1;
    return at < 1 ? 1 : at > c - 1 ? c - 1 : at;
  }

  /**
   * Splits full node x of pool X at item `at` (see #splitAt); the new right node is linked into
   * x's parent (a new root when x was the root). Returns the right node.
   */
  #split(X: Pool<N>, x: number, at: number): number {
    const I = this.#inner;
    const r = X.alloc();
    if (!X.leaf) X.low[r] = X.low[x];
    const n = X.n[x];
    this.#move(X, x, at, n - at, r);
    X.rescan(x);
    X.rescan(r);
    let p = X.parent[x];
    if (p === NIL) {
      p = I.alloc();
      I.low[p] = X.leaf ? 1 : 0;
      I.f[I.w * p] = GapTree.#key0(X, x);
      I.kids[I.c * p] = x;
      I.n[p] = 1;
      X.parent[x] = p;
      this.#root = p;
      this.#rootIsLeaf = false;
    } else if (I.n[p] === I.c) {
      // x lands in one of the halves; r will go right after it.
      this.#split(I, p, GapTree.#splitAt(I.c, this.#slotOf(p, X, x) + 1));
      p = X.parent[x];
    }
    const s = this.#slotOf(p, X, x);
    I.open(p, s + 1);
    const b = I.w * p;
    I.f[b + s + 1] = GapTree.#key0(X, r);
    I.f[b + I.c + s] = X.maxGap[x];
    I.f[b + I.c + s + 1] = X.maxGap[r];
    I.kids[I.c * p + s + 1] = r;
    X.parent[r] = p;
    // p holds the same entries as before, but x's largest gap may have been stale there (x on
    // the repair list): what p's parent holds is brought up to date now.
    this.#rescanUp(I, p);
    return r;
  }

  /** Rebalances x (of pool X) after it lost an item: merges or borrows when below the minimum. */
  #underflow(X: Pool<N>, x: number): void {
    // Nothing to do for a node at or above both the minimum fill and 2 items (a root gives way
    // only with one child): decided from the count the caller has just read, without reading
    // the parent link, a cache miss per removal in a large tree.
    const fill = X.n[x];
    if (fill >= 2 && fill >= X.c >> 2) return;
    const I = this.#inner;
    const p = X.parent[x];
    if (p === NIL) {
      // A root with one child gives way to it (and that child to its own, when the minimum
      // fill of 1 lets a lone child stand between them).
      while (!X.leaf && X.n[x] === 1) {
        const C = this.#below(x);
        const only = I.kids[I.c * x];
        C.parent[only] = NIL;
        I.release(x);
        this.#root = only;
        this.#rootIsLeaf = C.leaf;
        X = C;
        x = only;
      }
      return;
    }
    if (X.n[x] >= X.c >> 2) return;
    if (X.n[x] === 0) {
      this.#dropEmpty(X, x);
      return;
    }
    const s = this.#slotOf(p, X, x);
    // The left node of the pair takes the right one's items, or they share them evenly.
    const ls = s > 0 ? s - 1 : s;
    const l = I.kids[I.c * p + ls];
    const r = I.kids[I.c * p + ls + 1];
    const b = I.w * p;
    const ln = X.n[l];
    const rn = X.n[r];
    if (ln + rn <= X.c) {
      this.#move(X, r, 0, rn, l);
      X.rescan(l);
      X.release(r);
      I.close(p, ls + 1);
      I.f[b + I.c + ls] = X.maxGap[l];
      this.#rescanUp(I, p);
      this.#underflow(I, p);
      return;
    }
    const k = (ln + rn) >> 1;
    if (ln < k) this.#move(X, r, 0, k - ln, l);
    else this.#moveToFront(X, l, ln - k, r);
    X.rescan(l);
    X.rescan(r);
    I.f[b + ls + 1] = GapTree.#key0(X, r);
    I.f[b + I.c + ls] = X.maxGap[l];
    I.f[b + I.c + ls + 1] = X.maxGap[r];
    this.#rescanUp(I, p);
  }

  /**
   * Unlinks an empty non-root node (possible only when a capacity / 4 is 1). Its slot is found
   * by identity, as it has no key left.
   */
  #dropEmpty(X: Pool<N>, x: number): void {
    const I = this.#inner;
    const p = X.parent[x];
    let s = 0;
    while (I.kids[I.c * p + s] !== x) s++;
    I.close(p, s);
    X.release(x);
    if (s === 0 && I.n[p] > 0) this.#fixKey(I, p);
    this.#rescanUp(I, p);
    this.#underflow(I, p);
  }

  // ---------------------------------------------------------------- mutators

  /**
   * Inserts `n`, which must not overlap any entry. When the caller knows n's predecessor
   * (`after`: the entry n goes right after, null when n becomes the first), no search is made:
   * n goes into the predecessor's leaf. Every other entry must be where the tree last saw it
   * (n's successor is not read when it shares n's leaf: its start is taken from the leaf).
   * O(log n) (a split may climb), O(capacity) expected.
   */
  insert(n: N, after?: N | null): void {
    const pred = after !== undefined ? after : this.lookup(n.start);
    const succ = pred === null ? this.first : pred.next;
    this.#thread(n, pred, succ);
    // Place in the predecessor's leaf (the first leaf when there is none).
    const L = this.#leaves;
    const slot =
      pred !== null
        ? this.#place(n, pred.leaf, this.#indexOf(pred.leaf, pred) + 1, gapOf(n))
        : this.#place(n, succ !== null ? succ.leaf : this.#root, 0, 0);
    const leaf = n.leaf;
    const i = slot - L.c * leaf;
    const k = L.w * leaf + i;
    // The successor's gap shrinks to what is left after n. Its start is still the key the leaf
    // holds for it, so it need not be read when it is next in this leaf (the usual case).
    if (succ !== null) {
      if (i + 1 < L.n[leaf]) this.#setGap(L, leaf, i + 1, L.f[k + 1] - n.end);
      else this.#refreshGap(succ);
    }
  }

  /**
   * Inserts `n` right before `succ`: vm_map_clip_start's front piece, where succ's start has
   * already moved up to n's end (or above). The space below n is taken from succ's leaf, which
   * still describes it, and succ's key and gap are brought up to date: n's predecessor is not
   * read (only written), and succ's successor not touched.
   */
  insertBefore(n: N, succ: N): void {
    const pred = succ.prev;
    const L = this.#leaves;
    const c = L.c;
    const leaf = succ.leaf;
    const i = this.#indexOf(leaf, succ);
    // The predecessor's end, as succ's stored start less succ's stored gap.
    const k = L.w * leaf + i;
    const g = pred === null ? 0 : n.start - (L.f[k] - L.f[k + c]);
    this.#thread(n, pred, succ);
    const slot = this.#place(n, leaf, i, g);
    // succ follows n: next in n's leaf, or first in the next one if a split put n last.
    const sl = succ.leaf;
    const j = sl === n.leaf ? slot - c * sl + 1 : 0;
    succ.slot = j;
    this.#rekey(sl, j, succ.start, succ.start - n.end);
  }

  /** Sets the key and gap of item i of leaf x (and its ancestors' copy of a first key). */
  #rekey(x: number, i: number, key: number, gap: number): void {
    const L = this.#leaves;
    L.f[L.w * x + i] = key;
    if (i === 0) this.#fixKey(L, x);
    this.#setGap(L, x, i, gap);
  }

  /** Threads n on the list between pred and succ (null: the list's ends). */
  #thread(n: N, pred: N | null, succ: N | null): void {
    n.prev = pred;
    n.next = succ;
    if (pred !== null) pred.next = n;
    else this.first = n;
    if (succ !== null) succ.prev = n;
    else this.last = n;
    this.count++;
  }

  /**
   * Puts n at index i of leaf `leaf` (splitting a full leaf first) with gap g; returns the
   * absolute slot it landed in (n.leaf is set).
   */
  #place(n: N, leaf: number, i: number, g: number): number {
    const L = this.#leaves;
    if (L.n[leaf] === L.c) {
      const r = this.#split(L, leaf, GapTree.#splitAt(L.c, i));
      const ln = L.n[leaf];
      if (i > ln) {
        i -= ln;
        leaf = r;
      }
    }
    L.open(leaf, i);
    L.f[L.w * leaf + i] = n.start;
    L.ents[L.c * leaf + i] = n;
    n.leaf = leaf;
    n.slot = i;
    if (i === 0) this.#fixKey(L, leaf);
    this.#setGap(L, leaf, i, g);
    return L.c * leaf + i;
  }

  /**
   * One inner level of a bulk load: the nodes `below` (of pool B, in address order) under
   * ceil(n / fill) new inner nodes filled to three quarters, as evenly as possible (so each
   * holds at least half of fill, above the minimum), as build does the leaves. Returns the new
   * nodes' ids.
   */
  #packInner(below: readonly number[], B: Pool<N>): number[] {
    const I = this.#inner;
    const total = below.length;
    const nl = Math.ceil(total / ((I.c * 3) >> 2));
    const out: number[] = [];
    let at = 0;
    for (let k = 0; k < nl; k++) {
      const take = Math.floor((total * (k + 1)) / nl) - at;
      const x = I.alloc();
      const b = I.w * x;
      I.low[x] = B.leaf ? 1 : 0;
      for (let j = 0; j < take; j++) {
        const kid = below[at + j];
        I.f[b + j] = GapTree.#key0(B, kid);
        I.f[b + I.c + j] = B.maxGap[kid];
        I.kids[I.c * x + j] = kid;
        B.parent[kid] = x;
      }
      I.n[x] = take;
      I.rescan(x);
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
    if (len === 0) return;
    const L = this.#leaves;
    const I = this.#inner;
    // Room for every node at once, so that the arrays do not move while a level is placed.
    const fill = (L.c * 3) >> 2;
    const nl = Math.ceil(len / fill);
    if (L.used + nl > L.room) L.grow(L.used + nl);
    let inner = 0;
    for (let m = nl; m > 1; m = Math.ceil(m / ((I.c * 3) >> 2)))
      inner += Math.ceil(m / ((I.c * 3) >> 2));
    if (I.used + inner > I.room) I.grow(I.used + inner);
    // The leaves, threading the list on the way (the hot part of fork: no closure per entry).
    const f = L.f;
    const ents = L.ents;
    const level: number[] = [];
    let prev: N | null = null;
    let at = 0;
    for (let k = 0; k < nl; k++) {
      const take = Math.floor((len * (k + 1)) / nl) - at;
      const x = k === 0 ? this.#root : L.alloc();
      const b = L.w * x;
      for (let j = 0; j < take; j++) {
        const e = nodes[at + j];
        e.prev = prev;
        e.next = null;
        f[b + j] = e.start;
        if (prev !== null) {
          prev.next = e;
          f[b + L.c + j] = e.start - prev.end;
        } else f[b + L.c + j] = 0;
        ents[L.c * x + j] = e;
        e.leaf = x;
        e.slot = j;
        prev = e;
      }
      L.n[x] = take;
      L.rescan(x);
      at += take;
      level.push(x);
    }
    this.first = nodes[0];
    this.last = prev;
    this.count = len;
    let X = L;
    let ids = level;
    while (ids.length > 1) {
      ids = this.#packInner(ids, X);
      X = I;
    }
    this.#root = ids[0];
    this.#rootIsLeaf = X.leaf;
  }

  /**
   * Removes `n` from the tree and the list. n's successor may already have taken n's start
   * (vm_map_try_merge_entries); no other entry may have moved since the tree saw it. n's
   * predecessor is written, not read. O(log n).
   */
  remove(n: N): void {
    const L = this.#leaves;
    const leaf = n.leaf;
    const i = this.#indexOf(leaf, n);
    const pred = n.prev;
    const succ = n.next;
    // The predecessor's end, from n's stored start and gap: the predecessor is written below,
    // not read.
    const k = L.w * leaf + i;
    const predEnd = pred === null ? 0 : L.f[k] - L.f[k + L.c];
    if (pred !== null) pred.next = succ;
    else this.first = succ;
    if (succ !== null) succ.prev = pred;
    else this.last = pred;
    n.prev = n.next = null;
    n.leaf = NIL;
    this.count--;
    L.close(leaf, i);
    this.#dirty(L, leaf);
    // The successor's gap grows to cover n and its gap, and its start may have moved down over
    // n (a merge). When it is next in this leaf (the usual case) that is done at once; else
    // after the rebalancing, which may move it: its key moved down could tie with the stale
    // key of a node emptied here, and nodes are found in their parents by key.
    const near = succ !== null && i < L.n[leaf];
    if (near) {
      const s = succ.start;
      succ.slot = i; // read just now: its hint follows it down a slot
      this.#rekey(leaf, i, s, pred === null ? 0 : s - predEnd);
    } else if (i === 0 && L.n[leaf] > 0) this.#fixKey(L, leaf);
    this.#underflow(L, leaf);
    if (succ !== null && !near) {
      const s = succ.start;
      const sl = succ.leaf;
      this.#rekey(sl, this.#indexOf(sl, succ), s, pred === null ? 0 : s - predEnd);
    }
  }

  /**
   * Repairs the tree after n.start and/or n.end changed in place (the entry keeps its place in
   * address order and overlaps nothing). O(1) unless a maxGap or first key changes.
   */
  fixUp(n: N | null): void {
    if (n === null) return;
    const L = this.#leaves;
    const leaf = n.leaf;
    const i = this.#indexOf(leaf, n);
    const k = L.w * leaf + i;
    if (L.f[k] !== n.start) {
      L.f[k] = n.start;
      if (i === 0) this.#fixKey(L, leaf);
    }
    this.#setGap(L, leaf, i, gapOf(n));
    const s = n.next;
    if (s !== null) this.#setGap(L, s.leaf, s.leaf === leaf ? i + 1 : 0, gapOf(s));
  }

  // ---------------------------------------------------------------- queries

  /** The entry containing `addr`, else the greatest entry below it, else null. */
  lookup(addr: number): N | null {
    const slot = this.#slotAt(addr);
    return slot < 0 ? null : this.#leaves.ents[slot];
  }

  /**
   * After {@link lookupWithEnd}: whether the entry it returned contains the address.
   */
  found = false;

  /**
   * After {@link lookupWithNext}: the entry after the one it returned when that is next in the
   * same leaf, or the first entry when it returned null; else undefined (read the answer's
   * `next`).
   */
  after: N | null | undefined = undefined;

  /**
   * {@link lookup}, also giving the answer's successor (in {@link after}) from the leaf, so
   * that the caller can read the two entries at once: through the answer's `next` link the
   * second read waits for the first, a miss after a miss in a large map.
   */
  lookupWithNext(addr: number): N | null {
    const x = this.#leafAt(addr);
    const L = this.#leaves;
    const f = L.f;
    const b = L.w * x;
    const n = L.n[x];
    if (n === 0 || f[b] > addr) {
      this.after = this.first;
      return null;
    }
    let lo = 0;
    while (lo + 1 < n && f[b + lo + 1] <= addr) lo++;
    const slot = L.c * x + lo;
    this.after = lo + 1 < n ? L.ents[slot + 1] : undefined;
    return L.ents[slot];
  }

  /**
   * {@link lookup}, also telling (in {@link found}) whether the entry contains `addr`, read from
   * the leaf when the entry's successor shares it (the successor's start less its gap is the
   * entry's end), so that the entry itself is not read: at a million entries, reading it costs
   * two dependent cache misses (the object, then its boxed end).
   */
  lookupWithEnd(addr: number): N | null {
    const slot = this.#slotAt(addr);
    if (slot < 0) {
      this.found = false;
      return null;
    }
    const L = this.#leaves;
    const c = L.c;
    const x = (slot / c) | 0;
    const i = slot - x * c;
    const e = L.ents[slot]!;
    if (i + 1 < L.n[x]) {
      const j = L.w * x + i + 1;
      this.found = addr < L.f[j] - L.f[j + c];
    } else this.found = addr < e.end;
    return e;
  }

  /**
   * Index in the leaves' entry slots of lookup's answer, or -1. The scans are Pool.floor's,
   * written out: calling floor per level measured 5% slower at 1,000 entries and 10% at
   * 1,000,000 (its arrays re-read per call, and an inner node needs no below-the-first test).
   */
  #slotAt(addr: number): number {
    const x = this.#leafAt(addr);
    const L = this.#leaves;
    const f = L.f;
    const b = L.w * x;
    const n = L.n[x];
    if (n === 0 || f[b] > addr) return -1;
    let lo = 0;
    while (lo + 1 < n && f[b + lo + 1] <= addr) lo++;
    return L.c * x + lo;
  }

  /** The leaf whose range holds `addr` (the first leaf for an address below every key). */
  #leafAt(addr: number): number {
    let x = this.#root;
    if (!this.#rootIsLeaf) {
      const I = this.#inner;
      const f = I.f;
      const cnt = I.n;
      const low = I.low;
      const kids = I.kids;
      const c = I.c;
      const w = I.w;
      for (;;) {
        const b = w * x;
        const n = cnt[x];
        let lo = 0;
        while (lo + 8 < n && f[b + lo + 8] <= addr) lo += 8;
        while (lo + 1 < n && f[b + lo + 1] <= addr) lo++;
        const leafBelow = low[x] === 1;
        x = kids[c * x + lo];
        if (leafBelow) break;
      }
    }
    return x;
  }

  /**
   * The largest free gap of [min, max), FreeBSD's root max_free.
   */
  maxFree(min: number, max: number): number {
    if (this.first === null) return max - min;
    this.#repair();
    const X = this.#rootIsLeaf ? this.#leaves : this.#inner;
    return max2(X.maxGap[this.#root], max2(this.first.start - min, max - this.last!.end));
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
    this.#repair();
    const X = this.#rootIsLeaf ? this.#leaves : this.#inner;
    const e = this.#firstGapAfter(X, this.#root, succ.start, length);
    if (e !== null) return e.prev!.end;
    const last = this.last!;
    return max - last.end >= length ? last.end : -1;
  }

  /**
   * The first entry e of x's subtree (x of pool X) with e.start > key whose gap to its
   * predecessor is at least `length` (length > 0). O(capacity * depth): the path of `key`, then
   * one descent.
   */
  #firstGapAfter(X: Pool<N>, x: number, key: number, length: number): N | null {
    const g = X.w * x + X.c;
    const n = X.n[x];
    if (X.leaf) {
      for (let i = X.floor(x, key) + 1; i < n; i++)
        if (X.f[g + i] >= length) return X.ents[X.c * x + i];
      return null;
    }
    const B = this.#below(x);
    for (let i = max2(X.floor(x, key), 0); i < n; i++) {
      if (X.f[g + i] < length) continue;
      const r = this.#firstGapAfter(B, X.kids[X.c * x + i], key, length);
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
    this.#repair();
    const X = this.#rootIsLeaf ? this.#leaves : this.#inner;
    let e = this.#lastGapAtOrBefore(X, this.#root, p.start, length);
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
  #lastGapAtOrBefore(X: Pool<N>, x: number, key: number, length: number): N | null {
    const g = X.w * x + X.c;
    if (X.leaf) {
      for (let i = X.floor(x, key); i >= 0; i--)
        if (X.f[g + i] >= length) return X.ents[X.c * x + i];
      return null;
    }
    const B = this.#below(x);
    for (let i = X.floor(x, key); i >= 0; i--) {
      if (X.f[g + i] < length) continue;
      const r = this.#lastGapAtOrBefore(B, X.kids[X.c * x + i], key, length);
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
    if (this.#rootIsLeaf) return 1;
    const I = this.#inner;
    let h = 2;
    for (let x = this.#root; I.low[x] === 0; x = I.kids[I.c * x]) h++;
    return h;
  }

  /** Nodes in use (leaves and inner nodes reachable from the root). */
  get nodes(): number {
    const L = this.#leaves;
    const I = this.#inner;
    return L.used - L.freeIds.length + I.used - I.freeIds.length;
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
    // Largest gaps are checked as every query sees them: repaired. A changed leaf missing from
    // the repair list would show as a stale maxGap below.
    this.#repair();
    const root = this.#root;
    const L = this.#leaves;
    const I = this.#inner;
    const R = this.#rootIsLeaf ? L : I;
    if (R.parent[root] !== NIL) panic(who, "root has a parent");
    if (!R.leaf && R.n[root] < 2) panic(who, "inner root with fewer than two children");
    const depth = this.height;
    const seen = new Map<Pool<N>, Set<number>>([
      [L, new Set()],
      [I, new Set()],
    ]);
    const free = new Map<Pool<N>, Set<number>>([
      [L, new Set(L.freeIds)],
      [I, new Set(I.freeIds)],
    ]);
    let expect = this.first;
    let visited = 0;
    const walk = (X: Pool<N>, x: number, d: number): void => {
      const s = seen.get(X)!;
      if (x < 0 || x >= X.used || free.get(X)!.has(x) || s.has(x))
        panic(who, `node id ${x} is free, out of range or reached twice`);
      s.add(x);
      const c = X.c;
      const f = X.f;
      const xn = X.n[x];
      const b = X.w * x;
      if (xn > c) panic(who, `node holds ${xn} items`);
      if (x !== root && xn < c >> 2) panic(who, `node holds ${xn} < ${c >> 2} items`);
      let g = 0;
      if (X.leaf) {
        if (d !== depth) panic(who, "leaves at different depths");
        for (let i = xn; i < c; i++)
          if (X.ents[c * x + i] !== null) panic(who, "stale entry past n");
        for (let i = 0; i < xn; i++) {
          const e = X.ents[c * x + i];
          if (e !== expect || e === null) panic(who, "leaf order disagrees with the list");
          if (e.leaf !== x) panic(who, `leaf link broken at 0x${e.start.toString(16)}`);
          if (f[b + i] !== e.start) panic(who, `stale key at 0x${e.start.toString(16)}`);
          if (f[b + c + i] !== gapOf(e))
            panic(who, `stale gap at 0x${e.start.toString(16)}: ${f[b + c + i]} != ${gapOf(e)}`);
          g = max2(g, gapOf(e));
          expect = e.next;
          visited++;
        }
      } else {
        const B = this.#below(x);
        for (let i = 0; i < xn; i++) {
          const k = X.kids[c * x + i];
          if (B.parent[k] !== x) panic(who, "parent link broken");
          walk(B, k, d + 1);
          if (f[b + i] !== GapTree.#key0(B, k)) panic(who, "stale separator key");
          if (f[b + c + i] !== B.maxGap[k]) panic(who, "stale child maxGap");
          g = max2(g, B.maxGap[k]);
        }
      }
      if (X.maxGap[x] !== g) panic(who, `stale maxGap ${X.maxGap[x]} != ${g}`);
      let k = 0;
      for (let i = 0; i < xn; i++) if (f[b + c + i] === g) k++;
      if (X.maxCount[x] !== k)
        panic(who, `maxCount ${X.maxCount[x]} but ${k} gaps equal the maximum`);
    };
    walk(R, root, 1);
    if (visited !== n) panic(who, "tree and list sizes differ");
    for (const X of [L, I]) {
      if (free.get(X)!.size !== X.freeIds.length) panic(who, "a node id is freed twice");
      if (seen.get(X)!.size + X.freeIds.length !== X.used)
        panic(who, "a node id is neither in the tree nor free");
      if (X.leaf)
        for (const x of X.freeIds)
          for (let i = 0; i < X.c; i++)
            if (X.ents[X.c * x + i] !== null) panic(who, `free leaf ${x} still holds an entry`);
    }
  }
}
