/**
 * Issue 25, item 13: `verifier.ready()` has a deadline. Against a latchkey that refuses the
 * service's credentials, is not there, never answers, or answers at the wrong prefix, it
 * rejects with a `FeedError` whose `reason` says which (at once for refused credentials,
 * which waiting does not mend); a latchkey that comes up within the deadline makes it
 * resolve, and one that comes up later is still followed.
 */
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVerifier, FeedError, type Verifier, type VerifierOptions } from "../../packages/verify/src/index.js";
import { type Harness, ORIGIN, startHarness } from "../helpers/harness.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

let h: Harness;
let port: number;
let credentials: { clientId: string; clientSecret: string };
const verifiers: Verifier[] = [];

beforeAll(async () => {
  h = await startHarness();
  await h.app.listen({ port: 0, host: "127.0.0.1" });
  port = (h.app.server.address() as { port: number }).port;
  const { service, clientSecret } = await h.server.auth.services.create("ready");
  credentials = { clientId: service.id, clientSecret };
});
afterAll(async () => {
  for (const verifier of verifiers) verifier.close();
  await h.close();
});

function verifier(options: Partial<VerifierOptions>): Verifier {
  const made = createVerifier({
    issuer: ORIGIN,
    baseUrl: `http://127.0.0.1:${port}`,
    credentials,
    pollIntervalMs: 50,
    follow: "poll",
    ...options,
  });
  verifiers.push(made);
  return made;
}

/** How `ready()` ends, and how long it took. */
async function outcome(ready: Promise<void>): Promise<{ error: FeedError | "resolved"; ms: number }> {
  const start = Date.now();
  const error = await ready.then(
    () => "resolved" as const,
    (caught: unknown) => {
      if (!(caught instanceof FeedError)) throw caught;
      return caught;
    },
  );
  return { error, ms: Date.now() - start };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: free } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return free;
}

describe("verifier.ready() has a deadline and says why (issue 25, item 13)", () => {
  it("rejects at once when latchkey refuses the credentials (401), without repeating them", async () => {
    const seen: FeedError[] = [];
    const secret = "wrong-secret-1234567890";
    const wrong = verifier({ credentials: { ...credentials, clientSecret: secret }, onFeedError: (e) => seen.push(e) });
    const { error, ms } = await outcome(wrong.ready());
    expect(error).toBeInstanceOf(FeedError);
    expect(error).toMatchObject({ reason: "credentials", status: 401 });
    expect((error as FeedError).message).toMatch(/clientId and clientSecret/);
    expect((error as FeedError).message).not.toContain(secret);
    expect(ms).toBeLessThan(2000); // not the 10 s default deadline
    expect(seen.map((e) => e.reason)).toEqual(["credentials"]);
    // Asked again, it says the same at once.
    expect((await outcome(wrong.ready())).error).toMatchObject({ reason: "credentials" });
  });

  it("rejects after its deadline when latchkey cannot be reached, naming the address and the cause", async () => {
    const free = await closedPort();
    const down = verifier({ baseUrl: `http://127.0.0.1:${free}` });
    const { error, ms } = await outcome(down.ready({ timeoutMs: 300 }));
    expect(error).toMatchObject({ reason: "unreachable" });
    expect((error as FeedError).message).toContain(`127.0.0.1:${free}`);
    expect((error as FeedError).message).toContain("ECONNREFUSED");
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(2000);
  });

  it("rejects with timeout when latchkey accepts the connection and never answers (readyTimeoutMs)", async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const mute = verifier({
        baseUrl: `http://127.0.0.1:${(silent.address() as { port: number }).port}`,
        readyTimeoutMs: 300,
      });
      const { error, ms } = await outcome(mute.ready());
      expect(error).toMatchObject({ reason: "timeout" });
      expect(ms).toBeGreaterThanOrEqual(290);
      expect(ms).toBeLessThan(2000);
      mute.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("says not_found for a wrong prefix (404 at the feed's address)", async () => {
    const lost = verifier({ prefix: "/no-such-prefix" });
    const { error } = await outcome(lost.ready({ timeoutMs: 300 }));
    expect(error).toMatchObject({ reason: "not_found", status: 404 });
    expect((error as FeedError).message).toMatch(/baseUrl and prefix/);
  });

  it("resolves when latchkey comes up within the deadline; after a missed deadline it is still followed", async () => {
    const proxy = await startTcpProxy("127.0.0.1", port);
    try {
      proxy.cut();
      const late = verifier({ baseUrl: `http://127.0.0.1:${proxy.port}` });
      expect((await outcome(late.ready({ timeoutMs: 200 }))).error).toMatchObject({ reason: "unreachable" });
      const waiting = outcome(late.ready({ timeoutMs: 5000 }));
      setTimeout(() => proxy.restore(), 200);
      const { error, ms } = await waiting;
      expect(error).toBe("resolved");
      expect(ms).toBeLessThan(2000);
      late.close();
    } finally {
      await proxy.close();
    }
  });

  it("rejects when the verifier is closed first, and refuses a deadline that is not a positive number", async () => {
    const free = await closedPort();
    const closing = verifier({ baseUrl: `http://127.0.0.1:${free}` });
    const pending = outcome(closing.ready());
    closing.close();
    expect((await pending).error).toMatchObject({ reason: "closed" });
    expect(() => closing.ready({ timeoutMs: -1 })).toThrow(RangeError);
    expect(() => verifier({ readyTimeoutMs: Number.NaN })).toThrow(/readyTimeoutMs must be a positive number/);
  });
});
