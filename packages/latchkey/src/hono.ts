/**
 * `latchkey/hono`: latchkey for Hono.
 *
 * @example
 * import { Hono } from "hono";
 * import { type LatchkeyEnv, latchkeyHono } from "latchkey/hono";
 *
 * const latchkey = latchkeyHono({ auth, publicOrigin: "https://app.example" });
 * const app = new Hono<LatchkeyEnv>();
 * app.use(latchkey.routes);
 * app.get("/api/profile", latchkey.requireAuth, (c) => c.json({ user: c.var.auth.userId }));
 */
export {
  type HonoLatchkey,
  type HonoOptions,
  type LatchkeyEnv,
  latchkeyHono,
  type OptionalAuthEnv,
} from "./adapters/hono.js";
export type { RefusalOptions } from "./http/refusal.js";
