/**
 * vmspace: the FreeBSD virtual memory map subsystem in TypeScript.
 *
 * This is the package's only public entry. It has no runtime dependencies and uses no Node
 * built-ins, so it runs in browsers and Web Workers as well as in Node.
 */

import { auditSystem } from "./audit/systemAudit.js";
import { installAuditor } from "./process/VmSystem.js";

installAuditor(auditSystem);

export { auditMap, auditSystem } from "./audit/systemAudit.js";
export * from "./base/addr.js";
export { kassert, panic, VmPanic } from "./base/assert.js";
export { type ErrnoName, FREEBSD_ERRNO, LINUX_ERRNO } from "./base/errno.js";
export * from "./base/flags.js";
export * from "./base/kern.js";
export * from "./base/prot.js";
export { type DaemonStats, PageDaemon } from "./daemon/pageDaemon.js";
export { EventHub, type VmEvent, type VmEventListener, type VmEventType } from "./events/events.js";
export { type FaultStats, vmFault } from "./fault/vmFault.js";
export { MapLock } from "./lock/MapLock.js";
export {
  BottomUp,
  type BottomUpOptions,
  type LinuxPlacementOptions,
  LinuxTopDown,
  type LinuxTopDownOptions,
  linuxMmapBase,
  type PlacementRequest,
  type PlacementStrategy,
} from "./map/placement.js";
export {
  type EntryState,
  type FindResult,
  type LookupInfo,
  type LookupResult,
  MAP_32BIT_MAX_ADDR,
  MAP_ENTRY_CACHE,
  type MapFaultHooks,
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
  OBJ_SHM,
  ObjectContext,
  type ObjectType,
  VmObject,
} from "./object/VmObject.js";
export { METADATA_BYTES_PER_FRAME, PhysMem } from "./page/PhysMem.js";
export { Device, type DeviceHandlers, DevicePager, type MmioWidth } from "./pager/device.js";
export {
  FaultyBackend,
  MemorySwap,
  SWAP_BLOCK,
  type SwapBackend,
  SwapBlocks,
  type SwapError,
  type SwapOp,
  SwapPager,
  type SwapStats,
} from "./pager/swap.js";
export {
  FaultyFile,
  FileIoError,
  type FileOp,
  MemoryFile,
  type ObjectPager,
  type PagerError,
  pagerError,
  type Vnode,
  VnodePager,
} from "./pager/vnode.js";
export type { MapPmap } from "./pmap/MapPmap.js";
export {
  Pmap,
  PTE_A,
  PTE_M,
  PTE_R,
  PTE_V,
  PTE_W,
  PTE_WIRED,
  PTE_X,
  PvTable,
  TLB_SIZE,
} from "./pmap/Pmap.js";
export { freebsd, linux, MAP_ALIGNED, PROT_MAX, RLIM_INFINITY } from "./process/constants.js";
export {
  type AccessType,
  type FaultCode,
  type FaultSignal,
  MemoryFault,
  VmError,
} from "./process/errors.js";
export { FdTable, type OpenFile, type OpenMode } from "./process/fds.js";
export {
  defaultMmapBase,
  LINUX_MAX_MAP_COUNT,
  LINUX_MMAP_MIN_ADDR,
  LinuxProcess,
  type LinuxProcessOptions,
} from "./process/linux.js";
export { type MapInfo, Process, type ProcessOptions, type Rlimit } from "./process/Process.js";
export { ShmObject, ShmPager } from "./process/shm.js";
export {
  type Personality,
  type VmStats,
  VmSystem,
  type VmSystemOptions,
} from "./process/VmSystem.js";
