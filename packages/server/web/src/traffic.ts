/**
 * The web app's own auth traffic, for the "How it works" page's live log: every request
 * the latchkey client sends (its `fetch` seam, so refreshes and retries too), with its
 * method, path, status, and the names of the cookies its answer set. The browser never
 * lets a script read `Set-Cookie`; the server names them in `Latchkey-Set-Cookie-Names`
 * (packages/server/src/app/cookie-names-header.ts), never with a value. The log lives in
 * this tab's memory only, the last `LIMIT` requests, and goes with the tab.
 */

/** One request of the app, as the log shows it. */
export interface TrafficEntry {
  /** Increases by one per request of this tab. */
  id: number;
  /** When the answer came, ms since the epoch. */
  at: number;
  method: string;
  /** The path alone: no query string, no host. */
  path: string;
  /** The answer's status; `0` when none came (offline). */
  status: number;
  /** The cookies the answer set, by name; `cleared` for one it removed. */
  cookies: { name: string; cleared: boolean }[];
}

/** How many requests the log keeps. */
const LIMIT = 200;

const log: TrafficEntry[] = [];
const listeners = new Set<(entry: TrafficEntry) => void>();
let counter = 0;

/**
 * `fetch`, recording each request in the log once its answer (or failure) comes. Given to
 * `createLatchkeyClient` as its `fetch`, it sees every request of the client; it reads
 * nothing of a body and changes nothing of the request or answer.
 *
 * @example
 * const latchkey = createLatchkeyClient({ fetch: loggingFetch });
 */
export async function loggingFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
  const url = new URL(input instanceof Request ? input.url : String(input), location.href);
  try {
    const response = await fetch(input, init);
    record(method, url.pathname, response.status, cookiesOf(response.headers.get("latchkey-set-cookie-names")));
    return response;
  } catch (error) {
    record(method, url.pathname, 0, []);
    throw error;
  }
}

/**
 * The log so far, oldest first.
 *
 * @example
 * const last = trafficLog().at(-1);
 */
export function trafficLog(): readonly TrafficEntry[] {
  return log;
}

/**
 * Calls `listener` with every request from now on; returns what stops it.
 *
 * @example
 * useEffect(() => onTraffic((entry) => setEntries([...trafficLog()])), []);
 */
export function onTraffic(listener: (entry: TrafficEntry) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * `Latchkey-Set-Cookie-Names` read: `__Host-at, __Host-sid;cleared`.
 *
 * @example
 * cookiesOf("__Host-at, __Host-sid;cleared"); // [{ name: "__Host-at", cleared: false }, { name: "__Host-sid", cleared: true }]
 */
export function cookiesOf(header: string | null): TrafficEntry["cookies"] {
  if (!header) return [];
  return header
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")
    .map((item) => {
      const [name = "", ...flags] = item.split(";").map((part) => part.trim());
      return { name, cleared: flags.includes("cleared") };
    });
}

function record(method: string, path: string, status: number, cookies: TrafficEntry["cookies"]): void {
  const entry: TrafficEntry = { id: ++counter, at: Date.now(), method, path, status, cookies };
  log.push(entry);
  if (log.length > LIMIT) log.splice(0, log.length - LIMIT);
  for (const listener of [...listeners]) listener(entry);
}
