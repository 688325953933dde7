/**
 * What the map layer asks of a physical map (pmap(9)): remove translations, reduce their
 * protection. The software pmap with its TLB implements this interface; a map can also run
 * with no pmap at all (`null`), for instance when it is used only as an address-space
 * allocator.
 */

import type { VmProt } from "../base/prot.js";

export interface MapPmap {
  /** pmap_remove: drops every translation in [sva, eva). */
  remove(sva: number, eva: number): void;
  /** pmap_protect: reduces the translations in [sva, eva) to at most `prot`. */
  protect(sva: number, eva: number, prot: VmProt): void;
  /**
   * pmap_enter_quick: maps `va` to `frame` read-only (never writable, never wired) unless
   * something is mapped there already. Optional: without it, VmMap.prefault maps nothing.
   */
  enterQuick?(va: number, frame: number, prot: VmProt): void;
  /**
   * Drops the guard markers of [sva, eva) (Linux's MADV_GUARD_INSTALL markers, which an unmap
   * drops). Optional: a pmap without markers needs nothing.
   */
  clearGuards?(sva: number, eva: number): void;
  /** Whether the page of `va` carries a guard marker (vm_map_lookup refuses a fault there). */
  isGuard?(va: number): boolean;
}
