/**
 * Cross-site request checks (contract section 6), as pure functions over headers.
 */
import { getDomain } from "tldts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Whether a method can change state. */
export function isUnsafeMethod(method: string): boolean {
  return !SAFE_METHODS.has(method);
}

/** What the origin check needs to know about a request. */
export interface OriginFacts {
  origin: string | undefined;
  fetchSite: string | undefined;
}

/**
 * Whether an unsafe request comes from another site: an `Origin` other than ours (`null`
 * included), or the browser's own word `Sec-Fetch-Site: cross-site`.
 *
 * @example
 * isCrossSite({ origin: "https://evil.example", fetchSite: undefined }, "http://localhost:3000"); // true
 */
export function isCrossSite(facts: OriginFacts, publicOrigin: string): boolean {
  if (facts.origin !== undefined && facts.origin !== publicOrigin) return true;
  return facts.fetchSite?.toLowerCase() === "cross-site";
}

/**
 * Normalises an origin setting (`https://Example.com/` → `https://example.com`).
 * Throws `TypeError` when the value is not an http(s) origin.
 *
 * @example
 * parseOrigin("http://localhost:3000/"); // "http://localhost:3000"
 */
export function parseOrigin(value: string): string {
  const url = new URL(value);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError("not an http(s) URL");
  if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) {
    throw new TypeError("an origin has no path, query, fragment or credentials");
  }
  return url.origin;
}

/**
 * Whether two origins are the same site as browsers judge it for `SameSite` cookies: the
 * same scheme, and the same host or the same registrable domain (one label under a
 * public suffix, by the Public Suffix List, private entries such as `github.io` included,
 * so `a.github.io` and `b.github.io` are two sites). Ports do not count.
 *
 * @example
 * isSameSite("https://app.example.com", "https://auth.example.com"); // true
 * isSameSite("http://localhost:5173", "http://localhost:3000"); // true
 * isSameSite("https://a.github.io", "https://b.github.io"); // false
 */
export function isSameSite(a: string, b: string): boolean {
  const x = new URL(a);
  const y = new URL(b);
  if (x.protocol !== y.protocol) return false;
  // A fully qualified name (`app.example.com.`) is another host to a browser's cookies.
  if (x.hostname.endsWith(".") || y.hostname.endsWith(".")) return x.hostname === y.hostname;
  if (x.hostname === y.hostname) return true;
  const site = getDomain(x.hostname, { allowPrivateDomains: true });
  return site !== null && site === getDomain(y.hostname, { allowPrivateDomains: true });
}
