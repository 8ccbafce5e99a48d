/**
 * `latchkey/fetch`: latchkey for any server of the web platform's `Request` and
 * `Response`, with no framework, and `toNodeHandler` to serve one from `node:http`.
 *
 * @example
 * import { createFetchHandler } from "latchkey/fetch";
 *
 * const latchkey = createFetchHandler({ auth, publicOrigin: "https://app.example" });
 * const answered = await latchkey.handle(request, { ip });
 */
export {
  type CallInfo,
  createFetchHandler,
  type FetchLatchkey,
  type FetchOptions,
  type Identified,
} from "./adapters/fetch.js";
export { type FetchStyleHandler, type NodeHandlerOptions, toNodeHandler } from "./adapters/node.js";
