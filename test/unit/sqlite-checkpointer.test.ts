import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { startCheckpointer } from "../../packages/latchkey/src/stores/sqlite/checkpointer.js";
import { openSqliteStores, WAL_SIZE_LIMIT } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { makeUser } from "../../packages/latchkey/src/testing/fixtures.js";

const dirs: string[] = [];
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-checkpoint-"));
  dirs.push(dir);
  return join(dir, "db.sqlite");
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const waitFor = async (condition: () => boolean, ms = 5000) => {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe("WAL checkpoints in a worker thread", () => {
  it("copies the server's writes into the database file while it runs, not at commit", async () => {
    const path = tempFile();
    const stores = await openSqliteStores({ path });
    try {
      const sizeAfterMigrations = statSync(path).size;
      // About 8 MB of rows, well past the 1,000 pages at which a commit would checkpoint.
      const now = Date.now();
      for (let u = 0; u < 40; u++) {
        const id = `0194d2c6-0000-7000-8000-${String(u).padStart(12, "0")}`;
        await stores.users.create({
          id,
          username: `u${u}`,
          passwordHash: "x",
          createdAt: now,
          disabledAt: null,
          roles: ["user"],
          rolesAt: now,
          email: null,
          emailVerifiedAt: null,
        });
        for (let i = 0; i < 50; i++) {
          await stores.events.append({
            id: `${id.slice(0, 24)}${String(u * 50 + i).padStart(12, "0")}`,
            userId: id,
            type: "login",
            at: now + i,
            sessionId: null,
            ip: "",
            userAgent: randomBytes(2000).toString("base64").slice(0, 2000),
            detail: null,
          });
        }
      }
      // The worker checkpoints once a second; the file grows when it does.
      await waitFor(() => statSync(path).size > sizeAfterMigrations + 2_000_000);
    } finally {
      await stores.close();
    }
  });

  it("returns the write-ahead log to a bounded size after a burst of writes (journal_size_limit)", async () => {
    const path = tempFile();
    const stores = await openSqliteStores({ path });
    const wal = () => statSync(`${path}-wal`).size;
    try {
      const now = Date.now();
      const burst = makeUser("burst");
      await stores.users.create(burst);
      const userId = burst.id;
      let n = 0;
      const append = () =>
        stores.events.append({
          id: `0194d2c6-0000-7000-9000-${String(n++).padStart(12, "0")}`,
          userId,
          type: "login",
          at: now + n,
          sessionId: null,
          ip: "",
          userAgent: "x".repeat(400),
          detail: null,
        });
      // A burst: back-to-back commits, which leave the worker's checkpoint no moment to
      // start the log over, until the log is three times the limit.
      const burstUntil = Date.now() + 10_000;
      while (wal() <= 3 * WAL_SIZE_LIMIT) {
        if (Date.now() > burstUntil) throw new Error(`the burst grew the log to ${wal()} bytes only`);
        for (let i = 0; i < 100; i++) await append();
      }
      // Quiet writes after it: once a checkpoint has copied the log back, the next write
      // starts the log again, truncated to the limit (SQLite would keep the high-water size).
      const until = Date.now() + 15_000;
      while (wal() > WAL_SIZE_LIMIT) {
        if (Date.now() > until) throw new Error(`the write-ahead log stayed at ${wal()} bytes`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await append();
      }
    } finally {
      await stores.close();
    }
  });

  it("starts the log over under writes that never pause (the soak's server grew it to 160 MB)", async () => {
    const path = tempFile();
    const stores = await openSqliteStores({ path });
    const wal = () => statSync(`${path}-wal`).size;
    try {
      const writer = makeUser("steady");
      await stores.users.create(writer);
      let n = 0;
      const sizes: number[] = [];
      let sampled = Date.now();
      // Commits back to back with a timer's pause between every five: never the quiet
      // moment after a whole checkpoint that a PASSIVE checkpoint needs to start the log over.
      const until = Date.now() + 8000;
      while (Date.now() < until) {
        for (let i = 0; i < 5; i++) {
          await stores.events.append({
            id: `0194d2c6-0000-7000-a000-${String(n++).padStart(12, "0")}`,
            userId: writer.id,
            type: "login",
            at: Date.now(),
            sessionId: null,
            ip: "",
            userAgent: "x".repeat(300),
            detail: null,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (Date.now() - sampled >= 250) {
          sizes.push(wal());
          sampled = Date.now();
        }
      }
      // Without the restart the log only grows (20, 40, 62 ... 670 MB, a quarter-second apart).
      const restarts = sizes.filter((size, i) => i > 0 && size < (sizes[i - 1] as number)).length;
      // One restart at least: the worker runs at the lowest priority, and a loaded machine
      // may give it little time in 8 s.
      expect(restarts, `the log's sizes: ${sizes.join(", ")}`).toBeGreaterThanOrEqual(1);
    } finally {
      await stores.close();
    }
  }, 30_000);

  it("falls back to SQLite's automatic checkpoints when the worker cannot run", async () => {
    const path = tempFile();
    const database = new SQLite(path);
    database.pragma("journal_mode = WAL");
    try {
      // The worker fails to open a database in a directory that does not exist.
      const checkpointer = startCheckpointer(database, join(path, "missing", "db.sqlite"), 50);
      expect(database.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
      await waitFor(() => database.pragma("wal_autocheckpoint", { simple: true }) === 1000);
      await checkpointer.stop();
    } finally {
      database.close();
    }
  });

  it("stops cleanly, and twice is harmless", async () => {
    const path = tempFile();
    const stores = await openSqliteStores({ path });
    await stores.close();
    await stores.close();
  });
});
