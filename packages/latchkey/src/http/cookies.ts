/**
 * Cookie names and attributes per strategy (contract section 5). Pure functions; the
 * plugin applies them to replies.
 *
 * Every cookie is `HttpOnly; Secure; SameSite=Lax; Path=/` with no `Domain` and the
 * `__Host-` prefix, which makes the browser refuse one set by a sibling subdomain or over
 * plain http. `__Host-csrf` alone is readable by scripts. The in-memory mode's refresh
 * cookie is the one exception to `Path=/`: it goes only to the refresh and logout routes. `COOKIE_SECURE=false` drops
 * `Secure` and with it the prefix (browsers refuse `__Host-` without `Secure`).
 */
import type { CookieOptions } from "./kit.js";

/**
 * The cookies latchkey sets.
 * @example
 * const cookieNames: Partial<CookieNames> = { session: "app_sid" }; // __Host-app_sid
 * await app.register(latchkey, { auth, publicOrigin: "https://app.example", cookieNames });
 */
export interface CookieNames {
  session: string;
  csrf: string;
  access: string;
  refresh: string;
  /** "This browser has signed in to this account before" (OWASP device cookies): see `DeviceCookies`. */
  device: string;
  /**
   * The in-memory mode's refresh token (`docs/client.md`): `HttpOnly`, sent only to the
   * refresh and logout routes (its `Path`), so it takes `__Secure-`, not `__Host-`, which
   * demands `Path=/`.
   */
  memoryRefresh: string;
  /**
   * A password sign-in waiting for its second step (`docs/accounts.md`): `HttpOnly`, five
   * minutes, so the step stays with the browser that took the first.
   */
  pending: string;
  /**
   * A passkey sign-in's challenge (`docs/accounts.md`, "Passkeys"): `HttpOnly`, five
   * minutes, so the authenticator's answer counts only from the browser that asked.
   */
  passkey: string;
}

/** The names before the prefix, unless the host chooses others. */
export const DEFAULT_COOKIE_NAMES: Readonly<CookieNames> = {
  session: "sid",
  csrf: "csrf",
  access: "at",
  refresh: "rt",
  device: "device",
  memoryRefresh: "mrt",
  pending: "signin",
  passkey: "passkey",
};

// RFC 6265's cookie-name token: no separators, spaces or controls.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

/**
 * The names of the cookies, with the `__Host-` prefix when they are `Secure`. A host may
 * rename any of them (two apps on one host, say); a name that is not a cookie token, that
 * already carries a `__Host-`/`__Secure-` prefix, or that two cookies share is a
 * `TypeError` at start.
 *
 * @example
 * cookieNames(true).session; // "__Host-sid"
 * cookieNames(false).session; // "sid"
 * cookieNames(true, { session: "app_sid" }).session; // "__Host-app_sid"
 */
export function cookieNames(secure: boolean, overrides: Partial<CookieNames> = {}): CookieNames {
  const prefix = secure ? "__Host-" : "";
  const names = { ...DEFAULT_COOKIE_NAMES };
  for (const [key, name] of Object.entries(overrides) as [keyof CookieNames, string | undefined][]) {
    if (name === undefined) continue;
    if (!(key in DEFAULT_COOKIE_NAMES)) {
      const known = Object.keys(DEFAULT_COOKIE_NAMES).join(", ");
      throw new TypeError(`latchkey: option cookieNames must name only ${known}, got "${key}"`);
    }
    if (typeof name !== "string" || !COOKIE_NAME.test(name) || /^__(host|secure)-/i.test(name)) {
      const got = typeof name === "string" ? JSON.stringify(name.slice(0, 100)) : `a ${typeof name}`;
      throw new TypeError(
        `latchkey: option cookieNames.${key} must be a cookie name (letters, digits, !#$%&'*+-.^_\`|~) without a __Host-/__Secure- prefix, got ${got}`,
      );
    }
    names[key] = name;
  }
  if (new Set(Object.values(names)).size !== Object.keys(names).length) {
    throw new TypeError("latchkey: option cookieNames must give each cookie its own name, got two alike");
  }
  return {
    session: `${prefix}${names.session}`,
    csrf: `${prefix}${names.csrf}`,
    access: `${prefix}${names.access}`,
    refresh: `${prefix}${names.refresh}`,
    device: `${prefix}${names.device}`,
    memoryRefresh: `${secure ? "__Secure-" : ""}${names.memoryRefresh}`,
    pending: `${prefix}${names.pending}`,
    passkey: `${prefix}${names.passkey}`,
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
  /** Default `/`; the in-memory mode's refresh cookie names its routes. */
  path?: string;
}): CookieOptions {
  const attributes: CookieOptions = {
    path: options.path ?? "/",
    sameSite: "lax",
    secure: options.secure,
    httpOnly: options.httpOnly,
  };
  if (options.maxAgeSeconds !== undefined) attributes.maxAge = Math.max(0, Math.floor(options.maxAgeSeconds));
  return attributes;
}
