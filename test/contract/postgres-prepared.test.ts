/**
 * The PostgreSQL request-path reads (latchkey's session lookup, and the product's to-do
 * list through the database handle) run as named prepared statements, outside the store
 * guard: a lost connection must still be a StoreUnavailableError (503), and the statements
 * must be prepared again on the connections that replace it. A connection lost under a query
 * in flight fails that query and nothing else: it used to be an uncaught exception.
 */
import { sql } from "kysely";
import { expect, it, vi } from "vitest";
import { StoreUnavailableError } from "../../packages/latchkey/src/core/errors.js";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import { openTodoStore } from "../../packages/server/src/app/todo-store.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { describeWith } from "../helpers/services.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

describeWith("PostgreSQL", postgresAvailable)("PostgreSQL prepared reads", () => {
  it("answer StoreUnavailableError while the database is unreachable, and read again once it is back", async () => {
    const schema = await freshSchema();
    const direct = new URL(schema.url);
    const proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
    const proxied = new URL(schema.url);
    proxied.port = String(proxy.port);
    const stores = await openPostgresStores({ url: proxied.toString() });
    try {
      const now = Date.now();
      const userId = "0194d2c6-0000-7000-8000-000000000002";
      await stores.users.create({
        id: userId,
        username: "ada",
        passwordHash: "x",
        createdAt: now,
        disabledAt: null,
        roles: ["user"],
        rolesAt: now,
        email: null,
        emailVerifiedAt: null,
      });
      const session = {
        id: "prepared-session-id-00",
        userId,
        secretHash: "hash",
        kind: "session" as const,
        remember: true,
        createdAt: now,
        lastSeenAt: now,
        expiresAt: now + 3_600_000,
        idleTimeoutMs: 600_000,
        idleExpiresAt: now + 600_000,
        ip: "203.0.113.9",
        userAgent: "test",
        previousSecretHash: null,
        secretRotatedAt: now,
        authTime: now,
        amr: ["pwd"],
      };
      await stores.sessions.create(session);
      const todos = await openTodoStore(stores);
      await todos.create({ id: "t1", userId, title: "one", done: false, createdAt: now, updatedAt: now });
      expect(await stores.sessions.findWithUser(session.id)).toEqual({
        session,
        user: { id: userId, username: "ada", createdAt: now, disabledAt: null, roles: ["user"], rolesAt: now },
      });
      expect(await stores.sessions.findWithUser("no-such-session")).toBeNull();
      expect((await todos.list(userId)).map((t) => [t.title, t.userId, t.done])).toEqual([["one", userId, false]]);

      proxy.cut();
      await expect(stores.sessions.findWithUser(session.id)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(todos.list(userId)).rejects.toBeInstanceOf(StoreUnavailableError);

      proxy.restore();
      let found: unknown = null;
      for (let i = 0; i < 50 && found === null; i++) {
        found = await stores.sessions.findWithUser(session.id).catch(() => null);
        if (found === null) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(found).toEqual({
        session,
        user: { id: userId, username: "ada", createdAt: now, disabledAt: null, roles: ["user"], rolesAt: now },
      });
      expect(await todos.list(userId)).toHaveLength(1);
    } finally {
      await stores.close();
      await proxy.close();
      await schema.drop();
    }
  }, 30_000);

  it("fail a query in flight when its connection drops, and the process lives on", async () => {
    const schema = await freshSchema();
    const direct = new URL(schema.url);
    const proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432));
    const proxied = new URL(schema.url);
    proxied.port = String(proxy.port);
    const stores = await openPostgresStores({ url: proxied.toString(), max: 2 });
    try {
      // The loss reached the client in use as an `error` event nobody heard: an uncaught
      // exception, which ends a host's process (vitest fails the run on it).
      const kysely = stores.database?.kysely;
      if (!kysely) throw new Error("the PostgreSQL stores lend their database");
      const inFlight = sql`select pg_sleep(5)`.execute(kysely).catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 200));
      proxy.cut();
      expect(await inFlight).toBeInstanceOf(Error);
      await expect(stores.sessions.findWithUser("in-flight-session")).rejects.toBeInstanceOf(StoreUnavailableError);
      proxy.restore();
      await vi.waitFor(async () => expect(await stores.sessions.findWithUser("in-flight-session")).toBeNull(), {
        timeout: 5000,
        interval: 100,
      });
    } finally {
      await stores.close();
      await proxy.close();
      await schema.drop();
    }
  }, 30_000);
});
