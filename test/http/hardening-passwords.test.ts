/**
 * Issue 24, item 10: a password is text. A lone surrogate escape (`\ud800`) has no UTF-8
 * form, so argon2 would receive U+FFFD in its place and every lone surrogate would be the
 * same password. Every route that takes a password refuses one with `400 invalid_request`,
 * before counting or hashing anything.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, countingHasher, type Harness, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";

// JSON text, so the escapes reach the server as escapes (JSON.stringify would keep them too,
// but a reader of this file should see exactly what is sent).
const LONE = ["\\ud800", "\\udfff", "\\udbff"];
const body = (fields: Record<string, string>) =>
  `{${Object.entries(fields)
    .map(([k, v]) => `"${k}":"${v}"`)
    .join(",")}}`;
const withLone = (lone: string) => `correct horse ${lone} staple`;

function expectRefused(response: LightMyRequestResponse, field: RegExp): void {
  expect(response.statusCode).toBe(400);
  const error = response.json().error;
  expect(error.code).toBe("invalid_request");
  expect(error.message).toMatch(field);
  expect(error.message).toMatch(/surrogate/);
  expect(error.message).not.toMatch(/correct horse|staple/);
}

describe("security: a password with a lone surrogate is refused, never collapsed to U+FFFD (issue 24, item 10)", () => {
  let h: Harness;
  const counting = countingHasher();
  beforeAll(async () => {
    h = await startHarness({ LOGIN_MAX_FAILURES: "2" }, { hasher: counting.hasher });
  });
  afterAll(() => h.close());

  it("registration refuses it, so no two escapes can be one password", async () => {
    const c = h.client();
    const before = { ...counting.calls };
    for (const lone of LONE) {
      expectRefused(
        await c.post("/auth/register", body({ username: uniqueName(), password: withLone(lone) })),
        /password/,
      );
    }
    expect(counting.calls).toEqual(before);
  });

  it("login and the token grant refuse it without hashing, and it never counts as a failed login", async () => {
    const c = h.client({ ip: "198.51.100.90" });
    const name = uniqueName();
    await c.register(name);
    const before = { ...counting.calls };
    // More refusals than LOGIN_MAX_FAILURES: none of them counts.
    for (const lone of [...LONE, "\\ud800", "\\ud800\\ud800"]) {
      expectRefused(await c.post("/auth/login", body({ username: name, password: withLone(lone) })), /password/);
      expectRefused(await c.post("/auth/token", body({ username: name, password: withLone(lone) })), /password/);
    }
    expect(counting.calls).toEqual(before);
    expect((await c.login(name)).statusCode).toBe(200);
    expect((await c.token(name)).statusCode).toBe(200);
  });

  it("a well-formed pair of surrogates (one emoji) is a password like any other", async () => {
    const c = h.client();
    const name = uniqueName();
    const emoji = `${PASSWORD} \\ud83d\\udd11`;
    expect((await c.post("/auth/register", body({ username: name, password: emoji }))).statusCode).toBe(201);
    expect((await c.post("/auth/login", body({ username: name, password: emoji }))).statusCode).toBe(200);
    expect((await c.login(name, `${PASSWORD} \u{1F511}`)).statusCode).toBe(200);
    expect((await c.post("/auth/login", body({ username: name, password: `${PASSWORD} \\ufffd` }))).statusCode).toBe(
      401,
    );
  });

  it("password change refuses it as the current or the new password; account deletion as the password", async () => {
    const c: Client = h.client({ ip: "198.51.100.91" });
    await c.signUpAndLogIn(uniqueName());
    const before = { ...counting.calls };
    for (let i = 0; i < 3; i++) {
      const current = await c.post(
        "/auth/password",
        body({ currentPassword: withLone("\\udfff"), newPassword: "a new long passphrase" }),
      );
      expectRefused(current, /current password/);
      const next = await c.post(
        "/auth/password",
        body({ currentPassword: PASSWORD, newPassword: withLone("\\ud800") }),
      );
      expectRefused(next, /new password/);
      const deletion = await c.request({
        method: "DELETE",
        url: "/auth/account",
        body: body({ password: withLone("\\ud800") }),
      });
      expectRefused(deletion, /password/);
    }
    expect(counting.calls).toEqual(before);
    // None of them counted against the session: the right password still works.
    const changed = await c.post("/auth/password", { currentPassword: PASSWORD, newPassword: "a new long passphrase" });
    expect(changed.statusCode).toBe(204);
  });
});
