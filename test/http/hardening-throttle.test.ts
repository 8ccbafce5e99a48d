/**
 * What the attack audit found in the login throttle and password hashing (issue 13, items
 * 1, 4 and 5), proven through the whole HTTP stack.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  countingHasher,
  type Harness,
  PASSWORD,
  setCookieLines,
  startHarness,
  uniqueName,
} from "../helpers/harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("concurrent guesses pass the login throttle (audit item 1)", () => {
  it("of 100 concurrent POST /auth/token guesses at one account, at most LOGIN_MAX_FAILURES are verified", async () => {
    const counting = countingHasher();
    h = await startHarness({ LOGIN_ADDRESS_MAX_IN_FLIGHT: "1000", HASH_QUEUE: "1000" }, { hasher: counting.hasher });
    const name = uniqueName("victim");
    expect((await h.client().register(name)).statusCode).toBe(201);
    counting.calls.verify = 0;
    const attackers = Array.from({ length: 100 }, (_, i) => h?.client({ ip: `198.51.${i}.7` }));
    const answers = await Promise.all(
      attackers.map((c, i) => c?.token(name, i === 50 ? PASSWORD : `wrong-guess-${i}-x`)),
    );
    const statuses = answers.map((r) => r?.statusCode);
    expect(counting.calls.verify).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(95);
    for (const r of answers) if (r?.statusCode === 429) expect(Number(r.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("the same holds for password checks behind POST /auth/password", async () => {
    const counting = countingHasher();
    h = await startHarness({ LOGIN_ADDRESS_MAX_IN_FLIGHT: "1000", HASH_QUEUE: "1000" }, { hasher: counting.hasher });
    const c = h.client();
    await c.signUpAndLogIn(uniqueName());
    counting.calls.verify = 0;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        c.post("/auth/password", { currentPassword: `wrong-${i}-xxxx`, newPassword: "a new long passphrase" }),
      ),
    );
    expect(counting.calls.verify).toBeLessThanOrEqual(5);
    expect(answers.filter((r) => r.statusCode === 429).length).toBeGreaterThanOrEqual(25);
  });
});

describe("password hashing queues without bound (audit item 4)", () => {
  it("caps one address's password checks in flight: the rest answer 429 at once, unhashed", async () => {
    const counting = countingHasher();
    h = await startHarness(
      { LOGIN_ADDRESS_MAX_IN_FLIGHT: "2", LOGIN_ADDRESS_MAX_FAILURES: "1000" },
      { hasher: counting.hasher },
    );
    counting.calls.verify = 0;
    const c = h.client({ ip: "203.0.113.40" });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => c.token(uniqueName(`ghost${i}`), "x".repeat(1000))),
    );
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(18);
    expect(counting.calls.verify).toBeLessThanOrEqual(2);
    // Another address is not held up by it.
    expect((await h.client({ ip: "203.0.113.41" }).token(uniqueName("ghost"), "x".repeat(20))).statusCode).toBe(401);
  });

  it("sheds past HASH_QUEUE with 503 + Retry-After instead of queueing without bound", async () => {
    h = await startHarness({ HASH_QUEUE: "2", LOGIN_ADDRESS_MAX_FAILURES: "1000" });
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        h?.client({ ip: `192.0.2.${i + 1}` }).token(uniqueName("ghost"), "y".repeat(900)),
      ),
    );
    const shed = answers.filter((r) => r?.statusCode === 503);
    expect(shed.length).toBeGreaterThan(0);
    for (const r of shed) {
      expect(r?.json().error.code).toBe("service_unavailable");
      expect(Number(r?.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
    expect(answers.every((r) => r?.statusCode === 401 || r?.statusCode === 503)).toBe(true);
  });

  it("throttles POST /auth/register per address, before hashing", async () => {
    const counting = countingHasher();
    h = await startHarness({ REGISTER_ADDRESS_MAX: "3" }, { hasher: counting.hasher });
    const c = h.client({ ip: "2001:db8:9:9::1" });
    for (let i = 0; i < 3; i++) expect((await c.register(uniqueName())).statusCode).toBe(201);
    counting.calls.hash = 0;
    c.ip = "2001:db8:9:9:ffff::2"; // the same /64
    const refused = await c.register(uniqueName());
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(counting.calls.hash).toBe(0);
    c.ip = "2001:db8:9:a::1";
    expect((await c.register(uniqueName())).statusCode).toBe(201);
  });
});

describe("anyone can lock anyone out (audit item 5)", () => {
  it("a browser that signed in before keeps signing in while the account is locked for everyone else", async () => {
    h = await startHarness();
    const owner = h.client({ ip: "192.0.2.10" });
    const name = uniqueName("owner");
    await owner.signUpAndLogIn(name);
    const device = [...owner.cookies.keys()].find((k) => k.endsWith("device"));
    expect(device).toBe("__Host-device");
    // As long-lived as the login's cookies: a session cookie, or with remember the session's absolute timeout.
    const line = setCookieLines(await owner.login(name)).find((l) => l.startsWith("__Host-device="));
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/Secure/);
    expect(line).not.toMatch(/Max-Age/);
    const remembered = setCookieLines(await owner.login(name, PASSWORD, true)).find((l) =>
      l.startsWith("__Host-device="),
    );
    expect(remembered).toMatch(/Max-Age=2592000/);

    const stranger = h.client({ ip: "203.0.113.66" });
    for (let i = 0; i < 5; i++) expect((await stranger.login(name, `wrong-${i}-guess`)).statusCode).toBe(401);
    expect((await stranger.login(name)).statusCode).toBe(429); // even with the right password
    expect((await h.client({ ip: "192.0.2.10" }).login(name)).statusCode).toBe(429); // a new browser
    expect((await owner.login(name)).statusCode).toBe(200); // the owner's browser

    // The device has its own budget: guesses from a stolen device cookie are throttled too.
    for (let i = 0; i < 5; i++) expect((await owner.login(name, `wrong-${i}-guess`)).statusCode).toBe(401);
    expect((await owner.login(name)).statusCode).toBe(429);
  });

  it("a device cookie of another account, or a forged one, counts as no device", async () => {
    h = await startHarness();
    const owner = h.client();
    const alice = uniqueName("alice");
    const bob = uniqueName("bob");
    await owner.signUpAndLogIn(alice);
    await h.client().register(bob);
    const stranger = h.client({ ip: "203.0.113.67" });
    for (let i = 0; i < 5; i++) await stranger.login(bob, `wrong-${i}-guess`);
    // Alice's device cookie does not open Bob's lock.
    expect((await owner.login(bob)).statusCode).toBe(429);
    owner.cookies.set("__Host-device", "A".repeat(22) + "." + "B".repeat(43));
    expect((await owner.login(bob)).statusCode).toBe(429);
  });
});
