/**
 * The map lock: shared/exclusive with upgrade, downgrade and a timestamp.
 *
 * Lock order (the one place it is written down, STYLE habit 3):
 *
 *   vm_map lock (this file; a process's map before any other map, parent before child in fork)
 *     vm_object lock (shadow chains: top object before its backing object)
 *       page queues / frame metadata
 *         pmap and TLB
 *
 * vmspace runs on one JavaScript thread, so no acquisition ever blocks: a request that would
 * have to wait (an exclusive lock while the lock is held, a lock taken twice) is a misuse and
 * panics, and the "other threads" that FreeBSD's algorithms guard against are simulated by
 * tests that hold shared locks explicitly. What is kept exactly is the observable contract:
 * - an exclusive acquisition (lock, successful tryLock, successful upgrade) adds one to the
 *   timestamp; shared acquisitions and downgrades do not;
 * - "unchanged while unlocked" is `timestamp === saved + 1` after relocking exclusively;
 * - lockUpgrade returns 0 on success and non-zero on failure, and on failure no lock is held.
 *   It fails when other readers hold the lock (FreeBSD would drop the read lock, wait for the
 *   write lock and find the timestamp changed by the writer that got there first).
 *
 * Guarded by: itself.
 */

import { panic } from "../base/assert.js";

export class MapLock {
  /** Number of shared holders (0 when exclusive or free). */
  #readers = 0;
  /** True while held exclusively. */
  #exclusive = false;
  /** Version counter (u_int in FreeBSD; wraps at 2^32 here too). */
  #timestamp = 0;

  get timestamp(): number {
    return this.#timestamp;
  }
  get readers(): number {
    return this.#readers;
  }
  get exclusive(): boolean {
    return this.#exclusive;
  }
  /** True when held shared or exclusive. */
  get held(): boolean {
    return this.#exclusive || this.#readers > 0;
  }

  #bump(): void {
    this.#timestamp = (this.#timestamp + 1) >>> 0;
  }

  /** vm_map_lock: exclusive; the timestamp advances. */
  lock(): void {
    if (this.#exclusive) panic("vm_map_lock", "map already locked exclusively (recursion)");
    if (this.#readers > 0) panic("vm_map_lock", "map is read-locked: would deadlock");
    this.#exclusive = true;
    this.#bump();
  }

  /** vm_map_unlock. */
  unlock(): void {
    if (!this.#exclusive) panic("vm_map_unlock", "map is not locked exclusively");
    this.#exclusive = false;
  }

  /** vm_map_lock_read: shared; the timestamp does not change. */
  lockRead(): void {
    if (this.#exclusive) panic("vm_map_lock_read", "map is locked exclusively: would deadlock");
    this.#readers++;
  }

  /** vm_map_unlock_read. */
  unlockRead(): void {
    if (this.#readers === 0) panic("vm_map_unlock_read", "map is not read-locked");
    this.#readers--;
  }

  /** vm_map_trylock: true and the timestamp advances when the lock was free. */
  tryLock(): boolean {
    if (this.held) return false;
    this.#exclusive = true;
    this.#bump();
    return true;
  }

  /** vm_map_trylock_read: true unless held exclusively. */
  tryLockRead(): boolean {
    if (this.#exclusive) return false;
    this.#readers++;
    return true;
  }

  /**
   * vm_map_lock_upgrade: the caller holds a read lock. Returns 0 with the lock held
   * exclusively (timestamp advanced), or 1 with **no lock held** when other readers exist.
   */
  lockUpgrade(): number {
    if (this.#readers === 0) panic("vm_map_lock_upgrade", "map is not read-locked");
    if (this.#readers === 1) {
      this.#readers = 0;
      this.#exclusive = true;
      this.#bump();
      return 0;
    }
    this.#readers--;
    return 1;
  }

  /** vm_map_lock_downgrade: exclusive to shared; the timestamp does not change. */
  lockDowngrade(): void {
    if (!this.#exclusive) panic("vm_map_lock_downgrade", "map is not locked exclusively");
    this.#exclusive = false;
    this.#readers = 1;
  }

  /** Panics unless held exclusively (vm_map_assert_wlocked). */
  assertExclusive(fn: string): void {
    if (!this.#exclusive) panic(fn, "map must be locked exclusively");
  }

  /** Panics unless held at all (vm_map_assert_locked). */
  assertHeld(fn: string): void {
    if (!this.held) panic(fn, "map must be locked");
  }
}
