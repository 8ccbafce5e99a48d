/**
 * latchkey's routes as data: method, path, schemas and one framework-free handler each,
 * run for every adapter by the core (`src/http/dispatch.ts`). The Fastify plugin also
 * registers them as Fastify routes, so Fastify's router finds them and its serialisers,
 * compiled from the response schemas, write their JSON.
 */
import type { TSchema } from "@sinclair/typebox";
import type { RequestAuth } from "../context.js";
import type { AuthReply, AuthRequest } from "../kit.js";
import type { SecurityRequirement } from "../schemas.js";

/**
 * The groups a host may switch off (`routes: { register: false }`). `core` (login, logout,
 * the user's sessions and events, refresh, the JWKS) is always on.
 * @example
 * const group: RouteGroup = "services";
 */
export type RouteGroup =
  | "core"
  | "register"
  | "password"
  | "account"
  | "email"
  | "factors"
  | "tokens"
  | "services"
  | "explain"
  | "admin";

/**
 * The groups a host may switch, each on by default (`explain` needs a `policy`).
 * @example
 * const routes: RouteSwitches = { register: false, tokens: false, services: false, admin: false };
 */
export type RouteSwitches = Partial<Record<Exclude<RouteGroup, "core">, boolean>>;

/** One route. */
export interface RouteSpec<Body = unknown, Query = unknown, Params = unknown> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** The path without the host's `prefix`: `/auth/...` or `/.well-known/jwks.json`. */
  path: string;
  group: RouteGroup;
  /** The caller must be authenticated (`requireAuth` runs first). */
  auth?: boolean;
  /** Callable from a `corsOrigins` origin without a bearer header. */
  cors?: boolean;
  /** May answer with an `EventStream` (Server-Sent Events) instead of JSON. */
  streams?: boolean;
  /** Also takes `application/x-www-form-urlencoded` bodies (the OAuth endpoints). */
  forms?: boolean;
  /** The body is checked by the handler (an optional body), not before it. */
  bodyCheckedByHandler?: boolean;
  /** The OpenAPI fields and the request and response schemas. */
  schema: {
    tags: string[];
    /** Stable and readable: what a generated client names the call. */
    operationId: string;
    summary: string;
    description: string;
    /** Who may call it (`SECURITY` in ../schemas.ts). */
    security: readonly SecurityRequirement[];
    body?: TSchema;
    querystring?: TSchema;
    params?: TSchema;
    response: Record<number, unknown>;
  };
  /** Returns the JSON body; or calls `reply.send()` for 204 and returns what it returns. */
  handler(request: AuthRequest<Body, Query, Params>, reply: AuthReply): Promise<unknown>;
}

/** Keeps a route's body, query and params types for its handler, then erases them. */
export function route<Body = unknown, Query = unknown, Params = unknown>(
  spec: RouteSpec<Body, Query, Params>,
): RouteSpec {
  return spec as unknown as RouteSpec;
}

/**
 * A `prefix` option checked and normalised: `""` or a path of segments without a trailing
 * slash (`/api`, `/v1/id`), as Fastify's own `prefix` is.
 *
 * @example
 * parsePrefix("/api/"); // "/api"
 */
export function parsePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === "" || prefix === "/") return "";
  const isPath = typeof prefix === "string" && /^(\/[A-Za-z0-9._~-]+)+\/?$/.test(prefix);
  if (!isPath || prefix.split("/").some((segment) => segment === "." || segment === "..")) {
    const got = typeof prefix === "string" ? JSON.stringify(prefix.slice(0, 100)) : `a ${typeof prefix}`;
    throw new TypeError(`latchkey: option prefix must be a path such as "/api", got ${got}`);
  }
  return prefix.replace(/\/$/, "");
}

/** The path of a route under the host's `prefix`. */
export function routePath(spec: Pick<RouteSpec, "path">, prefix: string): string {
  return `${prefix}${spec.path}`;
}

/** Whether the host left a route's group on. */
export function isRouteOn(spec: Pick<RouteSpec, "group">, switches: RouteSwitches): boolean {
  return spec.group === "core" || switches[spec.group] !== false;
}

/** `request.auth` after `requireAuth`, which guarantees it is set. */
export function who(request: Pick<AuthRequest, "auth">): RequestAuth {
  if (!request.auth) throw new Error("latchkey: a route that needs auth ran without requireAuth");
  return request.auth;
}

/**
 * The caller of a route that acts on the account or its sessions, once its session is
 * confirmed live in the store: a signed access token alone proves only that the session
 * was live when it was issued, and under `REVOCATION=expiry` an ended session's token
 * still verifies. Throws `unauthenticated` (cookie) or `invalid_token` (bearer) when the
 * session has ended; free after a session-cookie check, which read it already.
 */
export async function liveCaller(request: Pick<AuthRequest, "auth">): Promise<{ userId: string; sessionId: string }> {
  const { user, session } = await who(request).load();
  return { userId: user.id, sessionId: session.id };
}
