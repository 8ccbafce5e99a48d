/**
 * Cookie names and attributes per strategy (contract section 5). Pure functions; the
 * plugin applies them to replies.
 *
 * Every cookie is `HttpOnly; Secure; SameSite=Lax; Path=/` with no `Domain` and the
 * `__Host-` prefix, which makes the browser refuse one set by a sibling subdomain or over
 * plain http. `__Host-csrf` alone is readable by scripts. `COOKIE_SECURE=false` drops
 * `Secure` and with it the prefix (browsers refuse `__Host-` without `Secure`).
 */
import type { CookieSerializeOptions } from "@fastify/cookie";

/** The cookies latchkey sets. */
export interface CookieNames {
  session: string;
  csrf: string;
  access: string;
  refresh: string;
  /** "This browser has signed in to this account before" (OWASP device cookies): see `DeviceCookies`. */
  device: string;
}

/**
 * @example
 * cookieNames(true).session; // "__Host-sid"
 * cookieNames(false).session; // "sid"
 */
export function cookieNames(secure: boolean): CookieNames {
  const prefix = secure ? "__Host-" : "";
  return {
    session: `${prefix}sid`,
    csrf: `${prefix}csrf`,
    access: `${prefix}at`,
    refresh: `${prefix}rt`,
    device: `${prefix}device`,
  };
}

/**
 * Attributes of a cookie. `maxAgeSeconds` undefined makes a session cookie; `0` clears.
 *
 * @example
 * cookieAttributes({ secure: true, httpOnly: true, maxAgeSeconds: 3600 });
 */
export function cookieAttributes(options: {
  secure: boolean;
  httpOnly: boolean;
  maxAgeSeconds?: number;
}): CookieSerializeOptions {
  const attributes: CookieSerializeOptions = {
    path: "/",
    sameSite: "lax",
    secure: options.secure,
    httpOnly: options.httpOnly,
  };
  if (options.maxAgeSeconds !== undefined) attributes.maxAge = Math.max(0, Math.floor(options.maxAgeSeconds));
  return attributes;
}
