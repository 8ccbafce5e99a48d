/**
 * Issue 32, when and how the person last proved who they are, below HTTP: the methods'
 * normal form, `SessionManager.signIn`/`reauthenticate` on a frozen clock, the access
 * token's `auth_time`/`amr` (issued, verified, read from a token of before), and the token
 * rules the service verifier shares.
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  type Auth,
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import { type ManualClock, manualClock } from "../../packages/latchkey/src/core/clock.js";
import { normaliseAmr } from "../../packages/latchkey/src/core/records.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { makeUser } from "../../packages/latchkey/src/testing/fixtures.js";
import { checkClaims } from "../../packages/verify/src/rules.js";

const START = Date.parse("2026-03-01T12:00:00.000Z");
const client = { ip: "192.0.2.1", userAgent: "test" };

let auth: Auth;
let clock: ManualClock;

beforeEach(async () => {
  clock = manualClock(START);
  auth = await createAuth({
    stores: createMemoryStores(),
    clock,
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: {
      issuer: "https://app.example",
      alg: "EdDSA",
      accessTokenTtl: 300,
      clockTolerance: 5,
      revocation: "immediate",
      refreshReuseLeeway: 10,
    },
  });
  await auth.stores.users.create(makeUser("alice", { id: "u1", createdAt: 0, rolesAt: 0 }));
});

const signIn = (amr?: string[]) =>
  auth.sessions.signIn({ userId: "u1", kind: "bearer", remember: false, ...client, ...(amr && { amr }) });

describe("normaliseAmr", () => {
  it("sorts, drops repeats, and never answers an empty list", () => {
    expect(normaliseAmr(["pwd", "otp", "pwd"])).toEqual(["otp", "pwd"]);
    expect(normaliseAmr([])).toEqual(["pwd"]);
    expect(normaliseAmr(undefined)).toEqual(["pwd"]);
  });
});

describe("SessionManager", () => {
  it("a sign-in records now and the methods (a password by default)", async () => {
    const { session } = await signIn();
    expect(session).toMatchObject({ createdAt: START, authTime: START, amr: ["pwd"] });
    expect((await signIn(["pwd", "hwk"])).session.amr).toEqual(["hwk", "pwd"]);
    expect((await auth.sessions.findLive(session.id))?.session).toMatchObject({ authTime: START, amr: ["pwd"] });
  });

  it("reauthenticate moves authTime to now and replaces the methods; findLiveRecent does not answer the old copy", async () => {
    const { session } = await signIn();
    expect((await auth.sessions.findLiveRecent(session.id))?.session.authTime).toBe(START); // held for a second
    clock.advance(200);
    const valid = await auth.sessions.reauthenticate(session.id, ["otp", "pwd"]);
    expect(valid?.session).toEqual({ ...session, authTime: START + 200, amr: ["otp", "pwd"] });
    expect((await auth.sessions.findLiveRecent(session.id))?.session).toMatchObject({ authTime: START + 200 });
    expect((await auth.stores.sessions.findWithUser(session.id))?.session).toMatchObject({
      authTime: START + 200,
      amr: ["otp", "pwd"],
    });
  });

  it("reauthenticate answers null for an ended session, and for a disabled account's", async () => {
    const { session } = await signIn();
    await auth.sessions.end(session.id);
    expect(await auth.sessions.reauthenticate(session.id, ["pwd"])).toBeNull();
    const other = (await signIn()).session;
    // The store's flag alone (the session still stored, as in the moment before it is ended).
    await auth.stores.users.setDisabled("u1", START);
    expect(await auth.stores.sessions.findWithUser(other.id)).not.toBeNull();
    expect(await auth.sessions.reauthenticate(other.id, ["pwd"])).toBeNull();
    expect((await auth.stores.sessions.findWithUser(other.id))?.session.amr).toEqual(["pwd"]);
  });
});

describe("access tokens", () => {
  it("carry the session's auth_time (seconds) and amr; verification reads them back in ms", async () => {
    const { session } = await signIn(["otp", "pwd"]);
    clock.advance(90_500);
    const { token } = await auth.accessTokens.issueFor(session, { roles: ["user"], rolesAt: 0 });
    const payload = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString());
    expect(payload).toMatchObject({ auth_time: START / 1000, amr: ["otp", "pwd"], iat: START / 1000 + 90 });
    const check = await auth.accessTokens.verify(token);
    expect(check.ok && check.claims).toMatchObject({ authTime: START, amr: ["otp", "pwd"] });
  });

  it("never say a sign-in after their iat (a re-authentication stamped by a clock ahead of this one)", async () => {
    const { session } = await signIn();
    const ahead = { ...session, authTime: START + 3000 };
    const { token } = await auth.accessTokens.issueFor(ahead, { roles: ["user"], rolesAt: 0 });
    const check = await auth.accessTokens.verify(token);
    expect(check.ok && check.claims.authTime).toBe(START);
  });
});

describe("a token a host signs itself (accessTokens.issue)", () => {
  const input = { userId: "u1", sessionId: "s1", roles: ["user"], rolesAt: 0, notAfter: START + 3_600_000 };

  it("without authTime says no auth_time: verified, it is never a recent sign-in", async () => {
    const { token } = await auth.accessTokens.issue(input);
    const payload = JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString());
    expect(payload).not.toHaveProperty("auth_time");
    const check = await auth.accessTokens.verify(token);
    expect(check.ok && check.claims).toMatchObject({ authTime: 0, amr: ["pwd"] });
    expect(auth.recentSignIn.isRecent({ authTime: check.ok ? check.claims.authTime : START })).toBe(false);
  });

  it("sorts and deduplicates amr, and refuses one the verifiers would refuse, before signing", async () => {
    const { token } = await auth.accessTokens.issue({ ...input, amr: ["pwd", "otp", "pwd"] });
    const check = await auth.accessTokens.verify(token);
    expect(check.ok && check.claims.amr).toEqual(["otp", "pwd"]);
    for (const amr of [[], Array.from({ length: 17 }, (_, i) => `m${i}`), ["x".repeat(33)], [""]]) {
      await expect(auth.accessTokens.issue({ ...input, amr })).rejects.toThrow(TypeError);
    }
  });
});

describe("the token rules", () => {
  const rules = { ttl: 300, clockTolerance: 5 };
  const iat = START / 1000;
  const base = { sub: "u1", sid: "s1", jti: "j1", iat, exp: iat + 300 };
  const now = START + 1000;

  it("read a token of before (no auth_time, no amr) as signed in with a password at an unknown time, never recent", () => {
    const check = checkClaims(base, rules, now);
    expect(check.ok && check.token).toMatchObject({ kind: "user", authTime: 0, amr: ["pwd"] });
  });

  it("read auth_time in seconds as ms, and amr as it is", () => {
    const check = checkClaims({ ...base, auth_time: iat - 60, amr: ["hwk", "pwd"] }, rules, now);
    expect(check.ok && check.token).toMatchObject({ authTime: START - 60_000, amr: ["hwk", "pwd"] });
  });

  it("refuse them of another type, an auth_time after iat, an empty or oversized amr (claims)", () => {
    for (const bad of [
      { auth_time: "1" },
      { auth_time: iat + 1 },
      { amr: "pwd" },
      { amr: [] },
      { amr: [7] },
      { amr: Array.from({ length: 17 }, (_, i) => `m${i}`) },
      { amr: ["x".repeat(33)] },
    ]) {
      expect(checkClaims({ ...base, ...bad }, rules, now), JSON.stringify(bad)).toEqual({
        ok: false,
        reason: "claims",
      });
    }
  });
});
