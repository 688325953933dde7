/**
 * The ordered entry tree with max-gap augmentation.
 *
 * FreeBSD keeps map entries in a splay tree whose nodes cache `max_free`, the largest free
 * gap "owned" by a subtree, so that lookup, insert, delete and first-fit search are O(log n).
 * vmspace keeps the same contract with a different balanced tree: a treap (randomised binary
 * search tree; priorities from a seeded xorshift generator, so shapes are reproducible) whose
 * nodes are the entries themselves (intrusive: no allocation besides the entry). Observable
 * results never depend on tree shape (spec section 10), and a treap does not restructure on
 * reads, so a read-locked lookup truly changes nothing.
 *
 * Augmentation, per node N (recomputed bottom-up by {@link GapTree.fix}):
 *   lo     = start of the leftmost node of N's subtree
 *   hi     = end of the rightmost node of N's subtree
 *   maxGap = the largest gap between two consecutive nodes *inside* N's subtree
 * Gaps that touch a subtree's boundary depend on nodes outside it, so they are computed on the
 * way down from the bounds the search carries (the "pe" argument: end of the in-order
 * predecessor of the subtree). The largest free gap of the whole range [min, max) is then
 * max(root.maxGap, root.lo - min, max - root.hi), FreeBSD's root max_free.
 *
 * Nodes are also threaded on a doubly linked list in address order (`prev`/`next`), which makes
 * neighbour access O(1), as FreeBSD's threaded tree does.
 *
 * Invariants (checked by {@link GapTree.check}): in-order = list order = sorted by start,
 * consecutive nodes do not overlap, heap order on priorities, parent links consistent, every
 * cached lo/hi/maxGap equal to its recomputation, count equal to the number of nodes.
 *
 * Guarded by: the owner's lock (the map lock for map entries).
 */

import { panic } from "../base/assert.js";

/** A node: an interval [start, end) plus the tree's private links and cached aggregates. */
export class GapNode<N extends GapNode<N>> {
  // Fields are declared, then set in the constructor: V8 (Node 20) runs a class's field
  // initializers as a separate function, a third slower per node than plain assignments,
  // and maps build nodes on every insert, clip and fork.
  /** First address (map lock). */
  declare start: number;
  /** One past the last address (map lock). */
  declare end: number;
  /** Tree links and aggregates: owned by GapTree. */
  declare left: N | null;
  declare right: N | null;
  declare parent: N | null;
  declare prev: N | null;
  declare next: N | null;
  declare prio: number;
  declare lo: number;
  declare hi: number;
  declare maxGap: number;

  constructor() {
    this.start = 0;
    this.end = 0;
    this.left = null;
    this.right = null;
    this.parent = null;
    this.prev = null;
    this.next = null;
    this.prio = 0;
    this.lo = 0;
    this.hi = 0;
    this.maxGap = 0;
  }
}

/** Largest of two numbers without the cost of Math.max's argument handling. */
function max2(a: number, b: number): number {
  return a > b ? a : b;
}

/** The intrusive augmented treap. */
export class GapTree<N extends GapNode<N>> {
  /** Root node (owner lock). */
  root: N | null = null;
  /** Lowest and highest node (owner lock). */
  first: N | null = null;
  last: N | null = null;
  /** Number of nodes (owner lock). */
  count = 0;
  #seed: number;

  constructor(seed = 0x9e3779b9) {
    this.#seed = seed | 0 || 1;
  }

  #random(): number {
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x;
    return x >>> 0;
  }

  /** Recomputes the aggregates of one node from its children. */
  static fix<N extends GapNode<N>>(n: N): void {
    const l = n.left;
    const r = n.right;
    let g = 0;
    if (l !== null) {
      n.lo = l.lo;
      g = max2(l.maxGap, n.start - l.hi);
    } else {
      n.lo = n.start;
    }
    if (r !== null) {
      n.hi = r.hi;
      g = max2(g, max2(r.maxGap, r.lo - n.end));
    } else {
      n.hi = n.end;
    }
    n.maxGap = g;
  }

  /**
   * Recomputes aggregates from `n` towards the root (after n.start/n.end changed in place, or
   * a child of n changed). Stops at the first node whose aggregates come out unchanged: a
   * node's aggregates depend only on its own interval and its children's aggregates, and every
   * node above it was consistent with the old values (aggregates depend on the set of nodes of
   * a subtree, not on its shape, so rotations below leave them valid). A local change (a
   * resize, a page inserted into a gap) thus costs a few nodes instead of the whole path.
   */
  fixUp(n: N | null): void {
    while (n !== null) {
      const lo = n.lo;
      const hi = n.hi;
      const g = n.maxGap;
      GapTree.fix(n);
      if (n.lo === lo && n.hi === hi && n.maxGap === g) return;
      n = n.parent;
    }
  }

  #replaceChild(parent: N | null, old: N, nu: N | null): void {
    if (parent === null) this.root = nu;
    else if (parent.left === old) parent.left = nu;
    else parent.right = nu;
    if (nu !== null) nu.parent = parent;
  }

  /** Rotates x's right child up. */
  #rotateLeft(x: N): void {
    const y = x.right!;
    const b = y.left;
    this.#replaceChild(x.parent, x, y);
    x.right = b;
    if (b !== null) b.parent = x;
    y.left = x;
    x.parent = y;
    GapTree.fix(x);
    GapTree.fix(y);
  }

  /** Rotates x's left child up. */
  #rotateRight(x: N): void {
    const y = x.left!;
    const b = y.right;
    this.#replaceChild(x.parent, x, y);
    x.left = b;
    if (b !== null) b.parent = x;
    y.right = x;
    x.parent = y;
    GapTree.fix(x);
    GapTree.fix(y);
  }

  /**
   * Inserts `n`, which must not overlap any node. O(log n) expected. When the caller knows
   * n's in-order predecessor (`after`: the node n goes right after, null when n becomes the
   * first), the search from the root is skipped: between two in-order neighbours exactly one
   * free child slot exists (the predecessor's right or the successor's left), and the
   * aggregate fix-up above stops where nothing changed, so an insertion next to a known node
   * costs its rotations (O(1) expected) instead of a root-to-leaf walk.
   */
  insert(n: N, after?: N | null): void {
    n.left = n.right = null;
    n.prio = this.#random();
    let p: N | null = null;
    let pred: N | null = null;
    let succ: N | null = null;
    let right = false;
    if (after !== undefined) {
      pred = after;
      succ = after === null ? this.first : after.next;
      if (pred !== null && pred.right === null) {
        p = pred;
        right = true;
      } else p = succ;
    } else {
      let cur = this.root;
      while (cur !== null) {
        p = cur;
        if (n.start < cur.start) {
          succ = cur;
          cur = cur.left;
        } else {
          pred = cur;
          cur = cur.right;
        }
      }
      right = p !== null && n.start >= p.start;
    }
    n.parent = p;
    if (p === null) this.root = n;
    else if (right) p.right = n;
    else p.left = n;
    GapTree.fix(n);
    // Thread on the list.
    n.prev = pred;
    n.next = succ;
    if (pred !== null) pred.next = n;
    else this.first = n;
    if (succ !== null) succ.prev = n;
    else this.last = n;
    this.count++;
    // Restore heap order, then the aggregates above.
    while (n.parent !== null && n.parent.prio < n.prio) {
      const q = n.parent;
      if (q.left === n) this.#rotateRight(q);
      else this.#rotateLeft(q);
    }
    this.fixUp(n.parent);
  }

  /**
   * Fills an empty tree with `nodes`, sorted by start and not overlapping, in O(n): the same
   * tree that inserting them one by one in that order would build (each node takes the next
   * priority of the generator, and a treap's shape is fixed by its keys and priorities), built
   * as a Cartesian tree with a stack, every aggregate computed once, children first, as its
   * subtree is completed.
   * vmspace_fork fills the child's map this way.
   */
  build(nodes: readonly N[]): void {
    if (this.count !== 0) throw new Error("GapTree.build: the tree is not empty");
    const stack: N[] = [];
    let prev: N | null = null;
    for (const n of nodes) {
      n.prio = this.#random();
      n.left = n.right = n.parent = null;
      let below: N | null = null;
      // A popped node's subtree is final (its right child is the node popped before it):
      // its aggregates are computed now, children first, while it is still in the cache.
      while (stack.length > 0 && stack[stack.length - 1].prio < n.prio) {
        below = stack.pop()!;
        GapTree.fix(below);
      }
      n.left = below;
      if (below !== null) below.parent = n;
      if (stack.length > 0) {
        const top = stack[stack.length - 1];
        top.right = n;
        n.parent = top;
      }
      stack.push(n);
      n.prev = prev;
      n.next = null;
      if (prev !== null) prev.next = n;
      prev = n;
    }
    this.root = stack.length > 0 ? stack[0] : null;
    this.first = nodes.length > 0 ? nodes[0] : null;
    this.last = prev;
    this.count = nodes.length;
    // What is left on the stack is the right spine: its nodes from the bottom up.
    for (let i = stack.length - 1; i >= 0; i--) GapTree.fix(stack[i]);
  }

  /** Removes `n` from the tree and the list. O(log n) expected. */
  remove(n: N): void {
    // Rotate n down until it has at most one child, then splice it out.
    while (n.left !== null && n.right !== null) {
      if (n.left.prio > n.right.prio) this.#rotateRight(n);
      else this.#rotateLeft(n);
    }
    const child = n.left !== null ? n.left : n.right;
    const parent = n.parent;
    this.#replaceChild(parent, n, child);
    this.fixUp(parent);
    if (n.prev !== null) n.prev.next = n.next;
    else this.first = n.next;
    if (n.next !== null) n.next.prev = n.prev;
    else this.last = n.prev;
    n.left = n.right = n.parent = n.prev = n.next = null;
    this.count--;
  }

  /** The node containing `addr`, else the greatest node below it, else null. */
  lookup(addr: number): N | null {
    let cur = this.root;
    let best: N | null = null;
    while (cur !== null) {
      if (addr < cur.start) cur = cur.left;
      else {
        if (addr < cur.end) return cur;
        best = cur;
        cur = cur.right;
      }
    }
    return best;
  }

  /**
   * The largest free gap of [min, max), FreeBSD's root max_free.
   */
  maxFree(min: number, max: number): number {
    const r = this.root;
    if (r === null) return max - min;
    return max2(r.maxGap, max2(r.lo - min, max - r.hi));
  }

  /**
   * First fit: the lowest address a >= from with [a, a + length) free and a + length <= max,
   * or -1. Preconditions: min <= from < max, 0 < length <= max - from.
   */
  findGap(from: number, length: number, min: number, max: number): number {
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
    const e = this.#firstGapAfter(this.root, min, succ.start, length);
    if (e !== null) return e.prev!.end;
    const last = this.last!;
    return max - last.end >= length ? last.end : -1;
  }

  /**
   * The leftmost node e of the subtree with e.start > key whose gap to its predecessor is at
   * least `length`; `pe` is the end of the subtree's in-order predecessor (or min). O(log n):
   * only the search path of `key` and one successful descent are walked.
   */
  #firstGapAfter(n: N | null, pe: number, key: number, length: number): N | null {
    while (n !== null) {
      if (n.hi <= key) return null;
      if (max2(n.maxGap, n.lo - pe) < length) return null;
      if (n.start > key) {
        const r = this.#firstGapAfter(n.left, pe, key, length);
        if (r !== null) return r;
        const predEnd = n.left !== null ? n.left.hi : pe;
        if (n.start - predEnd >= length) return n;
      }
      pe = n.end;
      n = n.right;
    }
    return null;
  }

  /**
   * Last fit: the highest address a with low <= a, a + length <= high and [a, a + length)
   * meeting no node (a node n meets it when n.start < a + length and a < n.end; so for length
   * 0, a is the highest address in [low, high] not strictly inside a node), or -1.
   * Preconditions: addresses are integers, min <= low, high <= max, 0 <= length.
   * O(log n): the lookup of `high`, then one search for the last node at or below it whose gap
   * to its predecessor holds `length` (Linux's top-down unmapped_area_topdown search).
   */
  findGapTopDown(low: number, high: number, length: number, min: number, max: number): number {
    if (high - low < length || high > max) return -1;
    // p: the last node that starts below high.
    const p = this.lookup(high - 1);
    // high is in the bottom gap [min, first.start), which low clips: fits by the test above.
    if (p === null) return high - length;
    // high is in the closure of the gap after p: try that gap, clipped to [low, high).
    if (p.end <= high && high - max2(p.end, low) >= length) return high - length;
    // Otherwise the gaps that end at p.start or lower, highest first.
    const e = this.#lastGapAtOrBefore(this.root, min, p.start, length);
    if (e === null) return -1;
    // If e's gap is too short once clipped at low, it starts below low, so every lower gap
    // lies wholly below low: nothing fits.
    const a = e.start - length;
    return a >= low ? a : -1;
  }

  /**
   * The rightmost node e of the subtree with e.start <= key whose gap to its predecessor is at
   * least `length`; `pe` is the end of the subtree's in-order predecessor (or min). Mirror of
   * {@link GapTree.#firstGapAfter}; O(log n) for the same reason.
   */
  #lastGapAtOrBefore(n: N | null, pe: number, key: number, length: number): N | null {
    while (n !== null) {
      if (n.lo > key) return null;
      if (max2(n.maxGap, n.lo - pe) < length) return null;
      if (n.start <= key) {
        const r = this.#lastGapAtOrBefore(n.right, n.end, key, length);
        if (r !== null) return r;
        const predEnd = n.left !== null ? n.left.hi : pe;
        if (n.start - predEnd >= length) return n;
      }
      n = n.left;
    }
    return null;
  }

  /** Iterates nodes in address order. */
  *[Symbol.iterator](): IterableIterator<N> {
    for (let n = this.first; n !== null; n = n.next) yield n;
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
      if (!(e.start < e.end)) panic(who, `empty or inverted node [${e.start}, ${e.end})`);
      if (prev !== null && prev.end > e.start)
        panic(who, `nodes overlap or are unordered at 0x${e.start.toString(16)}`);
      prev = e;
      n++;
    }
    if (prev !== this.last) panic(who, "last pointer is not the last node");
    if (n !== this.count) panic(who, `count ${this.count} but ${n} nodes listed`);
    if (this.root !== null && this.root.parent !== null) panic(who, "root has a parent");
    // In-order walk of the tree must visit the list in order; aggregates are recomputed.
    let visited = 0;
    let expect = this.first;
    const walk = (x: N | null, parent: N | null): void => {
      if (x === null) return;
      if (x.parent !== parent) panic(who, "parent link broken");
      if (parent !== null && parent.prio < x.prio) panic(who, "heap order broken");
      walk(x.left, x);
      if (x !== expect) panic(who, "in-order walk disagrees with the list");
      expect = x.next;
      visited++;
      walk(x.right, x);
      const lo = x.lo;
      const hi = x.hi;
      const g = x.maxGap;
      GapTree.fix(x);
      if (x.lo !== lo || x.hi !== hi || x.maxGap !== g)
        panic(who, `stale aggregate at 0x${x.start.toString(16)}: maxGap ${g} != ${x.maxGap}`);
    };
    walk(this.root, null);
    if (visited !== n) panic(who, "tree and list sizes differ");
  }
}
