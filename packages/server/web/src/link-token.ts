/**
 * The token of a mailed link (`/reset-password#token=…`, `/verify-email#token=…`,
 * `/revert-email#token=…`): taken from the address once, when the app starts, and kept in
 * memory only. The address bar loses it before any request leaves the page, so it is
 * never in a `Referer`, the history, a screenshot or a bookmark. latchkey's links carry it
 * in the fragment, which never reaches a server; a link with `?token=` (a mail client that
 * dropped the fragment, a hand-made link) works the same way.
 */

import { useEffect, useState } from "preact/hooks";

/** The pages whose links carry a token. */
export const LINK_PAGES = ["/reset-password", "/verify-email", "/revert-email"] as const;

const held = new Map<string, string>();
/** Counts the tokens taken: a page keyed by it starts afresh for a new link. */
let taken = 0;
const listeners = new Set<() => void>();

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
export function captureLinkToken(): boolean {
  const url = new URL(location.href);
  const token = tokenIn(url);
  if (token === null) return false;
  const fragment = new URLSearchParams(url.hash.replace(/^#/, ""));
  fragment.delete("token");
  url.searchParams.delete("token");
  url.hash = fragment.toString();
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  if ((LINK_PAGES as readonly string[]).includes(url.pathname)) held.set(url.pathname, token);
  taken += 1;
  return true;
}

// A link opened in a tab already on its page changes only the fragment: no new page load,
// so the token is taken (and the address bar cleared) here, and the page starts afresh.
addEventListener("hashchange", () => {
  if (!captureLinkToken()) return;
  for (const listener of listeners) listener();
});

/**
 * How many link tokens the app has taken, re-rendering when a new one comes: key a link
 * page by it, and a second link opened in the same tab is read like the first.
 *
 * @example
 * const version = useLinkVersion();
 * return <ResetPassword key={version} />;
 */
export function useLinkVersion(): number {
  const [version, setVersion] = useState(taken);
  useEffect(() => {
    const update = () => setVersion(taken);
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return version;
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
