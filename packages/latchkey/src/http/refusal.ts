/**
 * What a host's protected route does with a refusal (`requireAuthWith`): answer it in the
 * contract's format (`requireAuth`), hand it to the host's own error handling, or send a
 * browser that is not signed in to a sign-in page.
 */
import { AuthError } from "../core/errors.js";

/**
 * How `requireAuthWith` treats a refusal. `answer`: latchkey answers it (401/403/429/503
 * in the contract's format), as `requireAuth` does outside Fastify. `next`: the `AuthError`
 * (with `statusCode` and `code`) goes to the host's error handling (Express's `next(error)`,
 * Hono's `onError`, Fastify's error handler, as Fastify's `requireAuth` does). `redirect`: a GET (or HEAD) refused as `unauthenticated` is answered
 * `303 See Other` to that path on this site, with the path it asked for as `next`; every
 * other refusal is answered as usual.
 *
 * @example
 * const toSignIn: RefusalOptions = { redirect: "/sign-in" }; // GET /notes -> 303 /sign-in?next=%2Fnotes
 */
export type RefusalOptions = { onRefusal: "answer" } | { onRefusal: "next" } | { redirect: string };

/** `RefusalOptions`, checked: what to do, and where a redirect goes. */
export type RefusalMode = { kind: "answer" } | { kind: "next" } | { kind: "redirect"; to: URL };

// Any base does: only the path and query of a parsed site path are used.
const SITE = "http://site.invalid";

/**
 * Checks `requireAuthWith`'s options when the host builds the middleware (a `TypeError`
 * naming the bad one), so a wrong redirect fails at start-up, not at a user's request.
 *
 * @example
 * refusalMode({ redirect: "/sign-in" }); // { kind: "redirect", to: URL }
 */
export function refusalMode(options: RefusalOptions): RefusalMode {
  if (options && "redirect" in options) {
    const to = options.redirect;
    if (typeof to !== "string" || !isSitePath(to)) {
      throw new TypeError(`latchkey: requireAuthWith's redirect must be a path on this site, such as "/sign-in"`);
    }
    return { kind: "redirect", to: new URL(to, SITE) };
  }
  const onRefusal = (options as { onRefusal?: unknown } | undefined)?.onRefusal;
  if (onRefusal === "answer" || onRefusal === "next") return { kind: onRefusal };
  throw new TypeError(`latchkey: requireAuthWith takes { onRefusal: "answer" | "next" } or { redirect: "/sign-in" }`);
}

/**
 * The `Location` of the redirect for a refusal, or `null` when the refusal is answered as
 * usual: only a GET or HEAD refused as `unauthenticated` (a browser with no live session;
 * an API client's bad bearer token is `invalid_token` and gets its 401). `target` is the
 * request's path and query; one that is not a path on this site (`//evil.example`) comes
 * back as `/`, so the sign-in page can never be made to send the user elsewhere.
 *
 * @example
 * redirectLocation(mode, "GET", "/notes?page=2", error); // "/sign-in?next=%2Fnotes%3Fpage%3D2"
 */
export function redirectLocation(mode: RefusalMode, method: string, target: string, error: unknown): string | null {
  if (mode.kind !== "redirect" || (method !== "GET" && method !== "HEAD")) return null;
  if (!(error instanceof AuthError) || error.code !== "unauthenticated") return null;
  const location = new URL(mode.to);
  location.searchParams.set("next", isSitePath(target) ? target : "/");
  return `${location.pathname}${location.search}${location.hash}`;
}

/**
 * A path on this site: `/` then not another `/` or `\` (which browsers read as another
 * host), and no control character (browsers drop a tab or newline: `/\t/evil.example`).
 */
function isSitePath(path: string): boolean {
  return /^\/(?![/\\])/.test(path) && !/\p{Cc}/u.test(path);
}
