/**
 * What the client's tests share: a client ("tab") wired to a fake latchkey, and a way to
 * let the fake clock run while a promise settles.
 */
import { vi } from "vitest";
import { type ClientOptions, createClient, type LatchkeyClient } from "../src/index.js";
import type { FakeLatchkey } from "./fake-latchkey.js";

/**
 * A client of `server`, with no lock manager and no channel unless given. It keeps its
 * session alive (`keepAlive`), so the tests of the refresh timer need no requests to
 * set it going; test/idle.test.ts tests the default, a refresh only after use.
 */
export function tab(server: FakeLatchkey, options: ClientOptions = {}): LatchkeyClient {
  return createClient({
    baseUrl: server.origin,
    prefix: server.options.prefix ?? "",
    fetch: server.fetch,
    locks: null,
    channel: null,
    keepAlive: true,
    ...options,
  });
}

/** Runs the fake clock `ms` forward (timers, the fake network, the channel), then settles `promise`. */
export async function within<T>(promise: Promise<T>, ms = 1_000): Promise<T> {
  const settled = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.advanceTimersByTimeAsync(ms);
  const outcome = await settled;
  if ("error" in outcome) throw outcome.error;
  return outcome.value;
}
