/**
 * What every adapter shares: the options a host passes, checked once, and the pieces built
 * from them (the request helpers, the routes that are on, the origin check). The core
 * (`dispatch.ts`), and through it every adapter, is a layer over this.
 */
import type { Auth } from "../core/auth.js";
import { AuthError } from "../core/errors.js";
import { LatchkeyContext, type Strategy } from "./context.js";
import type { CookieNames } from "./cookies.js";
import type { CorsOrigins } from "./cors.js";
import { checkAdapterOptions, checkPlainOptions, originOption } from "./guest-options.js";
import type { AuthRequest } from "./kit.js";
import { isCrossSite, isSameSite, isUnsafeMethod } from "./origin.js";
import { accountRoutes } from "./routes/account.js";
import { adminRoutes } from "./routes/admin.js";
import { authRoutes } from "./routes/auth.js";
import { emailRoutes } from "./routes/email.js";
import { explainRoutes, type PolicyInfo } from "./routes/explain.js";
import { factorRoutes } from "./routes/factors.js";
import { passkeyRoutes } from "./routes/passkeys.js";
import { isRouteOn, parsePrefix, type RouteSpec, type RouteSwitches } from "./routes/spec.js";
import { tokenRoutes } from "./routes/tokens.js";

/**
 * The options of every adapter (the Fastify plugin, fetch, Express, Hono).
 * @example
 * const options: LatchkeyOptions = {
 *   auth,
 *   publicOrigin: "https://app.example",
 *   strategy: "hybrid",
 *   prefix: "/api",
 *   routes: { register: false, admin: false },
 * };
 */
export interface LatchkeyOptions {
  /** The core, from `createAuth`, with its stores. */
  auth: Auth;
  /**
   * The origin browsers use; unsafe requests from any other are refused. A function is
   * read on first use (for a server on port 0, whose origin is known once it listens).
   */
  publicOrigin: string | (() => string);
  /** What a browser login sets. Default `session`. */
  strategy?: Strategy;
  /** `false` drops `Secure` and the `__Host-` prefix (plain-http development). Default `true`. */
  cookieSecure?: boolean;
  /**
   * Other cookie names, without a prefix (`{ session: "app_sid" }`); the `__Host-` prefix
   * is added while cookies are `Secure`. Defaults: `sid`, `csrf`, `at`, `rt`, `device`.
   */
  cookieNames?: Partial<CookieNames>;
  /**
   * Where latchkey's routes live: `/api` puts `/auth/login` at `/api/auth/login` and the
   * JWKS at `/api/.well-known/jwks.json`. Default `""`.
   */
  prefix?: string;
  /**
   * Route groups to switch off, each on by default: `register` (`POST /auth/register`: off
   * when the app creates users itself), `password` (`POST /auth/password`), `account`
   * (`DELETE /auth/account`), `tokens` (`POST /auth/token` and `/auth/revoke`: bearer
   * logins for API clients, and services' own tokens), `services` (`POST /auth/introspect`
   * and `GET /auth/revocations`: what resource services ask; a service then authenticates
   * with HTTP Basic alone when `tokens` is off), `explain` (`/auth/info`,
   * `/auth/access-token`; on only with `policy`), `admin` (`/admin/*`: users, their
   * sessions and roles, and the audit log, for callers whose roles grant the permission
   * each route names; see `docs/roles.md`), `email` (`/auth/email*` and
   * `/auth/password/forgot|reset`: addresses, verification and password reset by mail; on
   * only when `createAuth` was given `mail`, see `docs/accounts.md`). Login, logout, the user's sessions and events,
   * refresh and the JWKS are always on.
   */
  routes?: RouteSwitches;
  /** When given, `GET /auth/info` publishes it (the web app's "how it works" page reads it). */
  policy?: Omit<PolicyInfo, "strategy">;
  /** Origins whose scripts may call with bearer tokens (CORS without credentials). */
  corsOrigins?: readonly string[];
  /**
   * Other origins of this site whose pages may make cookie requests (a front end on its
   * own port or subdomain): credentialed CORS for exactly these, each unsafe request still
   * bound by the CSRF token. Same-site only (cookies stay `SameSite=Lax`, which a
   * cross-site request never carries): a cross-site one is a `TypeError` at start. See
   * `docs/client.md`.
   */
  trustedOrigins?: readonly string[];
  /**
   * The sweep of expired sessions, throttle counters, old change-feed rows and spent
   * signing keys, run inside this process and stopped when the app (or adapter) closes.
   * Default on, every 60 s; `false` when you run `auth.startMaintenance()` elsewhere.
   */
  maintenance?: boolean | { intervalMs?: number };
}

/** The request facts the origin check reads. */
export interface OriginRequest {
  method: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** The options, checked, and what is built from them. */
export interface Guest {
  context: LatchkeyContext;
  prefix: string;
  /** The routes that are on, in registration order. */
  routes: RouteSpec[];
  corsOrigins: ReadonlySet<string>;
  /** `trustedOrigins`: credentialed CORS, cookie requests allowed. */
  trustedOrigins: ReadonlySet<string>;
  /** Both, as CORS serves them. */
  cors: CorsOrigins;
  /**
   * The cross-site refusal of contract section 6 for an unsafe request, or `undefined`.
   * `corsRoute`: whether the route may be called from a `corsOrigins` origin without a bearer
   * header, asked only for a cross-site request from such an origin (reading a route's
   * options can cost an allocation, which same-site requests never pay).
   */
  originRefusal(request: OriginRequest, corsRoute: () => boolean): AuthError | undefined;
}

/**
 * Checks the options (a `TypeError` naming the bad one) and builds what adapters share.
 *
 * @example
 * const guest = setUpGuest({ auth, publicOrigin: "https://app.example" });
 */
export function setUpGuest(options: LatchkeyOptions): Guest {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("latchkey: the options must be an object such as { auth, publicOrigin }");
  }
  if (typeof options.auth?.accounts !== "object") {
    throw new TypeError("latchkey: option auth must be the result of createAuth()");
  }
  checkPlainOptions(options as unknown as Record<string, unknown>);
  checkAdapterOptions(options as { clientAddress?: unknown; log?: unknown });
  const given = options.publicOrigin;
  const trustedOrigins = new Set(
    (options.trustedOrigins ?? []).map((origin, i) => originOption(`trustedOrigins[${i}]`, origin)),
  );
  let resolvedOrigin =
    typeof given === "function" ? undefined : checkTrusted(originOption("publicOrigin", given), trustedOrigins);
  const publicOrigin = (): string => {
    resolvedOrigin ??= checkTrusted(
      originOption("publicOrigin (the value its function returned)", (given as () => string)()),
      trustedOrigins,
    );
    return resolvedOrigin;
  };
  const strategy = options.strategy ?? "session";
  const switches = options.routes ?? {};
  if (switches.email === true && !options.auth.email.enabled) {
    throw new TypeError(
      "latchkey: option routes.email is true, but createAuth was given no mail: pass mail: { transport, from } to createAuth (docs/accounts.md), or leave routes.email out",
    );
  }
  const corsOrigins = new Set(
    (options.corsOrigins ?? []).map((origin, i) => originOption(`corsOrigins[${i}]`, origin)),
  );
  const prefix = parsePrefix(options.prefix);
  const crossSite = (request: OriginRequest): boolean =>
    isCrossSite({ origin: header(request, "origin"), fetchSite: header(request, "sec-fetch-site") }, publicOrigin());
  const trusted = (request: OriginRequest): boolean => {
    const origin = header(request, "origin");
    return origin !== undefined && trustedOrigins.has(origin) && header(request, "sec-fetch-site") !== "cross-site";
  };
  const context = new LatchkeyContext({
    auth: options.auth,
    strategy,
    cookieSecure: options.cookieSecure ?? true,
    cookieNames: options.cookieNames,
    prefix,
    cookieOriginAllowed: (request: AuthRequest) => !crossSite(request) || trusted(request),
  });
  const all = [
    ...authRoutes(context),
    ...accountRoutes(context),
    ...(options.auth.email.enabled ? emailRoutes(context) : []),
    ...factorRoutes(context),
    ...passkeyRoutes(context),
    ...tokenRoutes(context),
    ...(options.policy ? explainRoutes(context, options.policy) : []),
    ...adminRoutes(context),
  ];
  return {
    context,
    prefix,
    routes: all.filter((spec) => isRouteOn(spec, switches)),
    corsOrigins,
    trustedOrigins,
    cors: { bearer: corsOrigins, trusted: trustedOrigins },
    originRefusal(request, corsRoute) {
      if (!isUnsafeMethod(request.method)) return undefined;
      if (!crossSite(request) || trusted(request)) return undefined;
      // A CORS origin may call what needs no cookie: bearer requests, and routes that say so.
      const origin = header(request, "origin");
      const corsAllowed =
        origin !== undefined && corsOrigins.has(origin) && (request.headers.authorization !== undefined || corsRoute());
      return corsAllowed ? undefined : new AuthError("forbidden_origin", "Cross-site requests are not allowed.");
    },
  };
}

/**
 * The public origin, once every trusted origin is checked against it: a trusted origin of
 * another site could never send the `SameSite=Lax` cookies it is trusted with.
 */
function checkTrusted(publicOrigin: string, trusted: ReadonlySet<string>): string {
  let i = 0;
  for (const origin of trusted) {
    if (origin === publicOrigin) {
      throw new TypeError(
        `latchkey: option trustedOrigins[${i}] is publicOrigin itself ("${origin}"), which is always trusted: leave it out`,
      );
    }
    if (!isSameSite(origin, publicOrigin)) {
      throw new TypeError(
        `latchkey: option trustedOrigins[${i}] "${origin}" is another site than publicOrigin "${publicOrigin}": browsers send latchkey's SameSite=Lax cookies to no request a page of another site makes, so it could never sign in. Trust origins of the same site only (same scheme and registrable domain, such as https://app.example.com for https://auth.example.com), or give that app bearer tokens (corsOrigins).`,
      );
    }
    i++;
  }
  return publicOrigin;
}

function header(request: OriginRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * The sweep an adapter runs unless `maintenance: false`; `stop` ends it.
 *
 * @example
 * const maintenance = startGuestMaintenance(options, console);
 */
export function startGuestMaintenance(
  options: Pick<LatchkeyOptions, "auth" | "maintenance">,
  log: { debug?(details: object, message: string): void; warn(details: object, message: string): void } | undefined,
): { stop(): Promise<void> } {
  if (options.maintenance === false) return { stop: async () => {} };
  return options.auth.startMaintenance({
    log: log && { debug: (details, message) => log.debug?.(details, message), warn: (d, m) => log.warn(d, m) },
    intervalMs: typeof options.maintenance === "object" ? options.maintenance.intervalMs : undefined,
  });
}
