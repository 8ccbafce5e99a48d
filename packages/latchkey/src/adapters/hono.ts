/**
 * latchkey for Hono: a middleware that answers latchkey's routes (and passes every other
 * request on), and `requireAuth` for the app's own routes, which sets `c.var.auth`. Hono
 * itself is not imported; its types only.
 *
 * @example
 * import { Hono } from "hono";
 * import { latchkeyHono, type LatchkeyEnv } from "latchkey/hono";
 *
 * const latchkey = latchkeyHono({ auth, publicOrigin: "https://app.example" });
 * const app = new Hono<LatchkeyEnv>();
 * app.use(latchkey.routes);
 * app.get("/api/profile", latchkey.requireAuth, (c) => c.json({ user: c.var.auth.userId }));
 */
import type { Context, MiddlewareHandler } from "hono";
import type { RequestAuth } from "../http/context.js";
import type { GuestLog } from "../http/dispatch.js";
import type { LatchkeyOptions } from "../http/guest.js";
import { createFetchHandler } from "./fetch.js";

/**
 * The variables `requireAuth` sets: `new Hono<LatchkeyEnv>()`.
 * @example
 * import { Hono } from "hono";
 * const app = new Hono<LatchkeyEnv>();
 * app.get("/me", (c) => c.json({ user: c.var.auth.userId }));
 */
export interface LatchkeyEnv {
  Variables: { auth: RequestAuth };
}

/**
 * Options of `latchkeyHono`.
 * @example
 * const options: HonoOptions = { auth, publicOrigin: "https://app.example", clientAddress: (c) => c.req.header("x-real-ip") };
 */
export interface HonoOptions extends LatchkeyOptions {
  /**
   * The client's address. Default: the socket's address under `@hono/node-server`, and
   * Bun's `requestIP`; elsewhere (or behind a proxy) pass one, as Hono's `getConnInfo`
   * helper for your runtime gives it.
   */
  clientAddress?: (c: Context) => string | undefined;
  /** Where latchkey logs a store outage (`warn`) or a bug (`error`); pino fits. */
  log?: GuestLog;
}

/**
 * What `latchkeyHono` returns.
 * @example
 * const latchkey: HonoLatchkey = latchkeyHono({ auth, publicOrigin: "https://app.example" });
 */
export interface HonoLatchkey {
  /** Answers latchkey's routes; every other request goes on to the app. */
  routes: MiddlewareHandler;
  /** Sets `c.var.auth`, or answers 401/403 in the contract's format. */
  requireAuth: MiddlewareHandler<LatchkeyEnv>;
  /** Stops the sweep this adapter started (`maintenance`). */
  close(): void;
}

/**
 * @example
 * const latchkey = latchkeyHono({ auth, publicOrigin: "https://app.example", strategy: "hybrid" });
 */
export function latchkeyHono(options: HonoOptions): HonoLatchkey {
  const { clientAddress = defaultAddress, ...rest } = options;
  const handler = createFetchHandler(rest);
  return {
    async routes(c, next) {
      const answered = await handler.handle(c.req.raw, { ip: clientAddress(c) });
      if (answered) return answered;
      await next();
    },
    async requireAuth(c, next) {
      let who: Awaited<ReturnType<typeof handler.authenticate>>;
      try {
        who = await handler.authenticate(c.req.raw, { ip: clientAddress(c) });
      } catch (error) {
        return handler.errorResponse(error);
      }
      c.set("auth", who.auth);
      for (const line of who.headers.getSetCookie()) c.header("set-cookie", line, { append: true });
      await next();
    },
    close: () => handler.close(),
  };
}

interface NodeBindings {
  incoming?: { socket?: { remoteAddress?: string } };
}
interface BunBindings {
  requestIP?: (request: Request) => { address: string } | null;
}

function defaultAddress(c: Context): string | undefined {
  const env = c.env as (NodeBindings & BunBindings) | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.requestIP?.(c.req.raw)?.address;
}
