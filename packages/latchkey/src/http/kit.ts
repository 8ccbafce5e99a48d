/**
 * The request and reply shapes latchkey's HTTP layer is written against. They name only
 * what latchkey reads and writes, so one implementation of every route and check serves
 * each framework: the core (`src/http/dispatch.ts`) builds them from the facts every
 * adapter hands it.
 */
import type { RequestAuth } from "./context.js";

/**
 * The attributes of a cookie latchkey sets (as the `cookie` package names them).
 * @example
 * const options: CookieOptions = { path: "/", sameSite: "lax", secure: true, httpOnly: true, maxAge: 3600 };
 */
export interface CookieOptions {
  path: string;
  sameSite: "lax" | "strict" | "none";
  secure: boolean;
  httpOnly: boolean;
  /** Seconds; absent for a session cookie, `0` to clear. */
  maxAge?: number;
}

/** What latchkey reads of a request. Header names are lower case. */
export interface AuthRequest<Body = unknown, Query = unknown, Params = unknown> {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly cookies: Readonly<Record<string, string | undefined>>;
  /** The client's address, as far as the host's proxy trust goes. */
  readonly ip: string;
  readonly body: Body;
  readonly query: Query;
  readonly params: Params;
  /** Who the request is: set by `requireAuth`, `null` before it. */
  auth: RequestAuth | null;
}

/** What latchkey writes to a reply. */
export interface AuthReply {
  code(status: number): AuthReply;
  header(name: string, value: string): AuthReply;
  setCookie(name: string, value: string, options: CookieOptions): AuthReply;
  /** Ends the reply without a body (204). */
  send(): AuthReply;
}

/** Where cookies and headers go when a check (not a route) sets them: `requireAuth`. */
export type CookieSink = Pick<AuthReply, "setCookie"> & {
  /**
   * `false` when nothing the sink collects is sure to reach the browser (the fetch
   * adapter's `authenticate` and `optionalAuth`, whose caller may drop their `headers`):
   * then a session's secret is not renewed on this request, since a renewal the browser
   * never gets would later read as a stolen copy.
   */
  readonly renewsSessionSecret?: boolean;
};

/**
 * What a route returns to answer with a stream of Server-Sent Events instead of JSON. The
 * adapters write its chunks as they come and call `close()` when the client goes away.
 *
 * @example
 * return new EventStream(chunks, () => controller.abort());
 */
export class EventStream {
  readonly chunks: AsyncIterable<string>;
  readonly close: () => void;

  constructor(chunks: AsyncIterable<string>, close: () => void) {
    this.chunks = chunks;
    this.close = close;
  }
}

/**
 * How long a client may take nothing from an event stream before its connection is
 * closed, ms. Heartbeats are a few bytes every 2 s: only a client that stopped reading (or
 * a connection that died without a word) fills its buffers and then stalls this long.
 */
export const STREAM_STALL_MS = 10_000;

/** The headers of an event stream: never cached, never buffered by a proxy (nginx). */
export const EVENT_STREAM_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  "x-accel-buffering": "no",
};
