/**
 * WAL checkpoints off the event loop. SQLite copies the write-ahead log back into the
 * database file when a commit finds it past 1,000 pages, inside that commit: on the
 * thread that wrote, here the event loop. Measured while sweeping a million expired
 * sessions, each such checkpoint held the loop 20–35 ms, on top of the write itself. So
 * the server's connection turns automatic checkpoints off, and a worker thread with its
 * own connection runs a PASSIVE checkpoint (it never waits on readers or writers, and
 * they never wait on it) once a second, at the lowest CPU priority (on Linux), so that
 * on a busy machine it takes what the event loop leaves rather than preempting it.
 *
 * A PASSIVE checkpoint copies the frames written before it started; the log starts over
 * (and `journal_size_limit` cuts the file back) only when a write begins after a
 * checkpoint that left no frame uncopied. Under writes that never pause, that moment
 * never comes: a test writing 3,500 rows a second grew the log to 840 MB in 10 s, and the
 * soak's server to 160 MB. So each tick checkpoints again while frames remain (a few
 * passes, each shorter than the last), and when the log is still past the size limit
 * with only a short backlog left, runs one RESTART checkpoint, which does not wait: it
 * holds new writes for that backlog's copy and the database file's sync (milliseconds),
 * and the next write starts the log over; with a reader on an old snapshot it gives up
 * at once (a PASSIVE's worth done), and the next tick tries again.
 *
 * If the worker cannot start or dies, the connection goes back to SQLite's automatic
 * checkpoints: a stall now and then, never a WAL file that grows without end.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type SQLite from "better-sqlite3";

/** SQLite's default `wal_autocheckpoint`, in pages. */
const AUTOCHECKPOINT_PAGES = 1000;

/**
 * The most frames a RESTART checkpoint may have left to copy while it holds new writes:
 * 256 pages, 1 MiB, a millisecond or two.
 */
const RESTART_BACKLOG_FRAMES = 256;

/**
 * The worker's code, as a script (not a file next to this one): it runs the same from
 * the compiled package and from the TypeScript sources under test.
 */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const SQLite = require(workerData.driver);
// On Linux a thread has its own nice value: this one yields the cores to the event loop.
if (process.platform === "linux") require("node:os").setPriority(19);
const db = new SQLite(workerData.path);
db.pragma("busy_timeout = 1000");
// The log's frames past which it must start over: a frame is a page and its 24-byte header.
const limitFrames = Math.ceil(workerData.restartAboveBytes / (db.pragma("page_size", { simple: true }) + 24));
const checkpoint = (mode) => db.pragma("wal_checkpoint(" + mode + ")")[0];
const timer = setInterval(() => {
  try {
    let state = checkpoint("PASSIVE");
    for (let pass = 0; pass < 8 && state.log > state.checkpointed; pass++) state = checkpoint("PASSIVE");
    if (state.log > limitFrames && state.log - state.checkpointed <= ${RESTART_BACKLOG_FRAMES}) {
      // Without waiting: a RESTART holds the writer lock while it waits, so a reader on
      // an old snapshot (a backup, a sqlite3 shell) would hold the server's writes for the
      // whole busy timeout. Busy, it copies what it can and the next tick tries again.
      db.pragma("busy_timeout = 0");
      try {
        checkpoint("RESTART");
      } finally {
        db.pragma("busy_timeout = 1000");
      }
    }
  } catch {
    // Busy or briefly unavailable: the next tick tries again.
  }
}, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } finally {
    db.close();
    parentPort.close();
  }
});
`;

/** What `startCheckpointer` returns. */
export interface Checkpointer {
  /** Runs a last checkpoint and stops the worker. */
  stop(): Promise<void>;
}

/**
 * @example
 * const checkpointer = startCheckpointer(database, "./data/latchkey.db");
 * await checkpointer.stop();
 */
export function startCheckpointer(
  database: SQLite.Database,
  path: string,
  intervalMs = 1000,
  restartAboveBytes = 4 * 1024 * 1024,
): Checkpointer {
  database.pragma("wal_autocheckpoint = 0");
  const fallBack = () => {
    if (database.open) database.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  };
  let worker: Worker;
  try {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    worker = new Worker(WORKER, { eval: true, workerData: { driver, path, intervalMs, restartAboveBytes } });
  } catch {
    fallBack();
    return { stop: async () => {} };
  }
  let stopping = false;
  const exited = new Promise<void>((resolve) => {
    worker.once("exit", () => {
      if (!stopping) fallBack();
      resolve();
    });
  });
  worker.on("error", fallBack);
  // Background upkeep: never what keeps a process alive.
  worker.unref();
  return {
    async stop() {
      if (stopping) return;
      stopping = true;
      worker.ref(); // until it has closed its connection
      worker.postMessage("stop");
      await exited;
    },
  };
}
