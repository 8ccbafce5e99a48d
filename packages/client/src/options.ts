/**
 * The client's options, checked when the client is created, so a wrong `baseUrl` fails at
 * start with a message that names it rather than as a 404 on the first sign-in.
 */

/**
 * Where the tokens live. `"cookie"`: the server's strategy cookies (`session`, `jwt` or
 * `hybrid`), and the CSRF token in memory. `"memory"`: the access token in this page's
 * memory only, sent as `Authorization: Bearer`; the refresh token in an HttpOnly cookie the
 * page never sees.
 *
 * @example
 * const mode: Mode = "memory";
 */
export type Mode = "cookie" | "memory";

/**
 * A Web Lock manager: `navigator.locks`, or a stand-in with the same `request` (a test's,
 * or a polyfill's). The client asks for one lock, `name + ":refresh"`, around each refresh.
 *
 * @example
 * const locks: LockManagerLike = navigator.locks;
 */
export interface LockManagerLike {
  request(name: string, callback: () => Promise<unknown>): Promise<unknown>;
}

/**
 * A `BroadcastChannel`, or a stand-in with the same members: what `ClientOptions.channel`
 * makes. Messages are structured clones, delivered to the other tabs only.
 *
 * @example
 * const channel = (name: string): ChannelLike => new BroadcastChannel(name);
 */
export interface ChannelLike {
  postMessage(message: unknown): void;
  // A method's type, so a real BroadcastChannel fits: its handler takes a whole
  // MessageEvent, and a method's parameters are compared both ways (a property's are not).
  onmessage: { handler(event: { data: unknown }): void }["handler"] | null;
  close(): void;
}

/**
 * How to reach latchkey and how to hold the session. Every option has a default; the test
 * seams (`fetch`, `now`, `setTimeout`, `clearTimeout`, `locks`, `channel`) default to the
 * browser's own.
 *
 * @example
 * const options: ClientOptions = {
 *   baseUrl: "https://auth.example.com",
 *   prefix: "/api",
 *   mode: "memory",
 *   apiOrigins: ["https://api.example.com"],
 * };
 */
export interface ClientOptions {
  /** Where latchkey answers, an origin such as `"https://auth.example.com"`; default `""`, the page's origin. */
  baseUrl?: string;
  /** latchkey's `prefix` option: `"/api"` puts the routes at `/api/auth/login`; default `""`. */
  prefix?: string;
  /** `"cookie"` (default) or `"memory"`: see {@link Mode}. */
  mode?: Mode;
  /**
   * Other origins whose requests through `client.fetch` get the bearer token or the
   * credentials. The page's origin and `baseUrl`'s are always included; a request to any
   * other origin goes out untouched, so a token never reaches a third party.
   */
  apiOrigins?: string[];
  /** Seconds before the access token expires to refresh it; default 30, never more than half its lifetime. */
  refreshMargin?: number;
  /**
   * Whether an open page keeps the session alive. By default (`false`) the refresh before
   * expiry happens only when the app used the session since the last token (a request
   * through `client.fetch`): an idle page lets its token lapse and refreshes on its next
   * request, so latchkey's idle timeout still ends a session nobody uses, open tab or
   * not. `true` refreshes before every expiry, used or not: signed in while a tab is open.
   */
  keepAlive?: boolean;
  /** The BroadcastChannel and Web Lock name; default `"latchkey:" + baseUrl's origin + prefix`. */
  name?: string;
  /** Test seam: the `fetch` used for every request. */
  fetch?: typeof fetch;
  /** Test seam: the clock, in milliseconds since the epoch. */
  now?: () => number;
  /** Test seam: the timer that schedules refreshes. */
  setTimeout?: typeof setTimeout;
  /** Test seam: cancels a timer of `setTimeout`. */
  clearTimeout?: typeof clearTimeout;
  /** `navigator.locks` by default; `null` for none (refreshes are then single-flight within the tab only). */
  locks?: LockManagerLike | null;
  /** Makes the channel the tabs talk on; `BroadcastChannel` by default, `null` for none. */
  channel?: ((name: string) => ChannelLike) | null;
}

/**
 * The options, checked, with their defaults.
 *
 * @example
 * const { root, origins } = settle({ baseUrl: "https://auth.example.com", prefix: "/api" });
 */
export interface Settings {
  /** `baseUrl + prefix`, which every route path follows. */
  root: string;
  memory: boolean;
  /** Origins `client.fetch` adds credentials for. */
  origins: Set<string>;
  /** Resolves a relative URL: the page's address, else `baseUrl`. */
  base: string | undefined;
  margin: number;
  keepAlive: boolean;
  name: string;
}

/** What the browser offers, read without the DOM's types so Node's type check reads it too. */
interface BrowserGlobals {
  location?: { origin: string; href: string };
  navigator?: { locks?: LockManagerLike };
  BroadcastChannel?: new (name: string) => ChannelLike;
}

/**
 * The browser's globals, or `undefined` for those it lacks (a worker has no `location`).
 *
 * @example
 * const here = browser.location?.origin;
 */
export const browser = globalThis as BrowserGlobals;

function fail(option: string, rule: string, value: unknown): never {
  throw new TypeError(`latchkey client: ${option} ${rule}; got ${JSON.stringify(value)}.`);
}

/** `value` as an origin, or a `TypeError` naming `option`. */
function originOf(option: string, value: unknown): string {
  let url: URL | undefined;
  try {
    url = new URL(String(value));
  } catch {}
  const bare = typeof value === "string" ? value.replace(/\/$/, "") : "";
  if (!url || !/^https?:$/.test(url.protocol) || url.origin !== bare) {
    fail(option, 'must be an origin such as "https://auth.example.com" (no path: put it in prefix)', value);
  }
  return url.origin;
}

/**
 * Checks the options and fills in their defaults.
 *
 * @example
 * const settings = settle({ baseUrl: "https://auth.example.com", prefix: "/api" });
 */
export function settle(options: ClientOptions): Settings {
  const {
    baseUrl = "",
    prefix = "",
    mode = "cookie",
    apiOrigins = [],
    refreshMargin = 30,
    keepAlive = false,
  } = options;
  const origin = baseUrl === "" ? browser.location?.origin : originOf("baseUrl", baseUrl);
  if (typeof prefix !== "string" || !/^(\/[^/?#\s]+)*$/.test(prefix)) {
    fail("prefix", 'must be "" or a path such as "/api" (a leading slash, none at the end)', prefix);
  }
  if (mode !== "cookie" && mode !== "memory") fail("mode", 'must be "cookie" or "memory"', mode);
  if (!Array.isArray(apiOrigins)) fail("apiOrigins", "must be an array of origins", apiOrigins);
  if (typeof refreshMargin !== "number" || !(refreshMargin >= 0) || refreshMargin === Infinity) {
    fail("refreshMargin", "must be a number of seconds, 0 or more", refreshMargin);
  }
  if (typeof keepAlive !== "boolean") fail("keepAlive", "must be true or false", keepAlive);
  const name = options.name ?? `latchkey:${origin ?? ""}${prefix}`;
  if (typeof name !== "string" || name === "") fail("name", "must be a non-empty string", name);
  const origins = new Set(apiOrigins.map((value) => originOf("apiOrigins", value)));
  for (const own of [browser.location?.origin, origin]) if (own) origins.add(own);
  return {
    root: `${origin ?? ""}${prefix}`,
    memory: mode === "memory",
    origins,
    base: browser.location?.href ?? origin,
    margin: refreshMargin,
    keepAlive,
    name,
  };
}
