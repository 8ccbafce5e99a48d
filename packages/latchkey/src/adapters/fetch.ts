/**
 * latchkey for any server that speaks the web platform's `Request` and `Response`: Next.js
 * route handlers, Bun, Deno, Cloudflare-style workers, or Node's `http` with a small
 * bridge. No framework is loaded.
 *
 * @example
 * import { createFetchHandler } from "latchkey/fetch";
 *
 * const latchkey = createFetchHandler({ auth, publicOrigin: "https://app.example" });
 * export async function handler(request: Request, ip: string): Promise<Response> {
 *   const answered = await latchkey.handle(request, { ip });
 *   if (answered) return answered;
 *   return latchkey.protect(request, { ip }, async (who) => Response.json({ user: who.userId }));
 * }
 */
import type { RequestAuth } from "../http/context.js";
import {
  type Answer,
  CollectingReply,
  cookiesOf,
  Dispatcher,
  type GuestLog,
  type IncomingFacts,
  PayloadTooLarge,
} from "../http/dispatch.js";
import { type LatchkeyOptions, setUpGuest, startGuestMaintenance } from "../http/guest.js";
import { type AuthRequest, type EventStream, STREAM_STALL_MS } from "../http/kit.js";

/**
 * Options of `createFetchHandler`.
 * @example
 * const options: FetchOptions = {
 *   auth,
 *   publicOrigin: "https://app.example",
 *   clientAddress: (r) => r.headers.get("x-real-ip") ?? undefined,
 * };
 */
export interface FetchOptions extends LatchkeyOptions {
  /**
   * The client's address for a request, when the call does not pass one (`{ ip }`): the
   * address behind your proxy, as your platform tells it. Per-address limits count by it,
   * so it must be the real client, never a header the client wrote unchecked.
   */
  clientAddress?: (request: Request) => string | undefined;
  /** Where latchkey logs a store outage (`warn`) or a bug (`error`); pino fits. */
  log?: GuestLog;
}

/**
 * Per-call facts the platform knows and the `Request` does not.
 * @example
 * const info: CallInfo = { ip: "192.0.2.1" };
 */
export interface CallInfo {
  /** The client's address. */
  ip?: string;
}

/**
 * What `createFetchHandler` returns.
 * @example
 * const latchkey: FetchLatchkey = createFetchHandler({ auth, publicOrigin: "https://app.example" });
 * const response = (await latchkey.handle(request, { ip })) ?? new Response("Not found", { status: 404 });
 */
export interface FetchLatchkey {
  /** The answer of latchkey's route for this request, or `null` when it is not one. */
  handle(request: Request, info?: CallInfo): Promise<Response | null>;
  /**
   * Who the request is, or an `AuthError` (its `statusCode` and `code` say why). The
   * `headers` carry a renewed access cookie under `hybrid`: add them to your response.
   */
  authenticate(request: Request, info?: CallInfo): Promise<{ auth: RequestAuth; headers: Headers }>;
  /**
   * Runs `handler` for an authenticated request and answers the contract's error
   * otherwise; a renewed cookie is added to the handler's response.
   */
  protect(
    request: Request,
    info: CallInfo | undefined,
    handler: (auth: RequestAuth) => Response | Promise<Response>,
  ): Promise<Response>;
  /** The contract's error answer for `error` (`AuthError`s keep their status and code). */
  errorResponse(error: unknown): Response;
  /** Stops the sweep this handler started (`maintenance`). */
  close(): void;
}

/**
 * @example
 * const latchkey = createFetchHandler({ auth, publicOrigin: "https://app.example", strategy: "hybrid" });
 */
export function createFetchHandler(options: FetchOptions): FetchLatchkey {
  const guest = setUpGuest(options);
  const dispatcher = new Dispatcher(guest, options.log);
  const maintenance = startGuestMaintenance(options, options.log);
  const addressOf = (request: Request, info: CallInfo | undefined): string => {
    const ip = info?.ip ?? options.clientAddress?.(request);
    if (!ip) throw new TypeError("latchkey: pass the client's address ({ ip }) or a clientAddress option");
    return ip;
  };

  const authenticate: FetchLatchkey["authenticate"] = async (request, info) => {
    const url = new URL(request.url);
    const headers = headersOf(request.headers);
    const authRequest: AuthRequest = {
      method: request.method,
      headers,
      cookies: cookiesOf(headers),
      ip: addressOf(request, info),
      body: undefined,
      query: Object.fromEntries(url.searchParams),
      params: {},
      auth: null,
    };
    const reply = new CollectingReply();
    const auth = await dispatcher.authenticate(authRequest, reply);
    const renewed = new Headers();
    for (const [, line] of reply.cookieHeaders()) renewed.append("set-cookie", line);
    return { auth, headers: renewed };
  };

  const errorResponse = (error: unknown) => toResponse(dispatcher.errorAnswer(error));

  return {
    async handle(request, info) {
      const answer = await dispatcher.dispatch(factsOf(request, addressOf(request, info)));
      return answer && toResponse(answer);
    },
    authenticate,
    async protect(request, info, handler) {
      let who: { auth: RequestAuth; headers: Headers };
      try {
        who = await authenticate(request, info);
      } catch (error) {
        return errorResponse(error);
      }
      const response = await handler(who.auth);
      for (const line of who.headers.getSetCookie()) response.headers.append("set-cookie", line);
      return response;
    },
    errorResponse,
    close() {
      maintenance.stop();
      dispatcher.closeStreams();
    },
  };
}

/** A `Request`'s headers as a plain object of lower-case names. */
export function headersOf(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/** The dispatcher's facts of a `Request`. */
export function factsOf(request: Request, ip: string): IncomingFacts {
  const url = new URL(request.url);
  return {
    method: request.method,
    path: url.pathname,
    query: url.searchParams,
    headers: headersOf(request.headers),
    ip,
    readBody: (limit) => readLimited(request, limit),
  };
}

/** An answer as a `Response`. */
export function toResponse(answer: Answer): Response {
  const headers = new Headers();
  for (const [name, value] of answer.headers) headers.append(name, value);
  const { stream } = answer;
  if (stream) {
    return new Response(eventBody(stream), { status: answer.status, headers });
  }
  return new Response(answer.body, { status: answer.status, headers });
}

/**
 * An event stream as a body, pulled as the server writes it: a chunk is made only when the
 * last one was taken, and a consumer that takes nothing for `STREAM_STALL_MS` has the
 * body errored, which ends its connection.
 */
function eventBody(stream: EventStream): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const chunks = stream.chunks[Symbol.asyncIterator]();
  let pulling = false;
  let idleSince = Date.now();
  let watchdog: NodeJS.Timeout | undefined;
  const end = () => {
    clearInterval(watchdog);
    stream.close();
    void chunks.return?.(undefined);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      watchdog = setInterval(() => {
        if (pulling || Date.now() - idleSince < STREAM_STALL_MS) return;
        controller.error(new Error("the client took nothing from the event stream"));
        end();
      }, STREAM_STALL_MS / 4);
      watchdog.unref();
    },
    async pull(controller) {
      pulling = true;
      try {
        const next = await chunks.next();
        if (next.done) {
          clearInterval(watchdog);
          controller.close();
        } else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        clearInterval(watchdog);
        controller.error(error);
        stream.close();
      } finally {
        pulling = false;
        idleSince = Date.now();
      }
    },
    cancel: end,
  });
}

async function readLimited(request: Request, limit: number): Promise<Uint8Array | null> {
  if (!request.body) return null;
  const declared = Number(request.headers.get("content-length"));
  if (declared > limit) throw new PayloadTooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw new PayloadTooLarge();
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}
