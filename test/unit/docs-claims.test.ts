/**
 * Issue 19's bugs, each a claim of the docs that did not hold, tested in process (the
 * key-ring bug is also tested across real processes in test/cli/keys-env.test.ts).
 */
import { describe, expect, it } from "vitest";
import {
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import { startMaintenance } from "../../packages/latchkey/src/core/maintenance.js";
import { argon2Hasher } from "../../packages/latchkey/src/core/password-hasher.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

/** A plain user's roles, as a token carries them. */
const USER_ROLES = { roles: ["user"], rolesAt: 0 };

const silent = { debug() {}, warn() {} } as never;

/** Options for `createAuth` on memory stores and a frozen clock. */
function memoryAuth(tokens: Partial<typeof DEFAULT_TOKEN_POLICY> = {}) {
  const stores = createMemoryStores();
  const clock = manualClock(Date.parse("2026-03-01T12:00:00Z"));
  const options = {
    stores,
    clock,
    hasher: argon2Hasher(),
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, ...tokens, issuer: "http://localhost:3000" },
  };
  return { stores, clock, options };
}

async function bearerSession(auth: Awaited<ReturnType<typeof createAuth>>, userId: string) {
  const { session } = await auth.sessions.create({
    userId,
    kind: "bearer",
    remember: true,
    ip: "127.0.0.1",
    userAgent: "t",
  });
  return session;
}

describe("claim: revocation is remembered as long as an access token lives", () => {
  it("with ACCESS_TOKEN_TTL=7200, an instance started 90 minutes after a logout refuses the logged-out token", async () => {
    const { clock, options } = memoryAuth({ accessTokenTtl: 7200 });
    const first = await createAuth(options);
    const user = await first.accounts.register("longtoken", "correct horse battery staple");
    const session = await bearerSession(first, user.id);
    const { token, expiresIn } = await first.accessTokens.issueFor(session, USER_ROLES);
    expect(expiresIn).toBe(7200);
    await first.sessions.end(session.id);
    clock.advance(90 * 60_000);
    await startMaintenance(first, { log: silent }).runOnce();
    const later = await createAuth(options);
    try {
      expect(await later.accessTokens.verify(token)).toEqual({
        ok: false,
        reason: "revoked",
        sessionId: expect.any(String),
      });
    } finally {
      first.stop();
      later.stop();
    }
  });
});

describe("claim: the change feed keeps one token lifetime of history, and no more", () => {
  it("an entry stays while a token of its session can verify, and is pruned after (issue 17: the soak's Redis growth)", async () => {
    const { stores, clock, options } = memoryAuth();
    const first = await createAuth(options);
    const user = await first.accounts.register("feedtrim", "correct horse battery staple");
    const session = await bearerSession(first, user.id);
    const { token } = await first.accessTokens.issueFor(session, USER_ROLES);
    await first.sessions.end(session.id);
    const maintenance = startMaintenance(first, { log: silent });
    const ended = async () => (await stores.changes.read(0, 0, 100)).filter((c) => c.subject.includes(session.id));

    // Just inside the token's lifetime (exp plus the clock tolerance): kept, and a new instance refuses it.
    clock.advance(first.tokenLifetimeMs - 1000);
    await maintenance.runOnce();
    expect(await ended()).toHaveLength(1);
    const later = await createAuth(options);
    // Past the lifetime: the token verifies nowhere, so its entry goes (an hour's floor kept it).
    try {
      expect(await later.accessTokens.verify(token)).toEqual({
        ok: false,
        reason: "revoked",
        sessionId: expect.any(String),
      });
      clock.advance(2000);
      await maintenance.runOnce();
      expect((await later.accessTokens.verify(token)).ok).toBe(false);
      expect(await ended()).toEqual([]);
    } finally {
      first.stop();
      later.stop();
    }
  });
});

describe("claim: a process never retires keys it does not sign with", () => {
  it("a command-line process with another JWT_ALG creates and retires nothing; the server keeps signing", async () => {
    const stores = createMemoryStores();
    const base = {
      stores,
      hasher: argon2Hasher(),
      sessions: DEFAULT_SESSION_POLICY,
      throttle: DEFAULT_THROTTLE_POLICY,
    };
    const server = await createAuth({ ...base, tokens: { ...DEFAULT_TOKEN_POLICY, alg: "ES256", issuer: "http://x" } });
    const cli = await createAuth({
      ...base,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "http://x" },
      createKeys: false,
    });
    expect((await stores.keys.list()).map((k) => [k.alg, k.retiredAt])).toEqual([["ES256", null]]);
    // Even a rotation of another algorithm leaves the ES256 key alone.
    await cli.keys.rotate();
    await server.keys.reload();
    expect((await stores.keys.list()).filter((k) => k.alg === "ES256")[0]?.retiredAt).toBeNull();
    expect(server.keys.signer().kid).toBe((await stores.keys.list())[0]?.kid);
    server.stop();
    cli.stop();
  });

  it("a server whose signing key is retired under it creates a new one on reload, and never answers a 500", async () => {
    const stores = createMemoryStores();
    const server = await createAuth({
      stores,
      hasher: argon2Hasher(),
      sessions: DEFAULT_SESSION_POLICY,
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "http://x" },
    });
    const before = server.keys.signer().kid;
    await stores.keys.retireOthers("none", "EdDSA", Date.now()); // as an old release's CLI did
    await server.keys.reload();
    expect(server.keys.signer().kid).not.toBe(before);
    server.stop();
  });
});
