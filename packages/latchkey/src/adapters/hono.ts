/**
 * latchkey for Hono: a middleware that answers latchkey's routes (and passes every other
 * request on), and `requireAuth`, `optionalAuth` and `requireAuthWith` for the app's own
 * routes, which set `c.var.auth`. Hono itself is not imported; its types only.
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
import { AuthError } from "../core/errors.js";
import type { RequestAuth } from "../http/context.js";
import type { GuestLog } from "../http/dispatch.js";
import type { LatchkeyOptions } from "../http/guest.js";
import { checkAdapterOptions } from "../http/guest-options.js";
import { type RefusalMode, type RefusalOptions, redirectLocation, refusalMode } from "../http/refusal.js";
import { type Requirement, requirementOf } from "../http/requirement.js";
import { type FetchLatchkey, fetchAdapter, type Identified, refusalCookies } from "./fetch.js";
import { logOnce, mountCheck } from "./setup-checks.js";

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
 * The variables `optionalAuth` sets: `c.var.auth` may be `null`. An app with both kinds of
 * route is a `Hono<OptionalAuthEnv>`: behind `requireAuth`, `c.var.auth` is never `null`.
 * @example
 * import { Hono } from "hono";
 * const latchkey = latchkeyHono({ auth, publicOrigin: "https://app.example" });
 * const app = new Hono<OptionalAuthEnv>();
 * app.get("/", latchkey.optionalAuth, (c) => c.text(c.var.auth ? "welcome back" : "hello"));
 */
export interface OptionalAuthEnv {
  Variables: { auth: RequestAuth | null };
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
  /** Where latchkey logs a store outage (`warn`), a bug or a wrong set-up (`error`); pino fits. */
  log?: GuestLog;
}

/**
 * What `latchkeyHono` returns.
 * @example
 * const latchkey: HonoLatchkey = latchkeyHono({ auth, publicOrigin: "https://app.example" });
 */
export interface HonoLatchkey {
  /**
   * Answers latchkey's routes; every other request goes on to the app. Under a
   * `basePath` (or `app.route`), pass that path as `prefix`: a mount where none of
   * latchkey's routes can be is a `LatchkeySetupError` thrown to your `onError`.
   */
  routes: MiddlewareHandler;
  /** Sets `c.var.auth`, or answers 401/403 in the contract's format. */
  requireAuth: MiddlewareHandler<LatchkeyEnv>;
  /**
   * Sets `c.var.auth` to who the request is, or `null`: never refuses a request for
   * having no credential or a dead one. A request that presents one gets `requireAuth`'s
   * origin and CSRF checks (403 when they fail).
   */
  optionalAuth: MiddlewareHandler<OptionalAuthEnv>;
  /**
   * `requireAuth` with another way to refuse: `{ onRefusal: "next" }` throws the
   * `AuthError` to your `onError` (with `status`, `statusCode`, `code` and, as Hono's
   * `HTTPException` has, `getResponse()`); `{ redirect: "/sign-in" }` sends a GET with no
   * live session to that page (303, the path asked for as `next`).
   */
  requireAuthWith(options: RefusalOptions): MiddlewareHandler<LatchkeyEnv>;
  /**
   * `requireAuth`, and the user must have one of `roles` (`403 forbidden` otherwise). An
   * undeclared role is a `TypeError` here, at set-up.
   * @example
   * app.get("/reports", latchkey.requireRole("admin"), (c) => c.json({ roles: c.var.auth.roles }));
   */
  requireRole(...roles: string[]): MiddlewareHandler<LatchkeyEnv>;
  /**
   * `requireAuth`, and the user's roles must grant every one of `permissions` (`403
   * forbidden` otherwise). An undeclared permission is a `TypeError` here, at set-up.
   * @example
   * app.get("/stats", latchkey.requirePermission("todos:read-any"), (c) => c.json({ ok: true }));
   */
  requirePermission(...permissions: string[]): MiddlewareHandler<LatchkeyEnv>;
  /** Stops the sweep this adapter started (`maintenance`) and ends its event streams. */
  close(): void;
}

/**
 * @example
 * const latchkey = latchkeyHono({ auth, publicOrigin: "https://app.example", strategy: "hybrid" });
 */
export function latchkeyHono(options: HonoOptions): HonoLatchkey {
  // Checked here: `clientAddress` is Hono's own and never reaches the fetch adapter.
  checkAdapterOptions(options ?? {});
  const { clientAddress = defaultAddress, ...rest } = options;
  const { latchkey: handler, guest, renewingAuthenticate } = fetchAdapter(rest);
  const misplaced = mountCheck(guest, {
    factory: "latchkeyHono",
    mounted: (mount) => `a basePath("${mount}"), app.route("${mount}", ...) or app.use("${mount}/*", ...)`,
  });
  const reportSetup = logOnce(options.log);

  const guard = (mode: RefusalMode | "optional", requirement?: Requirement): MiddlewareHandler => {
    return async (c, next) => {
      const info = { ip: clientAddress(c) };
      let who: Identified<RequestAuth | null>;
      let signedIn: Identified<RequestAuth> | undefined;
      try {
        if (mode === "optional") who = await handler.optionalAuth(c.req.raw, info);
        else {
          signedIn = await renewingAuthenticate(c.req.raw, info);
          requirement?.(signedIn.auth);
          who = signedIn;
        }
      } catch (error) {
        // Refused after signing in (a 403): a session cookie renewed on the way still goes
        // out, on the context (the host's `onError`, in `next` mode) and on the answer.
        const renewed = signedIn?.headers.getSetCookie() ?? [];
        for (const line of renewed) c.header("set-cookie", line, { append: true });
        const refused = refuse(handler, mode, c, error);
        for (const line of renewed) refused.headers.append("set-cookie", line);
        return refused;
      }
      c.set("auth", who.auth);
      // A renewed cookie, and the cache-control that keeps it out of caches.
      for (const line of who.headers.getSetCookie()) c.header("set-cookie", line, { append: true });
      who.headers.forEach((value, name) => {
        if (name !== "set-cookie") c.header(name, value);
      });
      await next();
    };
  };

  return {
    async routes(c, next) {
      const mistake = misplaced(mountOf(c));
      if (mistake) {
        reportSetup(mistake);
        throw mistake;
      }
      const answered = await handler.handle(c.req.raw, { ip: clientAddress(c) });
      if (answered) return answered;
      await next();
    },
    requireAuth: guard({ kind: "answer" }),
    optionalAuth: guard("optional"),
    requireAuthWith: (refusal) => guard(refusalMode(refusal)),
    requireRole: (...roles) => guard({ kind: "answer" }, requirementOf(options.auth, "role", roles)),
    requirePermission: (...permissions) =>
      guard({ kind: "answer" }, requirementOf(options.auth, "permission", permissions)),
    close: () => handler.close(),
  };
}

/** A refusal of `requireAuth*`: answered, redirected, or thrown to the host's `onError`. */
function refuse(handler: FetchLatchkey, mode: RefusalMode | "optional", c: Context, error: unknown): Response {
  if (mode !== "optional" && mode.kind === "next") {
    // A session cookie renewed before the refusal goes on the context, so the host's own
    // `onError` answer (built on `c`) carries it too.
    for (const line of refusalCookies(error)) c.header("set-cookie", line, { append: true });
    if (error instanceof AuthError) {
      // Read as Hono reads its own HTTPException: the default onError answers `getResponse()`.
      Object.assign(error, { status: error.statusCode, getResponse: () => handler.errorResponse(error) });
    }
    throw error;
  }
  const url = new URL(c.req.url);
  const location = mode === "optional" ? null : redirectLocation(mode, c.req.method, url.pathname + url.search, error);
  if (location === null) return handler.errorResponse(error);
  return new Response(null, { status: 303, headers: { location, "cache-control": "no-store" } });
}

/**
 * The path this middleware runs under: its route's path without the trailing wildcard
 * (`/v1/*` under `basePath("/v1")`), `""` at the root.
 */
function mountOf(c: Context): string {
  const path = c.req.routePath ?? "";
  return path.replace(/\/?\*$/, "");
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
