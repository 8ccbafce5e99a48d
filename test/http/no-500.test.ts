/**
 * "No input produces a 500": every route, hostile bodies, headers and cookies.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Harness, ORIGIN, startHarness, uniqueName } from "../helpers/harness.js";

const ROUTES: Array<[string, string]> = [
  ["POST", "/auth/register"],
  ["POST", "/auth/login"],
  ["POST", "/auth/logout"],
  ["POST", "/auth/logout-all"],
  ["GET", "/auth/me"],
  ["GET", "/auth/sessions"],
  ["DELETE", "/auth/sessions/x"],
  ["GET", "/auth/events"],
  ["POST", "/auth/password"],
  ["DELETE", "/auth/account"],
  ["POST", "/auth/reauthenticate"],
  ["GET", "/api/todos"],
  ["POST", "/api/todos"],
  ["PATCH", "/api/todos/x"],
  ["DELETE", "/api/todos/x"],
  ["GET", "/healthz"],
  ["POST", "/auth/token"],
  ["POST", "/auth/refresh"],
  ["POST", "/auth/revoke"],
  ["GET", "/.well-known/jwks.json"],
  ["GET", "/auth/email"],
  ["PUT", "/auth/email"],
  ["POST", "/auth/email/verification"],
  ["POST", "/auth/email/verify"],
  ["POST", "/auth/email/revert"],
  ["POST", "/auth/password/forgot"],
  ["POST", "/auth/password/reset"],
  ["POST", "/auth/login/second-factor"],
  ["POST", "/auth/token/second-factor"],
  ["GET", "/auth/factors"],
  ["POST", "/auth/factors/totp"],
  ["POST", "/auth/factors/totp/confirm"],
  ["DELETE", "/auth/factors/totp"],
  ["POST", "/auth/factors/recovery-codes"],
];

const BODIES = [
  "null",
  "[]",
  '"string"',
  "42",
  "true",
  "{}",
  '{"username":{},"password":[],"title":{},"done":null,"remember":1}',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
  '{"title":"\\u0000\\ud800"}',
  `{"username":"${"a".repeat(300)}","password":"${"b".repeat(2000)}"}`,
  '{"email":{},"token":[],"newPassword":null,"password":1}',
  '{"email":42,"password":"correct horse battery staple"}',
  '{"email":["a@example.com"],"token":{"id":"x"},"newPassword":true}',
  `{"email":"${"a".repeat(5000)}@example.com","token":"${"t".repeat(5000)}","newPassword":"${"p".repeat(5000)}"}`,
  `{"email":"${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.${"e".repeat(60)}.com"}`,
  '{"email":"\\u0000@example.com","token":"\\u0000.\\u0000","newPassword":"\\ud800\\udc00\\ud800"}',
  '{"email":"a@xn--.com","token":"....","newPassword":""}',
  '{"email":"alice@例え.テスト","token":"AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","newPassword":"x"}',
  '{"email":" ","token":" ","newPassword":" ","username":"nomail","password":"correct horse battery staple"}',
  '{"code":{},"recoveryCode":[],"pending_token":1,"recovery_code":null,"factorId":true}',
  '{"code":"\\u0000\\ud800","recoveryCode":"\\udc00","pending_token":"a.b.c.d","factorId":"../.."}',
  `{"code":"${"9".repeat(64)}","pending_token":"${"A".repeat(22)}.${"B".repeat(43)}","recovery_code":"iiii-llll-oooo-uuuu"}`,
  "{".repeat(1000),
  "\u00ff\u00fe garbage",
];

const HEADER_SETS: Array<Record<string, string>> = [
  { authorization: "Bearer" },
  { authorization: "Bearer    " },
  { authorization: "Bearer a.b.c" },
  { authorization: `Bearer ${"x".repeat(8000)}` },
  { authorization: "bearer a b c" },
  { cookie: "__Host-sid=%E0%A4%A" },
  { cookie: "__Host-sid=; __Host-sid=; __Host-sid" },
  { cookie: `__Host-sid=${"x".repeat(4000)}` },
  { cookie: "__Host-signin=a.b; __Host-signin=%ZZ" },
  { cookie: `__Host-signin=${"A".repeat(22)}.${"B".repeat(43)}` },
  { "x-csrf-token": "\u00e9\u00e9" },
  { "content-type": "application/json; charset=latin1" },
  { "content-type": "application/json", "content-encoding": "gzip" },
];

describe("no input produces a 500", () => {
  let h: Harness;
  let signedIn: Client;
  let outbox: string;
  beforeAll(async () => {
    // Mail set up (an outbox in a temporary folder), so the email routes are on.
    outbox = await mkdtemp(join(tmpdir(), "latchkey-outbox-"));
    h = await startHarness({ MAIL_OUTBOX: outbox });
    signedIn = h.client();
    await signedIn.signUpAndLogIn(uniqueName());
  });
  afterAll(async () => {
    await h.close();
    await rm(outbox, { recursive: true, force: true });
  });

  it.each(ROUTES)("%s %s with hostile bodies", async (method, url) => {
    for (const payload of BODIES) {
      for (const client of [h.client(), signedIn]) {
        const response = await client.request({
          method: method as "POST",
          url,
          body: payload,
          headers: { "content-type": "application/json" },
        });
        expect(response.statusCode, `${payload.slice(0, 30)}`).toBeLessThan(500);
        if (response.statusCode >= 400) expect(response.json().error.code).toEqual(expect.any(String));
      }
    }
  });

  it.each(ROUTES)("%s %s with hostile headers", async (method, url) => {
    for (const headers of HEADER_SETS) {
      const response = await h.app.inject({
        method: method as "POST",
        url,
        headers: { origin: ORIGIN, ...headers },
        ...(method !== "GET" && { payload: "{}" }),
      });
      expect(response.statusCode, JSON.stringify(headers).slice(0, 60)).toBeLessThan(500);
    }
  });

  it("odd URLs", async () => {
    for (const url of [
      "/%",
      "/auth/sessions/%E0",
      "/api/todos/..%2F..%2Fetc%2Fpasswd",
      "/api/todos/" + "x".repeat(5000),
      "//",
      "/auth/me?x=%",
    ]) {
      const response = await signedIn.get(url);
      expect(response.statusCode, url.slice(0, 40)).toBeLessThan(500);
    }
  });
});
