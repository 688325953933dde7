/**
 * vmspace: the FreeBSD virtual memory map subsystem in TypeScript.
 *
 * This is the package's only public entry. It has no runtime dependencies and uses no Node
 * built-ins, so it runs in browsers and Web Workers as well as in Node.
 */

export { auditMap } from "./audit/mapAudit.js";
export * from "./base/addr.js";
export { panic, VmPanic } from "./base/assert.js";
export * from "./base/flags.js";
export * from "./base/kern.js";
export * from "./base/prot.js";
export { MapLock } from "./lock/MapLock.js";
export {
  type EntryState,
  type FindResult,
  type LookupResult,
  MAP_32BIT_MAX_ADDR,
  VmMap,
  type VmMapLimits,
  type VmMapOptions,
  type VmMapState,
  type WireCounter,
} from "./map/VmMap.js";
export { VM_FAULT_READ_AHEAD_INIT, VmMapEntry } from "./map/VmMapEntry.js";
export {
  OBJ_ANON,
  OBJ_COLORED,
  OBJ_DEAD,
  OBJ_ONEMAPPING,
  type ObjectType,
  VmObject,
} from "./object/VmObject.js";
export type { MapPmap } from "./pmap/MapPmap.js";
