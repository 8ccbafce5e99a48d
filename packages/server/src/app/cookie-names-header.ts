/**
 * `Latchkey-Set-Cookie-Names`: the names of the cookies an answer sets, for the web app's
 * "How it works" page, whose live log shows when a new access token or a rotated refresh
 * token arrives. A page's script can never read `Set-Cookie` (the Fetch standard hides it),
 * so the server says which cookies it set, by name only: never a value or an attribute.
 * A cookie cleared (`Max-Age=0`) is named with `;cleared`:
 *
 *     Latchkey-Set-Cookie-Names: __Host-at, __Host-rt
 *     Latchkey-Set-Cookie-Names: __Host-sid;cleared, __Host-at;cleared, __Host-rt;cleared, __Host-csrf;cleared
 *
 * The web app is served from this origin, so CORS does not expose the header: a trusted
 * origin's page has no use for it.
 */
import type { FastifyInstance } from "fastify";

/** The header's name (lower case, as Node sends it). */
export const SET_COOKIE_NAMES_HEADER = "latchkey-set-cookie-names";

/**
 * The header's value for a response's `Set-Cookie` lines: each name once, in order,
 * `;cleared` after one the lines clear; `undefined` when there are none.
 *
 * @example
 * setCookieNames(["__Host-at=eyJ...; Path=/; HttpOnly", "__Host-sid=; Max-Age=0; Path=/"]);
 * // "__Host-at, __Host-sid;cleared"
 */
export function setCookieNames(lines: readonly string[]): string | undefined {
  const names = new Map<string, boolean>();
  for (const line of lines) {
    const name = line.slice(0, line.indexOf("=")).trim();
    if (name !== "") names.set(name, /;\s*max-age=0\s*(;|$)/i.test(line));
  }
  if (names.size === 0) return undefined;
  return [...names].map(([name, cleared]) => (cleared ? `${name};cleared` : name)).join(", ");
}

/**
 * Adds the header to every answer that sets a cookie. Register it before the routes: a
 * root hook reaches the plugins registered after it. It costs one header lookup on an
 * answer without cookies.
 *
 * @example
 * registerSetCookieNames(app);
 */
export function registerSetCookieNames(app: FastifyInstance): void {
  app.addHook("onSend", (_request, reply, payload, done) => {
    const lines = reply.getHeader("set-cookie");
    if (lines !== undefined) {
      const value = setCookieNames([lines].flat().map(String));
      if (value !== undefined) reply.header(SET_COOKIE_NAMES_HEADER, value);
    }
    done(null, payload);
  });
}
