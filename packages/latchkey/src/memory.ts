/**
 * `latchkey/memory`: stores in this process's memory, for tests and demos (nothing
 * survives a restart, and nothing is shared between processes).
 *
 * @example
 * import { createMemoryStores } from "latchkey/memory";
 *
 * const stores = createMemoryStores();
 */
export { createMemoryStores } from "./stores/memory/index.js";
