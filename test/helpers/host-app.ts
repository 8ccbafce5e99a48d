/**
 * What the host-app tests (Express, Hono, node:http) share: a core over memory stores with
 * a fast hasher (the wiring is under test, not the hash), a server on a real socket, and a
 * log that records what latchkey tells the host.
 */
import { once } from "node:events";
import type { Server } from "node:http";
import {
  type Auth,
  type AuthOptions,
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

export const ORIGIN = "http://localhost:3000";
export const PASSWORD = "correct horse battery staple";

export function hostCore(stores: Stores = createMemoryStores(), overrides: Partial<AuthOptions> = {}): Promise<Auth> {
  return createAuth({
    stores,
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
    hasher: { hash: async (p) => `plain:${p}`, verify: async (h, p) => h === `plain:${p}`, needsRehash: () => false },
    ...overrides,
  });
}

/** A server listening on a free port of 127.0.0.1: its base URL. */
export async function listening(server: Server): Promise<string> {
  if (!server.listening) {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
  }
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Closes a server, its idle keep-alive connections with it. */
export async function closing(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

export interface Logged {
  level: "warn" | "error";
  message: string;
  err?: unknown;
}

/** A pino-shaped log that keeps what it is told. */
export function recordingLog(): { log: { warn: Log; error: Log; debug: Log }; entries: Logged[] } {
  const entries: Logged[] = [];
  const record =
    (level: "warn" | "error"): Log =>
    (object, message) =>
      entries.push({ level, message, err: (object as { err?: unknown }).err });
  return { log: { warn: record("warn"), error: record("error"), debug: () => {} }, entries };
}
type Log = (object: object, message: string) => void;

/** A unique username. */
export function username(stem: string): string {
  return `${stem}${Math.random().toString(36).slice(2, 10)}`;
}
