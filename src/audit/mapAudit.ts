/**
 * Audit of one map: the full invariant walk used after every step of the property tests and by
 * `--paranoid` replays (STYLE habits 6 and 12). The map checks its own tree and entries
 * (VmMap.check); this layer is where whole-system audits compose such checks.
 */

import type { VmMap } from "../map/VmMap.js";

/**
 * Walks every structure of `map` and throws a VmPanic on the first broken invariant: order,
 * overlap, bounds, cached max-gap of every node, entry count, mapped size, entry attributes,
 * neighbours left mergeable, lock left held.
 */
export function auditMap(map: VmMap): void {
  map.check();
}
