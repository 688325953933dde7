/**
 * The typed event vocabulary and the observer hook.
 *
 * Layers below report through plain nullable callbacks (a null check when nobody listens:
 * no cost); the system installs those callbacks only while someone subscribes, and turns them
 * into these events.
 */

export type VmEvent =
  | {
      type: "fault";
      pid: number;
      kind: "zero" | "cow" | "soft" | "shadow" | "pagein";
      address: number;
    }
  | { type: "fault-failed"; pid: number; address: number; signal: string; code: string }
  | { type: "shadow"; objectId: number; backingId: number | null }
  | { type: "collapse"; objectId: number }
  | { type: "bypass"; objectId: number }
  | { type: "split"; objectId: number }
  | { type: "tlb-invalidate"; pmapId: number; page: number }
  | { type: "pageout"; objectId: number; pindex: number }
  | { type: "pagein"; objectId: number; pindex: number };

export type VmEventType = VmEvent["type"];
export type VmEventListener = (e: VmEvent) => void;

/** A set of listeners; `active` is false when nobody listens. */
export class EventHub {
  readonly #listeners = new Set<VmEventListener>();
  /** Called when the hub goes from no listener to some, or back. */
  onActiveChange: ((active: boolean) => void) | null = null;

  get active(): boolean {
    return this.#listeners.size > 0;
  }

  /** Subscribes; returns the function that unsubscribes. */
  on(fn: VmEventListener): () => void {
    const was = this.active;
    this.#listeners.add(fn);
    if (!was) this.onActiveChange?.(true);
    return () => {
      if (this.#listeners.delete(fn) && !this.active) this.onActiveChange?.(false);
    };
  }

  emit(e: VmEvent): void {
    for (const fn of this.#listeners) fn(e);
  }
}
