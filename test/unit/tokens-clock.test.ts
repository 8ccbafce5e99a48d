/**
 * AccessTokens, KeyRing and RefreshTokens on a frozen clock: every boundary of time they
 * promise (expiry and its tolerance, the session's own expiry, a retired key's window,
 * the reuse leeway) checked to the second, with no waiting.
 */
import { beforeEach, describe, expect, it } from "vitest";
import {
  type Auth,
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import { type ManualClock, manualClock } from "../../packages/latchkey/src/core/clock.js";
import { InvalidGrantError } from "../../packages/latchkey/src/core/refresh-tokens.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

/** A plain user's roles, as a token carries them. */
const USER_ROLES = { roles: ["user"], rolesAt: 0 };

const SECOND = 1000;
const TTL = 300;
const TOLERANCE = 5;
const LEEWAY = 10;
const client = { ip: "192.0.2.1", userAgent: "test" };

let auth: Auth;
let clock: ManualClock;

async function open(revocation: "immediate" | "expiry" = "immediate"): Promise<void> {
  clock = manualClock(Date.parse("2026-03-01T12:00:00.000Z"));
  auth = await createAuth({
    stores: createMemoryStores(),
    clock,
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: {
      issuer: "https://app.example",
      alg: "EdDSA",
      accessTokenTtl: TTL,
      clockTolerance: TOLERANCE,
      revocation,
      refreshReuseLeeway: LEEWAY,
    },
  });
  await auth.stores.users.create({
    id: "u1",
    username: "alice",
    passwordHash: "x",
    createdAt: 0,
    disabledAt: null,
    roles: ["user"],
    rolesAt: 0,
    email: null,
    emailVerifiedAt: null,
  });
}

const signIn = () => auth.sessions.signIn({ userId: "u1", kind: "bearer", remember: false, ...client });

describe("AccessTokens", () => {
  beforeEach(() => open());

  it("verifies until the last second before exp plus the clock tolerance, and says expired at it", async () => {
    const { session } = await signIn();
    const { token, expiresIn } = await auth.accessTokens.issueFor(session, USER_ROLES);
    expect(expiresIn).toBe(TTL);
    clock.advance((TTL + TOLERANCE - 1) * SECOND);
    expect((await auth.accessTokens.verify(token)).ok).toBe(true);
    clock.advance(SECOND);
    expect(await auth.accessTokens.verify(token)).toEqual({ ok: false, reason: "expired" });
  });

  it("remembers verified tokens until they expire, not after (issue 17: the soak's heap grew by the dead ones)", async () => {
    const tokens = [];
    for (let i = 0; i < 4; i++) {
      const { session } = await signIn();
      tokens.push((await auth.accessTokens.issueFor(session, USER_ROLES)).token);
      clock.advance(SECOND);
    }
    for (const token of tokens) expect((await auth.accessTokens.verify(token)).ok).toBe(true);
    expect(auth.accessTokens.remembered).toBe(4);
    // Past the first two tokens' exp plus the tolerance: they go when a new token is remembered.
    clock.advance((TTL + TOLERANCE - 3) * SECOND);
    const { session } = await signIn();
    expect((await auth.accessTokens.verify((await auth.accessTokens.issueFor(session, USER_ROLES)).token)).ok).toBe(
      true,
    );
    expect(auth.accessTokens.remembered).toBe(3);
    expect(await auth.accessTokens.verify(tokens[0] as string)).toEqual({ ok: false, reason: "expired" });
  });

  it("never outlives the session: a token issued near its idle expiry ends with it", async () => {
    const { session } = await signIn();
    // Half the idle timeout caps every token, so steady use renews before the session idles.
    const { expiresAt } = await auth.accessTokens.issueFor(session, USER_ROLES);
    expect(expiresAt).toBeLessThanOrEqual(clock.now() + session.idleTimeoutMs / 2);
    const { token, expiresAt: capped } = await auth.accessTokens.issue({
      userId: "u1",
      sessionId: session.id,
      ...USER_ROLES,
      notAfter: clock.now() + 60 * SECOND,
    });
    expect(capped).toBe(clock.now() + 60 * SECOND);
    clock.advance((60 + TOLERANCE + 1) * SECOND);
    expect(await auth.accessTokens.verify(token)).toEqual({ ok: false, reason: "expired" });
  });

  it("under immediate revocation refuses a token once its session ends, cached or not", async () => {
    const { session } = await signIn();
    const { token } = await auth.accessTokens.issueFor(session, USER_ROLES);
    expect((await auth.accessTokens.verify(token)).ok).toBe(true); // now cached
    await auth.sessions.end(session.id);
    expect(await auth.accessTokens.verify(token)).toEqual({
      ok: false,
      reason: "revoked",
      sessionId: expect.any(String),
    });
  });

  it("under expiry revocation keeps accepting it until exp", async () => {
    await open("expiry");
    const { session } = await signIn();
    const { token } = await auth.accessTokens.issueFor(session, USER_ROLES);
    await auth.sessions.end(session.id);
    expect((await auth.accessTokens.verify(token)).ok).toBe(true);
    clock.advance((TTL + TOLERANCE + 1) * SECOND);
    expect((await auth.accessTokens.verify(token)).ok).toBe(false);
  });

  it("refuses a token whose signature, or whose issuer's key, it does not know", async () => {
    const { session } = await signIn();
    const { token } = await auth.accessTokens.issueFor(session, USER_ROLES);
    const [head, body, signature] = token.split(".") as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BA" : "AA"}`;
    expect(await auth.accessTokens.verify(`${head}.${body}.${flipped}`)).toEqual({ ok: false, reason: "invalid" });
    const other = await (async () => {
      const keep = auth;
      await open();
      const { session: s } = await signIn();
      const issued = await auth.accessTokens.issueFor(s, USER_ROLES);
      auth = keep;
      return issued.token;
    })();
    expect(await auth.accessTokens.verify(other)).toEqual({ ok: false, reason: "invalid" });
  });
});

describe("KeyRing", () => {
  beforeEach(() => open());

  it("after a rotation, the old key verifies for one token lifetime, then leaves the JWKS and is pruned", async () => {
    const { session } = await signIn();
    const before = auth.keys.signer().kid;
    const { token } = await auth.accessTokens.issueFor(session, USER_ROLES);
    const next = await auth.keys.rotate();
    expect(auth.keys.signer().kid).toBe(next);
    expect(
      auth.keys
        .jwks()
        .keys.map((k) => k.kid)
        .sort(),
    ).toEqual([before, next].sort());
    expect((await auth.accessTokens.verify(token)).ok).toBe(true);
    expect(await auth.keys.prune()).toBe(0);
    clock.advance((TTL + TOLERANCE) * SECOND + 1);
    expect(auth.keys.verifier(before)).toBeUndefined();
    expect(auth.keys.jwks().keys.map((k) => k.kid)).toEqual([next]);
    expect(await auth.keys.prune()).toBe(1);
    expect((await auth.stores.keys.list()).map((k) => k.kid)).toEqual([next]);
  });
});

describe("RefreshTokens", () => {
  beforeEach(() => open());

  it("rotates once; a reuse inside the leeway is a racing duplicate that leaves the session alone", async () => {
    const { session } = await signIn();
    const first = await auth.refreshTokens.issue(session);
    const rotated = await auth.refreshTokens.rotate(first, client);
    expect(rotated.refreshToken).not.toBe(first);
    clock.advance(LEEWAY * SECOND);
    const racing = await auth.refreshTokens.rotate(first, client).catch((error: unknown) => error);
    expect(racing).toBeInstanceOf(InvalidGrantError);
    expect((racing as InvalidGrantError).racing).toBe(true);
    expect(await auth.sessions.findLive(session.id)).not.toBeNull();
  });

  it("a reuse past the leeway ends the session and records refresh_reuse_detected", async () => {
    const { session } = await signIn();
    const first = await auth.refreshTokens.issue(session);
    const { refreshToken: second } = await auth.refreshTokens.rotate(first, client);
    clock.advance(LEEWAY * SECOND + 1);
    const reused = await auth.refreshTokens.rotate(first, client).catch((error: unknown) => error);
    expect((reused as InvalidGrantError).racing).toBe(false);
    expect(await auth.sessions.findLive(session.id)).toBeNull();
    await expect(auth.refreshTokens.rotate(second, client)).rejects.toBeInstanceOf(InvalidGrantError);
    expect((await auth.log.list("u1")).map((e) => e.type)).toContain("refresh_reuse_detected");
  });

  it("expires with the session's idle timeout", async () => {
    const { session } = await signIn();
    const token = await auth.refreshTokens.issue(session);
    clock.advance(session.idleTimeoutMs);
    await expect(auth.refreshTokens.rotate(token, client)).rejects.toThrow(/expired/);
  });
});
