/**
 * The to-do app's own permission (issue 27): `todos:read-any`, declared by the product in
 * `createAuth` and granted to `admin`, lets a caller see how many to-dos each user has
 * through `GET /api/todos/stats`, never a title; anyone else is refused `403 forbidden`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { openTodoStore } from "../../packages/server/src/app/todo-store.js";
import { type Harness, startHarness, uniqueName } from "../helpers/harness.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { describeWith } from "../helpers/services.js";

const CLI = { actor: null, ip: "", userAgent: "test" };
const T0 = Date.parse("2026-03-01T12:00:00.000Z");

describe("GET /api/todos/stats (todos:read-any)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  const withTodos = async (titles: string[]) => {
    const name = uniqueName("stats");
    const c = h.client();
    const { user } = await c.signUpAndLogIn(name);
    for (const title of titles) expect((await c.post("/api/todos", { title })).statusCode).toBe(201);
    return { c, name, id: user.id };
  };

  it("shows an admin how many to-dos each user has, most first, and never a title", async () => {
    const alice = await withTodos(["secret plan one", "secret plan two", "secret plan three"]);
    const bob = await withTodos(["bob's private errand"]);
    const admin = await withTodos([]);
    await h.server.auth.admin.setRoles(admin.id, ["admin", "user"], CLI);
    const answer = await admin.c.get("/api/todos/stats");
    expect(answer.statusCode).toBe(200);
    const users = answer.json().users as Array<{ id: string; username: string; count: number }>;
    expect(users.filter((u) => u.id === alice.id || u.id === bob.id)).toEqual([
      { id: alice.id, username: alice.name, count: 3 },
      { id: bob.id, username: bob.name, count: 1 },
    ]);
    // A user without to-dos is not listed; no title reaches the answer.
    expect(users.some((u) => u.id === admin.id)).toBe(false);
    expect(answer.body).not.toMatch(/secret plan|errand/);
  });

  it("refuses a plain user 403 forbidden and an anonymous caller 401", async () => {
    const plain = await withTodos(["mine"]);
    const refused = await plain.c.get("/api/todos/stats");
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe("forbidden");
    expect(refused.body).not.toMatch(/mine/);
    const anonymous = await h.client().get("/api/todos/stats");
    expect(anonymous.statusCode).toBe(401);
    // The user's own routes are untouched by the permission.
    expect((await plain.c.get("/api/todos")).json().todos).toHaveLength(1);
  });

  it("answers a bearer token by the roles it carries, and a demoted admin's new token is refused", async () => {
    const admin = await withTodos(["one"]);
    await h.server.auth.admin.setRoles(admin.id, ["admin", "user"], CLI);
    const issued = await h.client().token(admin.name);
    expect(issued.statusCode).toBe(200);
    const allowed = await h.client().bearer("GET", "/api/todos/stats", issued.json().access_token);
    expect(allowed.statusCode).toBe(200);
    await h.server.auth.admin.setRoles(admin.id, ["user"], CLI);
    h.clock.advance(1000);
    const again = await h.client().token(admin.name);
    const refused = await h.client().bearer("GET", "/api/todos/stats", again.json().access_token);
    expect(refused.statusCode).toBe(403);
  });
});

function countContract(open: () => Promise<{ stores: Stores; close: () => Promise<void> }>) {
  it("counts each user's to-dos, most first then by username, within the limit", async () => {
    const { stores, close } = await open();
    try {
      const todos = await openTodoStore(stores);
      for (const [id, username] of [
        ["u-a", "anna"],
        ["u-b", "bert"],
        ["u-c", "carl"],
        ["u-d", "dora"],
      ] as const) {
        await stores.users.create({
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
      }
      const add = (userId: string, n: number) =>
        Promise.all(
          Array.from({ length: n }, (_, i) =>
            todos.create({ id: `${userId}-${i}`, userId, title: "t", done: false, createdAt: T0 + i, updatedAt: T0 }),
          ),
        );
      await add("u-a", 1);
      await add("u-b", 3);
      await add("u-c", 1);
      expect(await todos.countByUser(10)).toEqual([
        { userId: "u-b", username: "bert", count: 3 },
        { userId: "u-a", username: "anna", count: 1 },
        { userId: "u-c", username: "carl", count: 1 },
      ]);
      expect(await todos.countByUser(2)).toHaveLength(2);
    } finally {
      await close();
    }
  });
}

describe("TodoStore.countByUser on SQLite", () => {
  countContract(async () => {
    const stores = await openSqliteStores({ path: ":memory:" });
    return { stores, close: () => stores.close() };
  });
});

describeWith("PostgreSQL", postgresAvailable)("TodoStore.countByUser on PostgreSQL", () => {
  countContract(async () => {
    const schema = await freshSchema();
    const stores = await openPostgresStores({ url: schema.url });
    return {
      stores,
      close: async () => {
        await stores.close();
        await schema.drop();
      },
    };
  });
});
