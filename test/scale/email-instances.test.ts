/**
 * Issue 31 in a cluster: a password reset made on one instance ends the user's sessions on
 * every instance. Two `createAuth` instances (two simulated processes) over one set of
 * stores: one SQLite file, one PostgreSQL schema, and PostgreSQL with Redis in front. The
 * user's access token held by instance B is refused within a second of the reset on A, and
 * its refresh token is spent.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import type { MailMessage } from "../../packages/latchkey/src/core/mail.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { openTestAuth } from "../helpers/auth.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";

const PASSWORD = "correct horse battery staple";
const client = { ip: "127.0.0.1", userAgent: "test" };

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Opens the stores of one more instance of the cluster. */
type OpenStores = () => Promise<Stores>;

async function sqliteFile(): Promise<OpenStores> {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-email-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return () => openSqliteStores({ path: join(dir, "test.db") });
}

async function postgres(): Promise<OpenStores> {
  const schema = await freshSchema();
  cleanups.push(() => schema.drop());
  return () => openPostgresStores({ url: schema.url, max: 2 });
}

async function postgresAndRedis(): Promise<OpenStores> {
  const schema = await freshSchema();
  const { prefix, drop } = freshPrefix();
  cleanups.push(() => schema.drop(), drop);
  return async () => {
    const base = await openPostgresStores({ url: schema.url, max: 2 });
    // Closing the Redis stores closes their base too.
    return openRedisStores({ url: REDIS_URL, base, prefix });
  };
}

/** An instance with its own mail transport (the host's function), keeping what it sends. */
async function instance(open: OpenStores): Promise<{ auth: Auth; sent: MailMessage[] }> {
  const stores = await open();
  const sent: MailMessage[] = [];
  const auth = await openTestAuth(stores, {
    mail: { transport: async (message) => void sent.push(message), from: "tests <no-reply@example.com>" },
  });
  cleanups.push(async () => {
    await auth.close();
    await stores.close();
  });
  return { auth, sent };
}

async function until(check: () => Promise<boolean>, ms: number): Promise<number | null> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > ms) return null;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function resetEndsSessionsEverywhere(open: OpenStores) {
  const a = await instance(open);
  const b = await instance(open);
  const user = await a.auth.accounts.register("resetme", PASSWORD, undefined, { email: "resetme@example.com" });

  // The user's API client, signed in through instance B.
  const { session } = await b.auth.sessions.create({ userId: user.id, kind: "bearer", remember: false, ...client });
  const { token } = await b.auth.accessTokens.issueFor(session, user);
  const refreshToken = await b.auth.refreshTokens.issue(session);
  expect((await b.auth.accessTokens.verify(token)).ok).toBe(true);

  await a.auth.email.forgotPassword("ResetMe@example.com", client);
  await a.auth.email.idle();
  const mail = a.sent.find((m) => m.kind === "reset_password");
  const link = mail && /#token=([A-Za-z0-9_.-]+)/.exec(mail.text)?.[1];
  expect(link).toBeDefined();
  await a.auth.email.resetPassword(link as string, "a brand new passphrase 42", client);

  const took = await until(async () => !(await b.auth.accessTokens.verify(token)).ok, 1000);
  expect(took, "B still accepted the access token a second after the reset on A").not.toBeNull();
  expect(await b.auth.accessTokens.verify(token)).toMatchObject({ ok: false, reason: "revoked" });
  await expect(b.auth.refreshTokens.rotate(refreshToken, client)).rejects.toMatchObject({ code: "invalid_grant" });
}

describe("a password reset on one instance ends the user's sessions on every instance", () => {
  it("two instances over one SQLite file", async () => {
    await resetEndsSessionsEverywhere(await sqliteFile());
  });

  it.skipIf(!postgresAvailable)("two instances over one PostgreSQL schema", async () => {
    await resetEndsSessionsEverywhere(await postgres());
  });

  it.skipIf(!postgresAvailable || !redisAvailable)("two instances over PostgreSQL with Redis in front", async () => {
    await resetEndsSessionsEverywhere(await postgresAndRedis());
  });
});
