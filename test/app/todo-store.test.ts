/**
 * The product's to-dos, on the database latchkey lends (`stores.database`): the same
 * promises on SQLite and PostgreSQL (and PostgreSQL under Redis, which passes its base's
 * database on), a user's to-dos deleted with the user, and a database made before the
 * to-dos left the library (its `todos` table made by latchkey's old migrations) opened
 * without losing a row.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { openTodoStore } from "../../packages/server/src/app/todo-store.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";

const T0 = Date.parse("2026-03-01T12:00:00.000Z");
const user = (id: string, username: string) => ({
  id,
  username,
  passwordHash: "x",
  createdAt: T0,
  disabledAt: null,
  roles: ["user"],
  rolesAt: 0,
  email: null,
  emailVerifiedAt: null,
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function sqlite(): Promise<Stores> {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-todos-"));
  const stores = await openSqliteStores({ path: join(dir, "db.sqlite") });
  cleanups.push(async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return stores;
}

async function postgres(): Promise<Stores> {
  const schema = await freshSchema();
  const stores = await openPostgresStores({ url: schema.url });
  cleanups.push(async () => {
    await stores.close();
    await schema.drop();
  });
  return stores;
}

async function postgresWithRedis(): Promise<Stores> {
  const schema = await freshSchema();
  const prefix = freshPrefix();
  const base = await openPostgresStores({ url: schema.url });
  const stores = await openRedisStores({ url: REDIS_URL, base, prefix: prefix.prefix });
  cleanups.push(async () => {
    await stores.close(); // and its base
    await prefix.drop();
    await schema.drop();
  });
  return stores;
}

function contract(open: () => Promise<Stores>) {
  it("keeps each user's to-dos to that user for every operation, oldest first", async () => {
    const stores = await open();
    const todos = await openTodoStore(stores);
    await stores.users.create(user("u-alice", "alice"));
    await stores.users.create(user("u-bob", "bob"));
    const todo = { id: "t1", userId: "u-alice", title: "milk", done: false, createdAt: T0, updatedAt: T0 };
    await todos.create(todo);
    await todos.create({ ...todo, id: "t2", title: "eggs", createdAt: T0 + 1 });
    expect(await todos.list("u-alice")).toEqual([todo, { ...todo, id: "t2", title: "eggs", createdAt: T0 + 1 }]);
    expect(await todos.list("u-bob")).toEqual([]);
    expect(await todos.update("u-bob", "t1", { done: true, updatedAt: T0 + 9 })).toBeNull();
    expect(await todos.delete("u-bob", "t1")).toBe(false);
    expect(await todos.update("u-alice", "t1", { done: true, updatedAt: T0 + 9 })).toEqual({
      ...todo,
      done: true,
      updatedAt: T0 + 9,
    });
    expect(await todos.update("u-alice", "t1", { title: "oat milk", updatedAt: T0 + 10 })).toMatchObject({
      title: "oat milk",
      done: true,
    });
    expect(await todos.delete("u-alice", "t1")).toBe(true);
    expect(await todos.delete("u-alice", "t1")).toBe(false);
  });

  it("deletes a user's to-dos with the user; opening twice migrates once", async () => {
    const stores = await open();
    const todos = await openTodoStore(stores);
    await openTodoStore(stores);
    await stores.users.create(user("u-carol", "carol"));
    await todos.create({ id: "t9", userId: "u-carol", title: "x", done: false, createdAt: T0, updatedAt: T0 });
    await stores.users.delete("u-carol");
    expect(await todos.list("u-carol")).toEqual([]);
  });
}

describe("SQLite", () => {
  contract(sqlite);

  it("opens a database made before the to-dos left the library, rows and all", async () => {
    const stores = await sqlite();
    const db = stores.database?.kysely;
    if (!db) throw new Error("SQLite lends its database");
    // What latchkey's migrations 0001 and 0003 made then.
    await sql`create table todos (id text primary key, user_id text not null references users(id) on delete cascade,
      title text not null, done integer not null, created_at integer not null, updated_at integer not null)`.execute(
      db,
    );
    await sql`create index todos_user_order on todos (user_id, created_at, id)`.execute(db);
    await stores.users.create(user("u-old", "old"));
    await sql`insert into todos values ('t-old', 'u-old', 'kept', 0, ${T0}, ${T0})`.execute(db);
    const todos = await openTodoStore(stores);
    expect((await todos.list("u-old")).map((t) => t.title)).toEqual(["kept"]);
  });

  it("needs a SQL database: memory stores have none to lend", async () => {
    await expect(openTodoStore(createMemoryStores())).rejects.toThrow(/SQL database/);
  });
});

describeWith("PostgreSQL", postgresAvailable)("PostgreSQL", () => contract(postgres));
describeWith("PostgreSQL + Redis", postgresAvailable && redisAvailable)("PostgreSQL + Redis", () =>
  contract(postgresWithRedis),
);
