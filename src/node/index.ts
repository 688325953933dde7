/**
 * `vmspace/node`: the Node.js entry. It re-exports the whole public entry, so Node programs can
 * import everything from one place; Node-only pieces (host files through node:fs, a swap file)
 * are added here, never to the browser-safe entry.
 */

export * from "../index.js";
export { HostFile, type HostFileMode } from "./hostFile.js";
