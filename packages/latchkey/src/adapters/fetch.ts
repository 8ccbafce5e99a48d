/**
 * latchkey for any server that speaks the web platform's `Request` and `Response`: Next.js
 * route handlers, Bun, Deno, Cloudflare-style workers, or Node's `http` through
 * `toNodeHandler` (./node.ts). No framework is loaded.
 *
 * @example
 * import { createFetchHandler } from "latchkey/fetch";
 *
 * const latchkey = createFetchHandler({ auth, publicOrigin: "https://app.example" });
 * export async function handler(request: Request, ip: string): Promise<Response> {
 *   const answered = await latchkey.handle(request, { ip });
 *   if (answered) return answered;
 *   return latchkey.protect(request, { ip }, async (who) => Response.json({ user: who.userId }));
 * }
 */
import { LatchkeySetupError } from "../core/errors.js";
import { RENEWED_CACHE_CONTROL } from "../http/answer.js";
import type { RequestAuth } from "../http/context.js";
import { type Answer, CollectingReply, Dispatcher, type GuestLog, type IncomingFacts } from "../http/dispatch.js";
import { type Guest, type LatchkeyOptions, setUpGuest, startGuestMaintenance } from "../http/guest.js";
import type { AuthRequest } from "../http/kit.js";
import { authenticateOptionally } from "../http/optional-auth.js";
import { authRequestOf } from "../http/request.js";
import { type Requirement, requirementOf } from "../http/requirement.js";
import { logOnce } from "./setup-checks.js";
import { eventBody, readRequestBody } from "./web-body.js";

/**
 * Options of `createFetchHandler`.
 * @example
 * const options: FetchOptions = {
 *   auth,
 *   publicOrigin: "https://app.example",
 *   clientAddress: (r) => r.headers.get("x-real-ip") ?? undefined,
 * };
 */
export interface FetchOptions extends LatchkeyOptions {
  /**
   * The client's address for a request, when the call does not pass one (`{ ip }`): the
   * address behind your proxy, as your platform tells it. Per-address limits count by it,
   * so it must be the real client, never a header the client wrote unchecked.
   */
  clientAddress?: (request: Request) => string | undefined;
  /** Where latchkey logs a store outage (`warn`), a bug or a wrong set-up (`error`); pino fits. */
  log?: GuestLog;
}

/**
 * Per-call facts the platform knows and the `Request` does not.
 * @example
 * const info: CallInfo = { ip: "192.0.2.1" };
 */
export interface CallInfo {
  /** The client's address. */
  ip?: string | undefined;
}

/**
 * Who a request is (`null`: nobody, for `optionalAuth`), and the headers to add to your
 * response: under `hybrid`, a renewed access cookie and the `Cache-Control` that keeps
 * caches from storing it (`private, no-store`).
 * @example
 * const latchkey = createFetchHandler({ auth, publicOrigin: "https://app.example" });
 * const who: Identified<RequestAuth | null> = await latchkey.optionalAuth(request, { ip });
 */
export interface Identified<Who> {
  auth: Who;
  headers: Headers;
}

/**
 * Runs `handler` for an authenticated request (that meets the requirement, for
 * `requireRole` and `requirePermission`) and answers the contract's error otherwise.
 * @example
 * const guarded: Protect = latchkey.protect;
 * const response = await guarded(request, { ip }, async (who) => Response.json({ user: who.userId }));
 */
export type Protect = (
  request: Request,
  info: CallInfo | undefined,
  handler: (auth: RequestAuth) => Response | Promise<Response>,
) => Promise<Response>;

/**
 * What `createFetchHandler` returns.
 * @example
 * const latchkey: FetchLatchkey = createFetchHandler({ auth, publicOrigin: "https://app.example" });
 * const response = (await latchkey.handle(request, { ip })) ?? new Response("Not found", { status: 404 });
 */
export interface FetchLatchkey {
  /**
   * The answer of latchkey's route for this request, or `null` when it is not one. Rejects
   * with a `LatchkeySetupError` when the host's set-up spoils the request (its body was
   * read before latchkey saw it).
   */
  handle(request: Request, info?: CallInfo): Promise<Response | null>;
  /**
   * Who the request is, or an `AuthError` (its `statusCode` and `code` say why). The
   * `headers` carry a renewed access cookie under `hybrid`, with `Cache-Control: private,
   * no-store`: add them to your response.
   */
  authenticate(request: Request, info?: CallInfo): Promise<Identified<RequestAuth>>;
  /**
   * Who the request is, if anyone: `null` without a credential or with one that is
   * expired, revoked or invalid. An unsafe request that presents a credential still needs
   * our origin (and a cookie one the CSRF header): an `AuthError` (403) otherwise, as a
   * store outage is (503).
   */
  optionalAuth(request: Request, info?: CallInfo): Promise<Identified<RequestAuth | null>>;
  /**
   * Runs `handler` for an authenticated request and answers the contract's error
   * otherwise; a renewed cookie (and `Cache-Control: private, no-store`) is added to the
   * handler's response, or to a copy of it when its headers cannot change
   * (`Response.redirect()`, a `fetch()` response passed on).
   */
  protect: Protect;
  /**
   * `protect` for users with one of `roles` (`403 forbidden` otherwise). An undeclared
   * role is a `TypeError` here, at set-up.
   * @example
   * const adminsOnly = latchkey.requireRole("admin");
   * const response = await adminsOnly(request, { ip }, async (who) => Response.json({ roles: who.roles }));
   */
  requireRole(...roles: string[]): Protect;
  /**
   * `protect` for users whose roles grant every one of `permissions` (`403 forbidden`
   * otherwise). An undeclared permission is a `TypeError` here, at set-up.
   * @example
   * const readers = latchkey.requirePermission("users:read");
   * const response = await readers(request, { ip }, async () => new Response("ok"));
   */
  requirePermission(...permissions: string[]): Protect;
  /** The contract's error answer for `error` (`AuthError`s keep their status and code). */
  errorResponse(error: unknown): Response;
  /** Stops the sweep this handler started (`maintenance`). */
  close(): void;
}

/**
 * @example
 * const latchkey = createFetchHandler({ auth, publicOrigin: "https://app.example", strategy: "hybrid" });
 */
export function createFetchHandler(options: FetchOptions): FetchLatchkey {
  return fetchAdapter(options).latchkey;
}

/** The cookies a refusal must carry (a session secret renewed before it), by the error thrown. */
const cookiesOfRefusal = new WeakMap<object, string[]>();

/** The `Set-Cookie` lines a thrown refusal must carry, for an adapter that hands it on (Hono's `next` mode). */
export function refusalCookies(error: unknown): readonly string[] {
  return (typeof error === "object" && error !== null && cookiesOfRefusal.get(error)) || [];
}

/** The fetch adapter and the guest it serves (the Hono adapter reads its routes). */
export function fetchAdapter(options: FetchOptions): {
  latchkey: FetchLatchkey;
  guest: Guest;
  /** `authenticate` for a caller that answers with its `headers` always (Hono's guards): it renews. */
  renewingAuthenticate: FetchLatchkey["authenticate"];
} {
  const guest = setUpGuest(options);
  const dispatcher = new Dispatcher(guest, options.log);
  const maintenance = startGuestMaintenance(options, options.log);
  const reportSetup = logOnce(options.log);
  const addressOf = (request: Request, info: CallInfo | undefined): string => {
    const ip = info?.ip ?? options.clientAddress?.(request);
    if (!ip) throw new TypeError("latchkey: pass the client's address ({ ip }) or a clientAddress option");
    return ip;
  };

  const identify = async <Who>(
    request: Request,
    info: CallInfo | undefined,
    check: (authRequest: AuthRequest, reply: CollectingReply) => Promise<Who>,
    renewsSessionSecret = false,
  ): Promise<Identified<Who>> => {
    const authRequest = authRequestOf(request.method, headersOf(request.headers), addressOf(request, info));
    // `authenticate` and `optionalAuth` hand their cookies to a caller that may drop them:
    // they never renew a session's secret. `protect` (and Hono's guards) answer
    // themselves, so they do.
    const reply = new CollectingReply({ renewsSessionSecret });
    let auth: Who;
    try {
      auth = await check(authRequest, reply);
    } catch (error) {
      // A session cookie renewed before the refusal (a CSRF failure after the renewal)
      // goes out with the refusal: `errorResponse` adds it.
      const lines = reply.cookieHeaders().map(([, line]) => line);
      if (lines.length > 0 && typeof error === "object" && error !== null) cookiesOfRefusal.set(error, lines);
      throw error;
    }
    const renewed = new Headers();
    for (const [, line] of reply.cookieHeaders()) renewed.append("set-cookie", line);
    // A response that carries a credential is never kept by a cache.
    if (renewed.has("set-cookie")) renewed.set("cache-control", RENEWED_CACHE_CONTROL);
    return { auth, headers: renewed };
  };

  const authenticateWith =
    (renews: boolean): FetchLatchkey["authenticate"] =>
    (request, info) =>
      identify(request, info, (authRequest, reply) => dispatcher.authenticate(authRequest, reply), renews);
  const authenticate = authenticateWith(false);
  const renewingAuthenticate = authenticateWith(true);
  const errorResponse = (error: unknown) => {
    const response = toResponse(dispatcher.errorAnswer(error));
    const lines = typeof error === "object" && error !== null ? cookiesOfRefusal.get(error) : undefined;
    for (const line of lines ?? []) response.headers.append("set-cookie", line);
    if (lines) response.headers.set("cache-control", RENEWED_CACHE_CONTROL);
    return response;
  };
  const protectWith =
    (requirement?: Requirement): Protect =>
    async (request, info, handler) => {
      let who: Identified<RequestAuth> | undefined;
      try {
        who = await renewingAuthenticate(request, info);
        requirement?.(who.auth);
      } catch (error) {
        return withHeaders(errorResponse(error), who?.headers ?? new Headers());
      }
      return withHeaders(await handler(who.auth), who.headers);
    };

  const latchkey: FetchLatchkey = {
    async handle(request, info) {
      try {
        const answer = await dispatcher.dispatch(factsOf(request, addressOf(request, info)));
        return answer && toResponse(answer);
      } catch (error) {
        if (error instanceof LatchkeySetupError) reportSetup(error);
        throw error;
      }
    },
    authenticate,
    optionalAuth: (request, info) =>
      identify(request, info, (authRequest, reply) =>
        authenticateOptionally(guest.context, authRequest, () => dispatcher.authenticate(authRequest, reply)),
      ),
    protect: protectWith(),
    requireRole: (...roles) => protectWith(requirementOf(options.auth, "role", roles)),
    requirePermission: (...permissions) => protectWith(requirementOf(options.auth, "permission", permissions)),
    errorResponse,
    close() {
      maintenance.stop();
      dispatcher.closeStreams();
    },
  };
  return { latchkey, guest, renewingAuthenticate };
}

/**
 * `response` with `added` on it (`set-cookie` appended, the rest set); a copy of it when its
 * headers are immutable, as those of `Response.redirect()` and of a `fetch()` response are.
 */
function withHeaders(response: Response, added: Headers): Response {
  let nothing = true;
  added.forEach(() => {
    nothing = false;
  });
  // A network error (`Response.error()`) carries no answer, and cannot be copied.
  if (nothing || response.type === "error") return response;
  const apply = (headers: Headers) => {
    for (const line of added.getSetCookie()) headers.append("set-cookie", line);
    added.forEach((value, name) => {
      if (name !== "set-cookie") headers.set(name, value);
    });
  };
  try {
    apply(response.headers);
    return response;
  } catch {
    // Immutable headers refuse the first change, before anything is added.
    const copy = new Response(response.body, response);
    apply(copy.headers);
    return copy;
  }
}

/** A `Request`'s headers as a plain object of lower-case names. */
export function headersOf(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** The dispatcher's facts of a `Request`. */
export function factsOf(request: Request, ip: string): IncomingFacts {
  const url = new URL(request.url);
  return {
    method: request.method,
    path: url.pathname,
    query: url.searchParams,
    headers: headersOf(request.headers),
    ip,
    readBody: (limit) => readRequestBody(request, limit),
  };
}

/** An answer as a `Response`. */
export function toResponse(answer: Answer): Response {
  const headers = new Headers();
  for (const [name, value] of answer.headers) headers.append(name, value);
  const { stream } = answer;
  if (stream) {
    return new Response(eventBody(stream), { status: answer.status, headers });
  }
  return new Response(answer.body, { status: answer.status, headers });
}
