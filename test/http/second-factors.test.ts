/**
 * Issue 32, second factors over HTTP: an authenticator app (TOTP) is added with a recent
 * sign-in and confirmed by its first code (ten recovery codes come with it); from then on
 * a password sign-in opens no session but a pending one, bound to the browser (a cookie)
 * or to a bearer client (`pending_token`), which only a right code completes, once. Codes
 * are single use, wrong ones are counted and five end the pending sign-in, which also
 * expires; a recovery code works once. A re-authentication needs the code too. Under
 * every strategy, through the Fastify plugin and the fetch adapter, on a frozen clock.
 */
import { randomBytes } from "node:crypto";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { type ManualClock, manualClock } from "../../packages/latchkey/src/core/clock.js";
import { totpCode, totpKey, totpStep } from "../../packages/latchkey/src/core/totp.js";
import type { Strategy } from "../../packages/latchkey/src/http/context.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { adminCore, Caller, codeOf, type Door, openDoors, PASSWORD, userWith } from "../helpers/admin.js";

const START = Date.parse("2026-03-01T12:00:00.000Z");
const WINDOW = 60;

/** A browser that signs in with its password only, keeping whatever the answer sets. */
function passwordLogin(caller: Caller, name: string, extra: object = {}) {
  return caller.send("POST", "/auth/login", { json: { username: name, password: PASSWORD, ...extra } });
}

/** Adds an authenticator app for a signed-in caller; its key and recovery codes. */
async function enrolTotp(caller: Caller, clock: ManualClock) {
  const begun = await caller.send("POST", "/auth/factors/totp");
  expect(begun.status, begun.text).toBe(200);
  const { factorId, secret, uri, qrSvg } = begun.json();
  expect(uri).toMatch(/^otpauth:\/\/totp\/latchkey:/);
  expect(qrSvg).toMatch(/^<svg/);
  expect(begun.headers.get("cache-control")).toBe("no-store");
  const key = totpKey(secret);
  const wrong = await caller.send("POST", "/auth/factors/totp/confirm", {
    json: { factorId, code: totpCode(key, totpStep(clock.now()) + 5) },
  });
  expect(codeOf(wrong)).toBe("invalid_code");
  const confirmed = await caller.send("POST", "/auth/factors/totp/confirm", {
    json: { factorId, code: totpCode(key, totpStep(clock.now())) },
  });
  expect(confirmed.status, confirmed.text).toBe(200);
  const { recoveryCodes } = confirmed.json();
  expect(recoveryCodes).toHaveLength(10);
  for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
  // The code that confirmed is spent: the next sign-in needs the next step's.
  clock.advance(30_000);
  return { key, recoveryCodes: recoveryCodes as string[] };
}

const nowCode = (key: Uint8Array, clock: ManualClock) => totpCode(key, totpStep(clock.now()));

describe.each(["session", "jwt", "hybrid"] as const)("STRATEGY=%s", (strategy: Strategy) => {
  let clock: ManualClock;
  let doors: Awaited<ReturnType<typeof openDoors>>;
  beforeAll(async () => {
    clock = manualClock(START);
    const keys = [randomBytes(32)];
    doors = await openDoors(strategy, {
      auth: () => adminCore(createMemoryStores(), { clock, reauthWindow: WINDOW, factors: { keys } }),
    });
  });
  afterAll(async () => {
    for (const door of doors) await door.close();
  });

  it.each(["fastify", "fetch"] as const)(
    "through %s: an app is added, and a browser's sign-in then needs its code, once",
    async (name) => {
      const { auth, door } = doors.find((d) => d.name === name) as { auth: Auth; door: Door };
      const user = await userWith(auth, `${name}2fa`);
      const owner = await new Caller(door).login(user.username);
      expect((await owner.send("GET", "/auth/factors")).json()).toEqual({
        totp: null,
        passkeys: [],
        recoveryCodes: 0,
        totpAvailable: true,
        passkeysAvailable: true,
      });
      const { key, recoveryCodes } = await enrolTotp(owner, clock);
      expect((await owner.send("GET", "/auth/factors")).json()).toMatchObject({
        totp: { name: "Authenticator app" },
        recoveryCodes: 10,
      });

      // The password alone: 202, no session, a pending-sign-in cookie.
      const browser = new Caller(door);
      const first = await passwordLogin(browser, user.username);
      expect(first.status, first.text).toBe(202);
      expect(first.json()).toEqual({ secondFactor: { methods: ["totp", "recovery_code"], expiresIn: 300 } });
      const cookies = first.headers.getSetCookie();
      expect(cookies).toHaveLength(1);
      expect(cookies[0]).toMatch(
        /^__Host-signin=[\w-]{22}\.[\w-]{43}; Max-Age=300; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
      );
      expect((await browser.send("GET", "/auth/me")).status).toBe(401);

      // Another browser cannot finish it, even with the right code.
      const stranger = await new Caller(door).send("POST", "/auth/login/second-factor", {
        json: { code: nowCode(key, clock) },
      });
      expect(codeOf(stranger)).toBe("sign_in_expired");

      const wrong = await browser.send("POST", "/auth/login/second-factor", { json: { code: "000000" } });
      expect(wrong.status).toBe(401);
      expect(codeOf(wrong)).toBe("invalid_code");
      const done = await browser.send("POST", "/auth/login/second-factor", { json: { code: nowCode(key, clock) } });
      expect(done.status, done.text).toBe(200);
      browser.csrf = done.json().csrfToken;
      expect(done.json().session.amr).toEqual(["mfa", "otp", "pwd"]);
      expect(done.headers.getSetCookie().some((c) => /^__Host-signin=;/.test(c))).toBe(true);
      const me = await browser.send("GET", "/auth/me");
      expect(me.status).toBe(200);
      if (strategy !== "session") {
        const access = [...browser.jar.values()].find((v) => v.startsWith("eyJ")) as string;
        expect(decodeJwt(access).amr).toEqual(["mfa", "otp", "pwd"]);
      }

      // The same code again, on a new sign-in: refused (a replay), even within its step.
      const again = new Caller(door);
      expect((await passwordLogin(again, user.username)).status).toBe(202);
      const replay = await again.send("POST", "/auth/login/second-factor", { json: { code: nowCode(key, clock) } });
      expect(codeOf(replay)).toBe("invalid_code");
      // A recovery code works once, whatever its case and dashes.
      const recovery = recoveryCodes[0] as string;
      const byRecovery = await again.send("POST", "/auth/login/second-factor", {
        json: { recoveryCode: recovery.toUpperCase().replaceAll("-", " ") },
      });
      expect(byRecovery.status, byRecovery.text).toBe(200);
      const third = new Caller(door);
      await passwordLogin(third, user.username);
      expect(codeOf(await third.send("POST", "/auth/login/second-factor", { json: { recoveryCode: recovery } }))).toBe(
        "invalid_code",
      );
      expect((await owner.send("GET", "/auth/factors")).json().recoveryCodes).toBe(9);
      const listed = (await owner.send("GET", "/auth/events")).json().events as { type: string; left?: number }[];
      expect(listed.find((e) => e.type === "recovery_code_used")?.left).toBe(9);
      const events = listed.map((e) => e.type);
      expect(events).toEqual(
        expect.arrayContaining([
          "totp_enabled",
          "recovery_codes_generated",
          "second_factor_failed",
          "recovery_code_used",
          "second_factor_requested",
        ]),
      );
    },
  );

  it.each(["fastify", "fetch"] as const)(
    "through %s: a pending sign-in expires, is single use, and ends after five wrong codes",
    async (name) => {
      const { auth, door } = doors.find((d) => d.name === name) as { auth: Auth; door: Door };
      const user = await userWith(auth, `${name}pend`);
      const { key } = await enrolTotp(await new Caller(door).login(user.username), clock);

      const late = new Caller(door);
      await passwordLogin(late, user.username);
      clock.advance(301_000);
      expect(
        codeOf(await late.send("POST", "/auth/login/second-factor", { json: { code: nowCode(key, clock) } })),
      ).toBe("sign_in_expired");

      const guesser = new Caller(door);
      await passwordLogin(guesser, user.username);
      for (let i = 1; i <= 4; i++) {
        const answer = await guesser.send("POST", "/auth/login/second-factor", { json: { code: "123456" } });
        expect(codeOf(answer), `guess ${i}`).toBe("invalid_code");
      }
      const fifth = await guesser.send("POST", "/auth/login/second-factor", { json: { code: "123456" } });
      expect(codeOf(fifth)).toBe("sign_in_expired");
      // Now the right code is too late for this pending sign-in; and the account is locked
      // for codes (five failures) until the window passes.
      const right = await guesser.send("POST", "/auth/login/second-factor", { json: { code: nowCode(key, clock) } });
      expect(codeOf(right)).toBe("sign_in_expired");
      const fresh = new Caller(door);
      await passwordLogin(fresh, user.username);
      const locked = await fresh.send("POST", "/auth/login/second-factor", { json: { code: nowCode(key, clock) } });
      expect(locked.status).toBe(429);
      clock.advance(15 * 60_000 + 1000);
      const later = new Caller(door);
      await passwordLogin(later, user.username);
      const ok = await later.send("POST", "/auth/login/second-factor", { json: { code: nowCode(key, clock) } });
      expect(ok.status, ok.text).toBe(200);
      // Used: a second request with the same cookie is refused.
      const reused = await later.send("POST", "/auth/login/second-factor", { json: { code: "654321" } });
      expect(codeOf(reused)).toBe("sign_in_expired");
    },
  );

  it.each(["fastify", "fetch"] as const)(
    "through %s: a bearer client gets a pending token, and the tokens for it and a code",
    async (name) => {
      const { auth, door } = doors.find((d) => d.name === name) as { auth: Auth; door: Door };
      const user = await userWith(auth, `${name}bear`);
      const { key } = await enrolTotp(await new Caller(door).login(user.username), clock);
      const client = new Caller(door);
      const first = await client.send("POST", "/auth/token", { json: { username: user.username, password: PASSWORD } });
      expect(first.status, first.text).toBe(202);
      const { pending_token, methods, expires_in } = first.json();
      expect({ methods, expires_in }).toEqual({ methods: ["totp", "recovery_code"], expires_in: 300 });
      expect(first.headers.getSetCookie()).toEqual([]);
      // A browser's route does not take a token's pending sign-in, nor the other way round.
      const crossed = await client.send("POST", "/auth/login/second-factor", { json: { code: nowCode(key, clock) } });
      expect(codeOf(crossed)).toBe("sign_in_expired");
      const tokens = await client.send("POST", "/auth/token/second-factor", {
        json: { pending_token, code: nowCode(key, clock) },
      });
      expect(tokens.status, tokens.text).toBe(200);
      expect(decodeJwt(tokens.json().access_token)).toMatchObject({ amr: ["mfa", "otp", "pwd"] });
      expect(tokens.json().refresh_token).toEqual(expect.any(String));
      const twice = await client.send("POST", "/auth/token/second-factor", {
        json: { pending_token, code: nowCode(key, clock) },
      });
      expect(codeOf(twice)).toBe("sign_in_expired");
      const neither = await client.send("POST", "/auth/token/second-factor", { json: { pending_token } });
      expect(neither.status).toBe(400);
    },
  );

  it.each(["fastify", "fetch"] as const)(
    "through %s: removing the app and new codes need a recent sign-in, which needs the code",
    async (name) => {
      const { auth, door } = doors.find((d) => d.name === name) as { auth: Auth; door: Door };
      const user = await userWith(auth, `${name}step`);
      const owner = await new Caller(door).login(user.username);
      const { key } = await enrolTotp(owner, clock);
      clock.advance((WINDOW + 1) * 1000);
      for (const [method, path] of [
        ["DELETE", "/auth/factors/totp"],
        ["POST", "/auth/factors/recovery-codes"],
        ["POST", "/auth/factors/totp"],
      ] as const) {
        expect(codeOf(await owner.send(method, path)), path).toBe("reauthentication_required");
      }
      // With a factor, the body's password no longer stands in for a recent sign-in.
      const change = await owner.send("POST", "/auth/password", {
        json: { currentPassword: PASSWORD, newPassword: "a different long passphrase" },
      });
      expect(codeOf(change)).toBe("reauthentication_required");
      const passwordOnly = await owner.send("POST", "/auth/reauthenticate", { json: { password: PASSWORD } });
      expect(codeOf(passwordOnly)).toBe("invalid_code");
      const withCode = await owner.send("POST", "/auth/reauthenticate", {
        json: { password: PASSWORD, code: nowCode(key, clock) },
      });
      expect(withCode.status, withCode.text).toBe(200);
      expect(withCode.json().amr).toEqual(["mfa", "otp", "pwd"]);
      const codes = await owner.send("POST", "/auth/factors/recovery-codes");
      expect(codes.status, codes.text).toBe(200);
      expect(codes.json().recoveryCodes).toHaveLength(10);
      expect((await owner.send("DELETE", "/auth/factors/totp")).status).toBe(204);
      expect((await owner.send("GET", "/auth/factors")).json()).toMatchObject({
        totp: null,
        passkeys: [],
        recoveryCodes: 0,
      });
      // The password alone signs in again.
      expect((await passwordLogin(new Caller(door), user.username)).status).toBe(200);
      expect((await owner.send("DELETE", "/auth/factors/totp")).status).toBe(404);
    },
  );
});

describe("review of issue 32: what a password alone cannot keep", () => {
  let clock: ManualClock;
  let doors: Awaited<ReturnType<typeof openDoors>>;
  beforeAll(async () => {
    clock = manualClock(START);
    const keys = [randomBytes(32)];
    doors = await openDoors("jwt", {
      auth: () => adminCore(createMemoryStores(), { clock, reauthWindow: WINDOW, factors: { keys } }),
    });
  });
  afterAll(async () => {
    for (const door of doors) await door.close();
  });

  it("turning the app on ends the sessions opened with the password alone; this one now counts with the factor", async () => {
    const { auth, door } = doors[0] as { auth: Auth; door: Door };
    const user = await userWith(auth, "thief");
    const thief = await new Caller(door).login(user.username);
    const owner = await new Caller(door).login(user.username);
    const begun = (await owner.send("POST", "/auth/factors/totp")).json();
    const key = totpKey(begun.secret);
    const confirmed = await owner.send("POST", "/auth/factors/totp/confirm", {
      json: { factorId: begun.factorId, code: nowCode(key, clock) },
    });
    expect(confirmed.json().endedSessions).toBe(1);
    expect((await thief.send("GET", "/auth/me")).status).toBe(401);
    expect((await thief.send("DELETE", "/auth/factors/totp")).status).toBe(401);
    const me = (await owner.send("GET", "/auth/me")).json();
    expect(me.session.amr).toEqual(["mfa", "otp", "pwd"]);
    // Within the window the owner may change what needs a full sign-in at once.
    expect((await owner.send("POST", "/auth/factors/recovery-codes")).status).toBe(200);
  });

  it("a pending sign-in ends when every session does: a password change, sign-out everywhere", async () => {
    const { auth, door } = doors[0] as { auth: Auth; door: Door };
    const user = await userWith(auth, "pender");
    const owner = await new Caller(door).login(user.username);
    const begun = (await owner.send("POST", "/auth/factors/totp")).json();
    const key = totpKey(begun.secret);
    await owner.send("POST", "/auth/factors/totp/confirm", {
      json: { factorId: begun.factorId, code: nowCode(key, clock) },
    });
    const attacker = new Caller(door);
    expect((await passwordLogin(attacker, user.username)).status).toBe(202);
    const token = await new Caller(door).send("POST", "/auth/token", {
      json: { username: user.username, password: PASSWORD },
    });
    expect(token.status).toBe(202);
    expect((await owner.send("POST", "/auth/logout-others")).status).toBe(200);
    expect((await owner.send("POST", "/auth/logout-all")).status).toBe(204);
    const late = await attacker.send("POST", "/auth/login/second-factor", {
      json: { code: totpCode(key, totpStep(clock.now()) + 1) },
    });
    expect(codeOf(late)).toBe("sign_in_expired");
    const lateToken = await new Caller(door).send("POST", "/auth/token/second-factor", {
      json: { pending_token: token.json().pending_token, code: totpCode(key, totpStep(clock.now()) + 1) },
    });
    expect(codeOf(lateToken)).toBe("sign_in_expired");
  });

  it("wrong codes from a stranger's browser do not lock the owner's browser out", async () => {
    const { auth, door } = doors[0] as { auth: Auth; door: Door };
    const user = await userWith(auth, "locked");
    const owner = await new Caller(door).login(user.username); // this browser now has a device cookie
    const begun = (await owner.send("POST", "/auth/factors/totp")).json();
    const key = totpKey(begun.secret);
    await owner.send("POST", "/auth/factors/totp/confirm", {
      json: { factorId: begun.factorId, code: nowCode(key, clock) },
    });
    for (let i = 0; i < 3; i++) {
      const stranger = new Caller(door);
      await passwordLogin(stranger, user.username);
      for (let j = 0; j < 4; j++)
        await stranger.send("POST", "/auth/login/second-factor", { json: { code: "000000" } });
    }
    const blocked = new Caller(door);
    await passwordLogin(blocked, user.username);
    expect((await blocked.send("POST", "/auth/login/second-factor", { json: { code: "000000" } })).status).toBe(429);
    // The owner's browser (its device cookie) signs in with its code.
    expect((await passwordLogin(owner, user.username)).status).toBe(202);
    const back = await owner.send("POST", "/auth/login/second-factor", {
      json: { code: totpCode(key, totpStep(clock.now()) + 1) },
    });
    expect(back.status, back.text).toBe(200);
  });
});

describe("without a server key", () => {
  it("says authenticator apps are unavailable, and sign-in is as before", async () => {
    const doors = await openDoors("session", { auth: () => adminCore(createMemoryStores()) });
    try {
      for (const { auth, door } of doors) {
        const user = await userWith(auth, "nokey");
        const caller = await new Caller(door).login(user.username);
        expect((await caller.send("GET", "/auth/factors")).json().totpAvailable).toBe(false);
        const begun = await caller.send("POST", "/auth/factors/totp");
        expect(begun.status).toBe(409);
        expect(codeOf(begun)).toBe("factor_unavailable");
      }
    } finally {
      for (const door of doors) await door.close();
    }
  });
});
