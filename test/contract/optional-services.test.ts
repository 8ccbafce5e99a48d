/**
 * `Stores.services` is optional (issue 25 item 14): stores written before service
 * credentials existed work again. Without it, createAuth says so once at start-up, the
 * services API refuses with a `LatchkeySetupError` naming the missing store, and the HTTP
 * routes that take service credentials answer `invalid_client` saying why, never a 500;
 * everything else works as before.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createFetchHandler, type FetchLatchkey } from "../../packages/latchkey/src/adapters/fetch.js";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { LatchkeySetupError } from "../../packages/latchkey/src/core/errors.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openTestAuth } from "../helpers/auth.js";

const ORIGIN = "http://localhost:3000";

/** A store of another author, written before `services`: it has none. */
function storesWithoutServices(): Stores {
  const { services: _services, ...rest } = createMemoryStores();
  return rest;
}

/** Warnings `createAuth` emits while `open` runs (Node delivers them on a later tick). */
async function warningsOf(open: () => Promise<Auth>): Promise<{ auth: Auth; warnings: Error[] }> {
  const warnings: Error[] = [];
  const listen = (warning: Error) => void warnings.push(warning);
  process.on("warning", listen);
  try {
    const auth = await open();
    await new Promise((resolve) => setImmediate(resolve));
    return { auth, warnings: warnings.filter((w) => (w as { code?: string }).code === "LATCHKEY_NO_SERVICE_STORE") };
  } finally {
    process.off("warning", listen);
  }
}

const opened: { auth: Auth; handler?: FetchLatchkey }[] = [];
afterEach(async () => {
  for (const { auth, handler } of opened.splice(0)) {
    handler?.close();
    await auth.close();
  }
});

const basic = `Basic ${Buffer.from("svc_aaaaaaaaaaaaaaaaaaaaaa:secret").toString("base64")}`;
const form = { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN, authorization: basic };

describe("stores without a services store", () => {
  it("start with one loud warning naming what is off, and none when the store is there", async () => {
    const without = await warningsOf(() => openTestAuth(storesWithoutServices()));
    opened.push({ auth: without.auth });
    expect(without.warnings).toHaveLength(1);
    expect(without.warnings[0]?.message).toMatch(
      /no `services` store \(Stores\.services\).*introspection.*revocation feed/,
    );
    const withStore = await warningsOf(() => openTestAuth(createMemoryStores()));
    opened.push({ auth: withStore.auth });
    expect(withStore.warnings).toEqual([]);
  });

  it("refuse to create, list or revoke services with a LatchkeySetupError naming the missing store", async () => {
    const auth = await openTestAuth(storesWithoutServices());
    opened.push({ auth });
    for (const call of [
      () => auth.services.create("billing"),
      () => auth.services.list(),
      () => auth.services.revoke("billing"),
    ]) {
      const refused = await call().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(LatchkeySetupError);
      expect((refused as Error).message).toContain("Stores.services");
    }
    expect(await auth.services.findById("svc_aaaaaaaaaaaaaaaaaaaaaa")).toBeNull();
  });

  it("answer service credentials with invalid_client saying why, never a 500, and serve users as before", async () => {
    const auth = await openTestAuth(storesWithoutServices());
    const handler = createFetchHandler({ auth, publicOrigin: ORIGIN, maintenance: false, cookieSecure: false });
    opened.push({ auth, handler });
    const call = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
      const response = await handler.handle(new Request(`${ORIGIN}${path}`, { method, body, headers }), {
        ip: "192.0.2.1",
      });
      if (!response) throw new Error(`no latchkey route answered ${method} ${path}`);
      return {
        status: response.status,
        body: (await response.json()) as { error?: { code: string; message: string } },
      };
    };
    for (const answer of [
      await call("POST", "/auth/token", "grant_type=client_credentials", form),
      await call("POST", "/auth/introspect", "token=x", form),
      await call("GET", "/auth/revocations", undefined, { authorization: basic }),
    ]) {
      expect(answer.status).toBe(401);
      expect(answer.body.error).toEqual({
        code: "invalid_client",
        message: "This server keeps no service credentials.",
      });
    }
    const json = { "content-type": "application/json", origin: ORIGIN };
    const credentials = JSON.stringify({ username: "alice", password: "correct horse battery staple" });
    expect((await call("POST", "/auth/register", credentials, json)).status).toBe(201);
    expect((await call("POST", "/auth/token", credentials, json)).status).toBe(200);
  });
});
