/**
 * Issue 24, items 11 and 14: refused service credentials are throttled per address and
 * logged as security events; load shed by the password-hash queue is logged as what it is.
 */
import { afterAll, describe, expect, it } from "vitest";
import { argon2Hasher, limitConcurrency } from "../../packages/latchkey/src/core/password-hasher.js";
import { SERVICE_AUTH_FAILURES_PER_ADDRESS } from "../../packages/latchkey/src/core/services.js";
import { type Harness, ORIGIN, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";

const harnesses: Harness[] = [];
afterAll(async () => {
  for (const h of harnesses) await h.close();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;

describe("security 24.11: refused client credentials", () => {
  it("are throttled per address (429 past the limit, right credentials still pass) and logged with the client id, never the secret", async () => {
    const h = await startHarness();
    harnesses.push(h);
    const { service, clientSecret } = await h.server.auth.services.create("throttled");
    const wrongSecret = "W".repeat(43);
    const introspect = (authorization: string, remoteAddress: string) =>
      h.app.inject({
        method: "POST",
        url: "/auth/introspect",
        remoteAddress,
        headers: { authorization, "content-type": "application/x-www-form-urlencoded" },
        payload: "token=x",
      });
    for (let i = 0; i < SERVICE_AUTH_FAILURES_PER_ADDRESS; i++) {
      expect((await introspect(basic(service.id, wrongSecret), "203.0.113.7")).statusCode).toBe(401);
    }
    const refused = await introspect(basic(service.id, wrongSecret), "203.0.113.7");
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    // Right credentials from that address still pass (a neighbour is not locked out); another
    // address's refusals are its own.
    expect((await introspect(basic(service.id, clientSecret), "203.0.113.7")).statusCode).toBe(200);
    expect((await introspect(basic(service.id, wrongSecret), "198.51.100.9")).statusCode).toBe(401);
    // The window ends.
    h.clock.advance(61_000);
    expect((await introspect(basic(service.id, wrongSecret), "203.0.113.7")).statusCode).toBe(401);

    // Each 401 is a security event; the 429s past the limit are not logged one by one.
    const events = h.logs.map((line) => JSON.parse(line)).filter((entry) => entry.event === "service_auth_failed");
    expect(events.length).toBe(SERVICE_AUTH_FAILURES_PER_ADDRESS + 2);
    expect(events[0]).toMatchObject({ clientId: service.id, ip: "203.0.113.7", msg: "service credentials refused" });
    expect(h.logs.join("\n")).not.toContain(wrongSecret);
    expect(h.logs.join("\n")).not.toContain(clientSecret);
  });
});

describe("security 24.14: load shedding in the log", () => {
  it("is logged as shed load, without a stack, never as a store outage", async () => {
    // One hash at a time and none waiting: concurrent logins are shed with 503.
    const h = await startHarness({}, { hasher: limitConcurrency(argon2Hasher(), { limit: 1, maxQueue: 0 }) });
    harnesses.push(h);
    const name = uniqueName("shed");
    expect((await h.client().register(name)).statusCode).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        h.app.inject({
          method: "POST",
          url: "/auth/token",
          remoteAddress: `192.0.2.${i + 1}`,
          headers: { origin: ORIGIN },
          payload: { username: name, password: PASSWORD },
        }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toContain(503);
    const lines = h.logs.map((line) => JSON.parse(line));
    const shed = lines.filter((entry) => entry.event === "load_shed");
    expect(shed.length).toBe(answers.filter((a) => a.statusCode === 503).length);
    for (const entry of shed) expect(entry.err).toBeUndefined();
    expect(lines.filter((entry) => entry.msg === "store unavailable")).toEqual([]);
  });
});
