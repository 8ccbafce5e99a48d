/**
 * The token of a mailed link (`/reset-password#token=…`, `/verify-email#token=…`,
 * `/revert-email#token=…`): taken from the address once, when the app starts, and kept in
 * memory only. The address bar loses it before any request leaves the page, so it is
 * never in a `Referer`, the history, a screenshot or a bookmark. latchkey's links carry it
 * in the fragment, which never reaches a server; a link with `?token=` (a mail client that
 * dropped the fragment, a hand-made link) works the same way.
 */

/** The pages whose links carry a token. */
export const LINK_PAGES = ["/reset-password", "/verify-email", "/revert-email"] as const;

const held = new Map<string, string>();

/** `token` from a `#token=…` fragment or a `?token=…` query, `null` for neither. */
function tokenIn(url: URL): string | null {
  const fragment = new URLSearchParams(url.hash.replace(/^#/, "")).get("token");
  return fragment || url.searchParams.get("token") || null;
}

/**
 * Takes the token out of the address bar (`history.replaceState`), keeping what else the
 * address has, and holds it for the page's path. Call it before the app's first request.
 *
 * @example
 * captureLinkToken();
 * render(<App />, root);
 */
export function captureLinkToken(): void {
  const url = new URL(location.href);
  const token = tokenIn(url);
  if (token === null) return;
  const fragment = new URLSearchParams(url.hash.replace(/^#/, ""));
  fragment.delete("token");
  url.searchParams.delete("token");
  url.hash = fragment.toString();
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  if ((LINK_PAGES as readonly string[]).includes(url.pathname)) held.set(url.pathname, token);
}

/**
 * The token the link to `path` carried, or `null` (opened without one, or after a reload:
 * the address no longer has it, and the page says to open the link from the mail again).
 *
 * @example
 * const token = linkToken("/reset-password");
 */
export function linkToken(path: string): string | null {
  return held.get(path) ?? null;
}
