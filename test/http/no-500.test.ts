/**
 * "No input produces a 500": every route, hostile bodies, headers and cookies.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Client, type Harness, ORIGIN, startHarness, uniqueName } from "../helpers/harness.js";
import { SoftAuthenticator } from "../helpers/soft-authenticator.js";

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
  ["POST", "/auth/passkey/options"],
  ["POST", "/auth/login/passkey"],
  ["POST", "/auth/token/passkey/options"],
  ["POST", "/auth/token/passkey"],
  ["POST", "/auth/factors/passkeys/options"],
  ["POST", "/auth/factors/passkeys"],
  ["PATCH", "/auth/factors/passkeys/x"],
  ["DELETE", "/auth/factors/passkeys/x"],
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
  // Passkey answers: wrong types, and the right shape with nothing that decodes.
  '{"response":{},"passkey":[],"challengeToken":1,"challenge_token":{},"name":{}}',
  '{"response":{"id":1,"rawId":null,"type":"public-key","response":[],"clientExtensionResults":null}}',
  `{"response":{"id":"%%","rawId":"%%","type":"public-key","response":{"clientDataJSON":"%%","authenticatorData":"\\u0000","signature":"","attestationObject":"!!"},"clientExtensionResults":{}},"challenge_token":"a.b","name":"${"n".repeat(500)}"}`,
  `{"passkey":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AAAA","userHandle":"\\ud800"},"clientExtensionResults":{}},"challengeToken":"${"A".repeat(22)}.${"B".repeat(43)}"}`,
  '{"name":"\\u0000\\ud800","response":{"id":"x","rawId":"x","type":"other","response":{"clientDataJSON":"e30","attestationObject":"oA"},"clientExtensionResults":{}}}',
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
  { cookie: "__Host-passkey=a.b; __Host-passkey=%ZZ" },
  { cookie: `__Host-passkey=${"A".repeat(22)}.${"B".repeat(43)}` },
  { cookie: `__Host-passkey=${"x".repeat(4000)}` },
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

  it("passkey answers to a live challenge that do not decode or do not fit: 400 or 401 invalid_passkey", async () => {
    const b64 = (text: string) => Buffer.from(text).toString("base64url");
    const clientData = (challenge: string, extra: object = {}) =>
      b64(JSON.stringify({ type: "webauthn.get", challenge, origin: ORIGIN, ...extra }));
    // Each is the shape the routes take; what is inside is wrong in a new way.
    const assertions = (challenge: string) => [
      { clientDataJSON: "%%", authenticatorData: "AAAA", signature: "AAAA" },
      { clientDataJSON: clientData(challenge), authenticatorData: "AA", signature: "" },
      { clientDataJSON: clientData(challenge), authenticatorData: "A".repeat(4000), signature: "AAAA" },
      { clientDataJSON: clientData(challenge, { type: 42, origin: null }), authenticatorData: "", signature: "AAAA" },
      { clientDataJSON: b64("not json"), authenticatorData: "AAAA", signature: "AAAA", userHandle: "\u0000" },
      { clientDataJSON: b64("[]"), authenticatorData: "AAAA", signature: "AAAA", userHandle: "A".repeat(256) },
    ];
    const answer = (response: Record<string, unknown>, id = "AAAA") => ({
      id,
      rawId: id,
      type: "public-key",
      response,
      clientExtensionResults: {},
    });
    // Not only no 500: each is refused as what it is. A field that is not unpadded
    // base64url (or a name with a control character) is a malformed request, refused by
    // the schema before any store or check sees it; the rest are answers that do not verify.
    const BASE64URL = /^[A-Za-z0-9_-]+$/;
    const malformed = (answer: { id: string; response: Record<string, unknown> }, name?: string) =>
      !BASE64URL.test(answer.id) ||
      Object.values(answer.response).some((v) => typeof v === "string" && !BASE64URL.test(v)) ||
      (name !== undefined && [...name].some((c) => c.charCodeAt(0) < 0x20));
    const expectRefused = (
      response: { statusCode: number; body: string },
      what: string,
      sent: { id: string; response: Record<string, unknown> },
      name?: string,
    ) => {
      const [status, code] = malformed(sent, name) ? [400, "invalid_request"] : [401, "invalid_passkey"];
      expect(response.statusCode, `${what}: ${response.body.slice(0, 200)}`).toBe(status);
      expect(JSON.parse(response.body).error.code, what).toBe(code);
    };
    // A registered passkey's id, so the answers reach the signature check, and ids of none.
    const owner = h.client({ ip: "10.50.99.1" });
    await owner.signUpAndLogIn(uniqueName("pkowner"));
    const authenticator = new SoftAuthenticator(ORIGIN);
    const begun = (await owner.post("/auth/factors/passkeys/options")).json();
    expect(begun.options, JSON.stringify(begun)).toBeDefined();
    const added = await owner.post("/auth/factors/passkeys", { response: authenticator.register(begun.options) });
    expect(added.statusCode, added.body).toBe(201);
    const ids = [
      Buffer.from(authenticator.credentials[0]?.id ?? []).toString("base64url"),
      "AAAA",
      "%%",
      "x".repeat(1024),
      "",
    ];
    for (let j = 0; j < assertions("").length; j++) {
      for (const id of ids) {
        const what = `assertion ${j}, id ${id.slice(0, 8)}`;
        // An address per round: the challenges' rate limit is not what this test is about.
        const ip = `10.50.${j}.${ids.indexOf(id) + 1}`;
        const browser = h.client({ ip });
        owner.ip = ip;
        const { options } = (await browser.post("/auth/passkey/options")).json();
        const login = answer(assertions(options.challenge)[j] as Record<string, unknown>, id);
        expectRefused(await browser.post("/auth/login/passkey", { response: login }), `login ${what}`, login);
        const begun = (await browser.post("/auth/token/passkey/options")).json();
        const token = answer(assertions(begun.options.challenge)[j] as Record<string, unknown>, id);
        expectRefused(
          await browser.request({
            method: "POST",
            url: "/auth/token/passkey",
            body: { challenge_token: begun.challenge_token, response: token },
            cookies: false,
          }),
          `token ${what}`,
          token,
        );
        const asked = await owner.post("/auth/passkey/options");
        expect(asked.statusCode, asked.body).toBe(200);
        const again = asked.json();
        const reauth = answer(assertions(again.options.challenge)[j] as Record<string, unknown>, id);
        expectRefused(await owner.post("/auth/reauthenticate", { passkey: reauth }), `reauthenticate ${what}`, reauth);
      }
    }
    // Registrations: the session's live challenge, with attestations that are not.
    const attestations = ["", "AAAA", "oA", "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YUA", "A".repeat(16_000)];
    for (const [i, attestationObject] of attestations.entries()) {
      owner.ip = `10.51.${i}.1`;
      const { options } = (await owner.post("/auth/factors/passkeys/options")).json();
      const clientDataJSON = b64(
        JSON.stringify({ type: "webauthn.create", challenge: options.challenge, origin: ORIGIN }),
      );
      const sent = answer({ clientDataJSON, attestationObject, transports: ["internal", "\u0000"] });
      const name = i % 2 ? "\u0000" : undefined;
      const response = await owner.post("/auth/factors/passkeys", { response: sent, name });
      expectRefused(response, `registration ${i}`, sent, name);
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
