/**
 * The backends the store contract suite runs against. Adding a backend is adding one
 * entry here (PostgreSQL and Redis arrive with the scale-out work).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openPostgresStores } from "../../packages/latchkey/src/stores/postgres/index.js";
import { openRedisStores } from "../../packages/latchkey/src/stores/redis/index.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import type { OpenedBackend } from "../../packages/latchkey/src/testing.js";
import { freshSchema, postgresAvailable } from "../helpers/postgres.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";

export type { OpenedBackend };

export interface Backend {
  name: string;
  /** What it needs beyond Node, and whether that is reachable now. */
  service?: { name: string; available: boolean };
  open(): Promise<OpenedBackend>;
}

export const BACKENDS: Backend[] = [
  {
    name: "memory",
    async open() {
      const stores = createMemoryStores();
      return { stores, cleanup: () => stores.close() };
    },
  },
  {
    name: "sqlite",
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "latchkey-contract-"));
      const path = join(dir, "test.db");
      const handles: Stores[] = [await openSqliteStores({ path })];
      return {
        stores: handles[0] as Stores,
        openAnother: async () => {
          const another = await openSqliteStores({ path });
          handles.push(another);
          return another;
        },
        async cleanup() {
          for (const handle of handles) await handle.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "postgres",
    service: { name: "PostgreSQL", available: postgresAvailable },
    async open() {
      const schema = await freshSchema();
      const handles: Stores[] = [await openPostgresStores({ url: schema.url, max: 4 })];
      const clients: pg.Client[] = [];
      return {
        stores: handles[0] as Stores,
        openAnother: async () => {
          const another = await openPostgresStores({ url: schema.url, max: 2 });
          handles.push(another);
          return another;
        },
        // A writer that inserts its change and holds the transaction open.
        holdPublish: async ({ kind, subject, at }) => {
          const client = new pg.Client({ connectionString: schema.url });
          clients.push(client);
          await client.connect();
          await client.query("begin");
          await client.query("insert into changes (kind, subject, at) values ($1, $2, $3)", [kind, subject, at]);
          return { commit: async () => void (await client.query("commit")) };
        },
        async cleanup() {
          for (const client of clients) await client.end().catch(() => {});
          for (const handle of handles) await handle.close();
          await schema.drop();
        },
      };
    },
  },
  {
    // Redis for sessions, refresh tokens, counters and the feed, over in-memory durable stores.
    name: "redis",
    service: { name: "Redis", available: redisAvailable },
    async open() {
      const { prefix, drop } = freshPrefix();
      const stores = await openRedisStores({ url: REDIS_URL, base: createMemoryStores(), prefix });
      return {
        stores,
        async cleanup() {
          await stores.close();
          await drop();
        },
      };
    },
  },
];
