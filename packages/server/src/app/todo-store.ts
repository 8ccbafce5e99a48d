/**
 * The product's to-do store: the demo's resource lives in the product, not in the library.
 * It adds its own table to latchkey's database the way any host can, through the handle
 * the SQL store factories expose (`stores.database`): its own migrations, tracked in their
 * own table, and its own statements. The list, the demo's hot read, runs as one prepared
 * statement with rows as arrays (SQLite: synchronously; PostgreSQL: a named statement),
 * as latchkey's own session lookup does.
 */
import type SQLite from "better-sqlite3";
import type { Kysely, Migration } from "kysely";
import type { DatabaseHandle, Stores } from "latchkey";
import { StoreUnavailableError } from "latchkey";
import type pg from "pg";

/** A to-do item, the resource the demo app protects. */
export interface TodoRecord {
  id: string;
  userId: string;
  title: string;
  done: boolean;
  createdAt: number;
  updatedAt: number;
}

/** How many to-dos one user has: what `todos:read-any` shows, never a title. */
export interface TodoCount {
  userId: string;
  username: string;
  count: number;
}

/** The to-dos of the demo app. Every method but `countByUser` is scoped to one user. */
export interface TodoStore {
  list(userId: string): Promise<TodoRecord[]>;
  /**
   * The users who have to-dos, with how many each has: most first (then by username), at
   * most `limit`. Reads no title.
   */
  countByUser(limit: number): Promise<TodoCount[]>;
  create(todo: TodoRecord): Promise<void>;
  /** `null` when the to-do does not exist or is not `userId`'s. */
  update(
    userId: string,
    id: string,
    patch: { title?: string; done?: boolean; updatedAt: number },
  ): Promise<TodoRecord | null>;
  delete(userId: string, id: string): Promise<boolean>;
}

interface TodosTable {
  id: string;
  user_id: string;
  title: string;
  done: number;
  created_at: number;
  updated_at: number;
}
/** The columns of latchkey's `users` table the counts read (the to-dos reference it already). */
interface UsersColumns {
  id: string;
  username: string;
}
interface TodoTables {
  todos: TodosTable;
  users: UsersColumns;
}

/** The product's migrations, tracked apart from latchkey's (namespace `latchkey_app`). */
export const TODO_MIGRATIONS_NAMESPACE = "latchkey_app";

/**
 * One migration for both dialects. Databases made before the to-dos left the library
 * have the table and index already (latchkey's own migrations made them then), hence
 * `if not exists`; the user reference cascades, so deleting an account deletes its to-dos.
 */
export const TODO_MIGRATIONS: Record<string, Migration> = {
  "0001-todos": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("todos")
        .ifNotExists()
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("title", "text", (c) => c.notNull())
        .addColumn("done", "integer", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      // The list's order in one index: `where user_id = ? order by created_at, id` read
      // straight from it, with no sort for the tie-break (measured on SQLite: ten rows in
      // 12 µs instead of 15).
      await db.schema
        .createIndex("todos_user_order")
        .ifNotExists()
        .on("todos")
        .columns(["user_id", "created_at", "id"])
        .execute();
    },
  },
};

/**
 * The to-do store on the stores' database, its migrations applied.
 *
 * @example
 * const todos = await openTodoStore(stores);
 */
export async function openTodoStore(stores: Pick<Stores, "database">): Promise<TodoStore> {
  const handle = stores.database;
  if (!handle) throw new TypeError("the to-dos need a SQL database (SQLite or PostgreSQL)");
  await handle.migrate(TODO_MIGRATIONS_NAMESPACE, TODO_MIGRATIONS);
  return sqlTodoStore(handle);
}

/** A user's to-dos, oldest first (the `(user_id, created_at, id)` index gives the order). */
export const todoListSql = (param: string): string =>
  `select id, title, done, created_at, updated_at from todos where user_id = ${param} order by created_at, id`;

/** A row of `todoListSql`: the owner is not read back (one string fewer per row). */
export type TodoListRow = readonly [
  id: string,
  title: string,
  done: number | string,
  createdAt: number | string,
  updatedAt: number | string,
];

/**
 * The to-do of a `todoListSql` row of `userId`'s. PostgreSQL's BIGINT arrives as a
 * string and SQLite's integers as numbers; `Number()` reads both.
 */
export function todoOf(row: TodoListRow, userId: string): TodoRecord {
  return {
    id: row[0],
    userId,
    title: row[1],
    done: Number(row[2]) === 1,
    createdAt: Number(row[3]),
    updatedAt: Number(row[4]),
  };
}

function sqlTodoStore(handle: DatabaseHandle): TodoStore {
  const db = handle.kysely as Kysely<TodoTables>;
  const unavailable = (error: unknown) => new StoreUnavailableError(handle.dialect, { cause: error });
  const guarded =
    <A extends unknown[], R>(run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await run(...args);
      } catch (error) {
        throw unavailable(error);
      }
    };
  return {
    list:
      handle.dialect === "sqlite"
        ? sqliteList(handle.driver as SQLite.Database, unavailable)
        : postgresList(handle.driver as pg.Pool, unavailable),
    create: guarded(async (todo: TodoRecord) => {
      await db
        .insertInto("todos")
        .values({
          id: todo.id,
          user_id: todo.userId,
          title: todo.title,
          done: todo.done ? 1 : 0,
          created_at: todo.createdAt,
          updated_at: todo.updatedAt,
        })
        .execute();
    }),
    update: guarded(
      async (userId: string, id: string, patch: { title?: string; done?: boolean; updatedAt: number }) => {
        const row = await db
          .updateTable("todos")
          .set({
            updated_at: patch.updatedAt,
            ...(patch.title !== undefined && { title: patch.title }),
            ...(patch.done !== undefined && { done: patch.done ? 1 : 0 }),
          })
          .where("id", "=", id)
          .where("user_id", "=", userId)
          .returning(["id", "title", "done", "created_at", "updated_at"])
          .executeTakeFirst();
        return row ? todoOf([row.id, row.title, row.done, row.created_at, row.updated_at], userId) : null;
      },
    ),
    countByUser: guarded(async (limit: number) => {
      const rows = await db
        .selectFrom("todos")
        .innerJoin("users", "users.id", "todos.user_id")
        .select(({ fn }) => [
          "users.id as id",
          "users.username as username",
          fn.countAll<number | string>().as("count"),
        ])
        .groupBy(["users.id", "users.username"])
        .orderBy("count", "desc")
        .orderBy("users.username")
        .limit(limit)
        .execute();
      // PostgreSQL's count is a BIGINT, which arrives as a string.
      return rows.map((row) => ({ userId: row.id, username: row.username, count: Number(row.count) }));
    }),
    delete: guarded(async (userId: string, id: string) => {
      const result = await db.deleteFrom("todos").where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
      return result.numDeletedRows > 0n;
    }),
  };
}

function sqliteList(database: SQLite.Database, unavailable: (error: unknown) => Error): TodoStore["list"] {
  const statement = database.prepare(todoListSql("?")).raw(true);
  return async (userId) => {
    let rows: TodoListRow[];
    try {
      rows = statement.all(userId) as unknown as TodoListRow[];
    } catch (error) {
      throw unavailable(error);
    }
    return rows.map((row) => todoOf(row, userId));
  };
}

function postgresList(pool: pg.Pool, unavailable: (error: unknown) => Error): TodoStore["list"] {
  const text = todoListSql("$1");
  return async (userId) => {
    try {
      const result = await pool.query({ name: "latchkey_todo_list", text, values: [userId], rowMode: "array" });
      return (result.rows as unknown as TodoListRow[]).map((row) => todoOf(row, userId));
    } catch (error) {
      throw unavailable(error);
    }
  };
}
