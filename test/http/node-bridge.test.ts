/**
 * `toNodeHandler` (issue 25 item 11): `latchkey/fetch` served by `node:http` through the
 * shipped bridge, on a real socket with a real keep-alive agent. A body latchkey refuses
 * past 64 KiB (413) leaves the connection serving the next request, whether its size was
 * declared or chunked; request and response bodies stream with backpressure; an event
 * stream ends when its client goes away; a handler's throw is a 500.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFetchHandler, type FetchLatchkey } from "../../packages/latchkey/src/adapters/fetch.js";
import { toNodeHandler } from "../../packages/latchkey/src/adapters/node.js";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { closing, hostCore, listening, ORIGIN, PASSWORD } from "../helpers/host-app.js";
import { basic, subscribe } from "../helpers/sse.js";

let server: Server;
let base: string;
let auth: Auth;
let latchkey: FetchLatchkey;
const thrown: unknown[] = [];
/** How many bytes the download route's body has had pulled from it. */
let pulled = 0;

beforeAll(async () => {
  auth = await hostCore(createMemoryStores(), { streams: { perService: 1 } });
  latchkey = createFetchHandler({ auth, publicOrigin: ORIGIN, maintenance: false });
  server = createServer(
    toNodeHandler(
      async (request, { ip }) => {
        const answered = await latchkey.handle(request, { ip });
        if (answered) return answered;
        return hostRoute(request);
      },
      { onError: (error) => thrown.push(error) },
    ),
  );
  base = await listening(server);
});
afterAll(async () => {
  latchkey.close();
  await closing(server);
});

async function hostRoute(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/hello") return new Response("hello");
  if (url.pathname === "/boom") throw new Error("host boom");
  if (url.pathname === "/framed") {
    // A proxied answer that keeps the upstream's framing header.
    return new Response("hello", { headers: { "transfer-encoding": "chunked" } });
  }
  if (url.pathname === "/strings") {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue("str");
        controller.enqueue("ings");
        controller.close();
      },
    });
    return new Response(body as unknown as ReadableStream<Uint8Array>, { headers: { "content-type": "text/plain" } });
  }
  if (url.pathname === "/later") {
    // A body whose chunks come later: streamed as they come.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.enqueue(new TextEncoder().encode("later"));
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain" } });
  }
  if (url.pathname === "/upload") {
    let bytes = 0;
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
    return Response.json({ bytes });
  }
  if (url.pathname === "/download") {
    const total = Number(url.searchParams.get("mib")) * 1024 * 1024;
    const chunk = new Uint8Array(64 * 1024);
    pulled = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (pulled >= total) return controller.close();
          pulled += chunk.byteLength;
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { headers: { "content-type": "application/octet-stream" } });
  }
  return new Response("not found", { status: 404 });
}

interface Sent {
  status: number;
  text: string;
  reused: boolean;
}

/** One request through `agent`; `chunks` are written one by one (chunked unless `length` is declared). */
function send(
  agent: Agent,
  method: string,
  path: string,
  options: { chunks?: Buffer[]; length?: number; headers?: Record<string, string> } = {},
): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, {
      method,
      agent,
      headers: {
        origin: ORIGIN,
        ...(options.chunks && { "content-type": "application/json" }),
        ...(options.length !== undefined && { "content-length": String(options.length) }),
        ...options.headers,
      },
    });
    req.setTimeout(3000, () => req.destroy(new Error(`${method} ${path}: no answer within 3 s`)));
    req.on("error", reject);
    req.on("response", (res: IncomingMessage) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (part: string) => {
        text += part;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text, reused: req.reusedSocket }));
    });
    void (async () => {
      for (const chunk of options.chunks ?? []) {
        if (req.destroyed) return;
        if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
      }
      req.end();
    })();
  });
}

const jsonChunks = (bytes: number, size = 16 * 1024): Buffer[] => {
  const text = Buffer.from(JSON.stringify({ username: "x".repeat(bytes), password: PASSWORD }));
  const chunks: Buffer[] = [];
  for (let at = 0; at < text.length; at += size) chunks.push(text.subarray(at, at + size));
  return chunks;
};

describe("issue 25 item 11: toNodeHandler", () => {
  it("a 413 for a body declared past 64 KiB, then the next request on the same keep-alive connection is answered", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await send(agent, "GET", "/hello")).status).toBe(200);
      const chunks = jsonChunks(100 * 1024);
      const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      const refused = await send(agent, "POST", "/auth/login", { chunks, length });
      expect(refused.status).toBe(413);
      expect(JSON.parse(refused.text)).toMatchObject({ error: { code: "payload_too_large" } });
      const next = await send(agent, "GET", "/hello");
      expect(next).toEqual({ status: 200, text: "hello", reused: true });
    } finally {
      agent.destroy();
    }
  });

  it("a 413 for a chunked body found past 64 KiB while reading, then the next request on the same connection is answered", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await send(agent, "GET", "/hello")).status).toBe(200);
      const refused = await send(agent, "POST", "/auth/login", { chunks: jsonChunks(300 * 1024) });
      expect(refused.status).toBe(413);
      const next = await send(agent, "GET", "/hello");
      expect(next).toEqual({ status: 200, text: "hello", reused: true });
    } finally {
      agent.destroy();
    }
  });

  it("a body too large to drain closes its connection after the 413: the client's next request is answered on a new one", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const chunks = jsonChunks(12 * 1024 * 1024, 256 * 1024);
      const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      // The client may see the 413 or, still sending, the closed connection: never a hang.
      const first = await send(agent, "POST", "/auth/login", { chunks, length }).catch((error: Error) => error);
      if (!(first instanceof Error)) expect(first.status).toBe(413);
      else expect(first.message).not.toMatch(/no answer/);
      const next = await send(agent, "GET", "/hello");
      expect(next.status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it("a request body streams to the handler (5 MiB, read as it comes)", async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      const chunks = Array.from({ length: 80 }, () => Buffer.alloc(64 * 1024, 1));
      const sent = await send(agent, "POST", "/upload", { chunks, length: 80 * 64 * 1024 });
      expect(JSON.parse(sent.text)).toEqual({ bytes: 80 * 64 * 1024 });
    } finally {
      agent.destroy();
    }
  });

  it("a response body is pulled only as the client takes it (backpressure)", async () => {
    const response = await fetch(`${base}/download?mib=64`);
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    // The client reads nothing for a while: the server pulls no more than the buffers hold.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pulled).toBeLessThan(16 * 1024 * 1024);
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
    }
    expect(received + 64 * 1024).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    expect(pulled).toBe(64 * 1024 * 1024);
  });

  it("an event stream ends when its client goes away (the service's one stream is free again)", async () => {
    const { service, clientSecret } = await auth.services.create("stream");
    const authorization = basic(service.id, clientSecret);
    for (let i = 0; i < 3; i++) {
      const start = Date.now();
      let stream = await subscribe(`${base}/auth/revocations`, authorization);
      // perService is 1: the last one must have been released by its hang-up.
      while (stream.response.status === 429 && Date.now() - start < 2000) {
        await stream.close();
        await new Promise((resolve) => setTimeout(resolve, 50));
        stream = await subscribe(`${base}/auth/revocations`, authorization);
      }
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      await stream.close();
    }
  });

  it("a stream asked for while the adapter closes ends at once, so a stopping server never waits on it (CI: an instance hung on SIGTERM)", async () => {
    const { service, clientSecret } = await auth.services.create("late");
    const closingOne = createFetchHandler({ auth, publicOrigin: ORIGIN, maintenance: false });
    // The request is in flight (authenticating the service) when the adapter closes.
    const answering = closingOne.handle(
      new Request(`${ORIGIN}/auth/revocations`, {
        headers: { authorization: basic(service.id, clientSecret), accept: "text/event-stream" },
      }),
      { ip: "127.0.0.1" },
    );
    closingOne.close();
    const response = await answering;
    expect(response?.status).toBe(200);
    const reader = response?.body?.getReader();
    const ended = await Promise.race([
      (async () => {
        for (;;) if ((await reader?.read())?.done !== false) return true;
      })(),
      new Promise((resolve) => setTimeout(() => resolve(false), 2000)),
    ]);
    expect(ended).toBe(true);
  });

  it("review of issue 25, item 7: an event stream's connection is its own (Connection: close), as in Fastify and Express", async () => {
    const { service, clientSecret } = await auth.services.create("closer");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const headers = await new Promise<IncomingMessage["headers"]>((resolve, reject) => {
        const req = httpRequest(`${base}/auth/revocations`, {
          agent,
          headers: { authorization: basic(service.id, clientSecret), accept: "text/event-stream" },
        });
        req.on("error", reject);
        req.on("response", (res: IncomingMessage) => {
          resolve(res.headers);
          res.destroy();
        });
        req.end();
      });
      expect(headers["content-type"]).toMatch(/^text\/event-stream/);
      expect(headers.connection).toBe("close");
    } finally {
      agent.destroy();
    }
  });

  it("a body already whole goes out in one write with its length, not chunked (issue 33: the bridge wrote every JSON answer chunked)", async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      for (const path of ["/auth/me", "/hello", "/upload-none"]) {
        const answer = await new Promise<IncomingMessage>((resolve, reject) => {
          httpRequest(`${base}${path}`, { agent }, resolve).on("error", reject).end();
        });
        const text = await new Promise<string>((resolve) => {
          let all = "";
          answer.setEncoding("utf8").on("data", (part: string) => {
            all += part;
          });
          answer.on("end", () => resolve(all));
        });
        expect(answer.headers["transfer-encoding"]).toBeUndefined();
        expect(answer.headers["content-length"]).toBe(String(Buffer.byteLength(text)));
        expect(text.length).toBeGreaterThan(0);
      }
      // Review: a handler's own framing is never joined by a length of ours; a stream of
      // strings (outside the standard, written as it came before) still arrives whole.
      const framed = await fetch(`${base}/framed`);
      expect(framed.headers.get("content-length")).toBeNull();
      expect(await framed.text()).toBe("hello");
      const strings = await fetch(`${base}/strings`);
      expect(strings.status).toBe(200);
      expect(await strings.text()).toBe("strings");
      // A body still coming is streamed, chunked, and arrives whole.
      const later = await new Promise<IncomingMessage>((resolve, reject) => {
        httpRequest(`${base}/later`, { agent }, resolve).on("error", reject).end();
      });
      let text = "";
      later.setEncoding("utf8").on("data", (part: string) => {
        text += part;
      });
      await new Promise((resolve) => later.on("end", resolve));
      expect(later.headers["transfer-encoding"]).toBe("chunked");
      expect(text).toBe("later");
    } finally {
      agent.destroy();
    }
  });

  it("a handler that throws is a 500 with no detail, told to onError; the server serves on", async () => {
    const response = await fetch(`${base}/boom`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe("Internal Server Error");
    expect((thrown.at(-1) as Error).message).toBe("host boom");
    expect((await fetch(`${base}/hello`)).status).toBe(200);
  });
});
