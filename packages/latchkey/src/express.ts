/**
 * `latchkey/express`: latchkey for Express 5.
 *
 * @example
 * import express from "express";
 * import { latchkeyExpress } from "latchkey/express";
 *
 * const app = express();
 * const latchkey = latchkeyExpress({ auth, publicOrigin: "https://app.example" });
 * app.use(latchkey.routes);
 * app.use(express.json());
 * app.get("/api/profile", latchkey.requireAuth, (req, res) => res.json({ user: req.auth?.userId }));
 */
export {
  type ExpressLatchkey,
  type ExpressMiddleware,
  type ExpressOptions,
  type ExpressRequestLike,
  latchkeyExpress,
} from "./adapters/express.js";
export type { RefusalOptions } from "./http/refusal.js";
