/**
 * Security checklist lines 1-8: registration, passwords, login.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countingHasher, type Harness, ORIGIN, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";

describe("security checklist 1-8 (accounts and login)", () => {
  let h: Harness;
  const counting = countingHasher();
  beforeAll(async () => {
    h = await startHarness({}, { hasher: counting.hasher });
  });
  afterAll(() => h.close());

  it("security 1: a 7-character password is refused, 8 accepted; a long non-ASCII passphrase works", async () => {
    const c = h.client();
    const seven = await c.register(uniqueName(), "kq7!zmw");
    expect(seven.statusCode).toBe(400);
    expect(seven.json().error.code).toBe("weak_password");
    expect((await c.register(uniqueName(), "kq7!zmwp")).statusCode).toBe(201);

    const passphrase = "Ünïcödé pässphrasé with spaces — 日本語のパスワード and more wörds ok!!";
    expect([...passphrase].length).toBeGreaterThanOrEqual(60);
    const name = uniqueName();
    expect((await c.register(name, passphrase)).statusCode).toBe(201);
    expect((await c.login(name, passphrase)).statusCode).toBe(200);
  });

  it("security 2: no truncation and no case folding", async () => {
    const c = h.client();
    const name = uniqueName();
    const password = `${"Zq9-".repeat(18)}tail-end`; // 80 characters
    expect(password).toHaveLength(80);
    expect((await c.register(name, password)).statusCode).toBe(201);
    expect((await c.login(name, password.slice(0, 72))).statusCode).toBe(401);
    const flipped = [...password].map((ch) => (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase())).join("");
    expect((await c.login(name, flipped)).statusCode).toBe(401);
    expect((await c.login(name, password)).statusCode).toBe(200);
  });

  it.each(["password1234", "qwertyuiop", "Password1234"])("security 3: common password %s is refused", async (pw) => {
    const response = await h.client().register(uniqueName(), pw);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("weak_password");
  });

  it("security 3: a password containing the username is refused", async () => {
    const name = uniqueName("zed");
    const response = await h.client().register(name, `my-${name}-pass`);
    expect(response.json().error.code).toBe("weak_password");
  });

  it("security 4: a 1 MB body or an oversized password is refused at once, with no hashing", async () => {
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const before = { ...counting.calls };
    const huge = await c.post("/auth/login", { username: name, password: "x".repeat(1024 * 1024) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe("payload_too_large");
    const long = await c.post("/auth/login", { username: name, password: "x".repeat(20_000) });
    expect(long.statusCode).toBe(400);
    expect(long.json().error.code).toBe("invalid_request");
    const longRegister = await c.post("/auth/register", { username: uniqueName(), password: "y".repeat(5000) });
    expect(longRegister.statusCode).toBe(400);
    expect(counting.calls).toEqual(before);
  });

  it.each([
    ["a number as username", { username: 12345, password: PASSWORD }],
    ["an array as password", { username: "mallory", password: [PASSWORD] }],
    ["an object as password", { username: "mallory", password: { $gt: "" } }],
    ["null fields", { username: null, password: null }],
    ["a missing password", { username: "mallory" }],
    ["a boolean remember as string", { username: "mallory", password: PASSWORD, remember: "yes" }],
  ])("security 5: %s is a 400", async (_label, body) => {
    const response = await h.client().post("/auth/login", body);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("invalid_request");
  });

  it("security 5: extra fields and __proto__ never make a privileged account, never a 500", async () => {
    const c = h.client();
    const name = uniqueName();
    const extra = await c.post("/auth/register", { username: name, password: PASSWORD, role: "admin", isAdmin: true });
    expect(extra.statusCode).toBe(201);
    expect(Object.keys(extra.json().user).sort()).toEqual(["createdAt", "id", "username"]);
    const proto = await c.post(
      "/auth/register",
      `{"username":"${uniqueName()}","password":"${PASSWORD}","__proto__":{"role":"admin"}}`,
    );
    expect(proto.statusCode).toBe(400);
    const constructorKey = await c.post(
      "/auth/register",
      `{"username":"${uniqueName()}","password":"${PASSWORD}","constructor":{"prototype":{"role":"admin"}}}`,
    );
    expect(constructorKey.statusCode).toBeLessThan(500);
    expect(({} as Record<string, unknown>).role).toBeUndefined();
    const duplicate = await c.post(
      "/auth/register",
      `{"username":"${uniqueName()}","username":"${uniqueName()}","password":"${PASSWORD}"}`,
    );
    expect([201, 400]).toContain(duplicate.statusCode);
    expect((await c.login(name)).json().user).not.toHaveProperty("role");
  });

  it.each([
    ["invalid JSON", '{"username":', "application/json", 400],
    ["an empty body", "", "application/json", 400],
    ["text/plain", "username=a&password=b", "text/plain", 415],
    ["a form", "username=a&password=b", "application/x-www-form-urlencoded", 415],
    ["multipart", "--x\r\n\r\n--x--", "multipart/form-data; boundary=x", 415],
  ])("security 6: %s gets a %s with a generic message", async (_label, payload, type, status) => {
    const response = await h.app.inject({
      method: "POST",
      url: "/auth/login",
      payload,
      headers: { "content-type": type, origin: ORIGIN },
    });
    expect(response.statusCode).toBe(status);
    const body = response.json();
    expect(Object.keys(body)).toEqual(["error"]);
    expect(body.error.message).not.toMatch(/username|password|position|token/i);
  });

  it("security 7: unknown user and wrong password look the same, and both run a hash", async () => {
    const c = h.client({ ip: "10.7.0.1" });
    const name = uniqueName();
    await c.register(name);
    const before = counting.calls.verify;
    const wrong = await c.login(name, "wrong password here");
    const afterWrong = counting.calls.verify;
    const unknown = await c.login(uniqueName("ghost"), "wrong password here");
    expect(counting.calls.verify - afterWrong).toBe(1);
    expect(afterWrong - before).toBe(1);
    expect(unknown.statusCode).toBe(wrong.statusCode);
    expect(unknown.body).toBe(wrong.body);
    const headerNames = (r: typeof wrong) =>
      Object.keys(r.headers)
        .filter((k) => k !== "date" && k !== "content-length")
        .sort();
    expect(headerNames(unknown)).toEqual(headerNames(wrong));
    expect(unknown.headers["content-length"]).toBe(wrong.headers["content-length"]);
  });

  it("security 7: no measurable timing difference between unknown user and wrong password", async () => {
    const name = uniqueName();
    await h.client().register(name);
    const time = async (username: string, ip: string) => {
      const c = h.client({ ip });
      const start = process.hrtime.bigint();
      await c.login(username, "not the password 1");
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i++) {
      known.push(await time(name, `10.8.${i}.1`));
      unknown.push(await time(uniqueName("nobody"), `10.8.${i}.2`));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    // Both paths are dominated by one argon2id verification (~10 ms); a skipped hash would
    // make the unknown path an order of magnitude faster.
    const ratio = median(unknown) / median(known);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });

  it("security 8: failures on one account from changing addresses and X-Forwarded-For are throttled", async () => {
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    for (let i = 0; i < 5; i++) {
      c.ip = `192.0.2.${i + 1}`;
      const response = await c.post(
        "/auth/login",
        { username: name, password: "wrong-password-x" },
        { "x-forwarded-for": `198.51.100.${i}` },
      );
      expect(response.statusCode).toBe(401);
    }
    c.ip = "203.0.113.50";
    const throttled = await c.post(
      "/auth/login",
      { username: name, password: PASSWORD },
      { "x-forwarded-for": "198.51.100.99" },
    );
    expect(throttled.statusCode).toBe(429);
    expect(throttled.json().error.code).toBe("rate_limited");
    const retryAfter = Number(throttled.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // After the window the right password works again.
    h.clock.advance(retryAfter * 1000);
    expect((await c.login(name)).statusCode).toBe(200);
  });

  it("security 8: the throttle counts unknown usernames the same way (no enumeration)", async () => {
    const c = h.client({ ip: "192.0.2.200" });
    const ghost = uniqueName("ghost");
    for (let i = 0; i < 5; i++) await c.login(ghost, "wrong-password-x");
    expect((await c.login(ghost, "wrong-password-x")).statusCode).toBe(429);
  });
});

describe("security 8: per-address limits and X-Forwarded-For", () => {
  it("throttles an address failing across many accounts; X-Forwarded-For counts only under TRUST_PROXY", async () => {
    const h = await startHarness({ LOGIN_ADDRESS_MAX_FAILURES: "3" });
    try {
      const c = h.client({ ip: "192.0.2.77" });
      for (let i = 0; i < 3; i++) {
        await c.post(
          "/auth/login",
          { username: uniqueName(), password: "x-wrong-1" },
          { "x-forwarded-for": `10.0.0.${i}` },
        );
      }
      const blocked = await c.post(
        "/auth/login",
        { username: uniqueName(), password: "x-wrong-1" },
        { "x-forwarded-for": "10.0.0.99" },
      );
      expect(blocked.statusCode).toBe(429);
    } finally {
      await h.close();
    }

    const proxied = await startHarness({ LOGIN_ADDRESS_MAX_FAILURES: "3", TRUST_PROXY: "true" });
    try {
      const c = proxied.client({ ip: "127.0.0.1" });
      for (let i = 0; i < 3; i++) {
        await c.post(
          "/auth/login",
          { username: uniqueName(), password: "x-wrong-1" },
          { "x-forwarded-for": "203.0.113.9" },
        );
      }
      const sameClient = await c.post(
        "/auth/login",
        { username: uniqueName(), password: "x-wrong-1" },
        { "x-forwarded-for": "203.0.113.9" },
      );
      expect(sameClient.statusCode).toBe(429);
      const otherClient = await c.post(
        "/auth/login",
        { username: uniqueName(), password: "x-wrong-1" },
        { "x-forwarded-for": "203.0.113.10" },
      );
      expect(otherClient.statusCode).toBe(401);
    } finally {
      await proxied.close();
    }
  });
});
