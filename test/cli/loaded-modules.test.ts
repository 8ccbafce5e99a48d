/**
 * The administration commands load only what they use (issue 25, item 3): an Express or
 * Hono app has no Fastify, and `latchkey services create` must work there. Only `serve`
 * loads the server (Fastify, its plugins, helmet, the web app's static files).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startServerProcess } from "../helpers/processes.js";

const RECORDER = pathToFileURL(fileURLToPath(new URL("./record-modules.mjs", import.meta.url))).href;
/** What only the server needs. */
const SERVER_ONLY = /^(fastify|fastify-plugin|@fastify\/.+|avvio|find-my-way|helmet|pino-pretty)$/;

describe("latchkey's commands and the modules they load", () => {
  let dir: string;
  let env: Record<string, string>;
  let run = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-modules-"));
    env = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}`, NODE_OPTIONS: `--import=${RECORDER}` };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A fresh record file, and the packages it names once the process is done. */
  const recording = () => {
    const file = join(dir, `modules-${++run}.txt`);
    const packages = () => {
      const urls = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
      const names = urls.map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]);
      return [...new Set(names.filter((name) => name !== undefined))].sort();
    };
    return { env: { ...env, LOADED_MODULES_FILE: file }, packages };
  };

  it.each([[["migrate"]], [["services", "create", "billing"]], [["users", "list"]], [["keys", "list"]], [["--help"]]])(
    "issue 25, item 3: `latchkey %j` never loads Fastify, its plugins or helmet",
    async (args) => {
      const record = recording();
      const result = await runCli(args, record.env);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const packages = record.packages();
      // The recorder saw the command's own modules...
      expect(packages).toContain("commander");
      // ...and nothing of the server's.
      expect(packages.filter((name) => SERVER_ONLY.test(name))).toEqual([]);
    },
  );

  it("`latchkey serve` loads the server when it runs, and serves", async () => {
    const record = recording();
    const server = await startServerProcess(record.env);
    try {
      expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(record.packages()).toEqual(expect.arrayContaining(["fastify", "@fastify/swagger", "helmet"]));
  });
});
