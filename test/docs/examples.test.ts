/**
 * Issue 18: every shell example in README.md, docs/ and the examples' READMEs works as
 * written. Each fenced `sh` block is run by bash, in document order, against one server
 * this test starts (the only change to a block: its port, `localhost:3000`, is the test
 * server's), with the working directory at the clone's root, as a reader's would be. A
 * block is either run here, with the output it promises checked, or says in a comment just
 * before it why it is not. The clone must be as clean after the examples as before.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderSettingsTable } from "../../packages/server/src/app/settings.js";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FILES = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
  "examples/resource-service/README.md",
  "examples/python-service/README.md",
  "examples/browser-app/README.md",
];

interface Block {
  where: string;
  script: string;
  notRun: string | null;
}

function shellBlocks(file: string): Block[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const blocks: Block[] = [];
  const fence = /(?:<!-- not run by test\/docs\/examples\.test\.ts: ([^\n]*?) -->\n)?```sh\n([\s\S]*?)```/g;
  for (const match of text.matchAll(fence)) {
    const line = text.slice(0, match.index).split("\n").length;
    blocks.push({ where: `${file}:${line}`, script: match[2] as string, notRun: match[1] ?? null });
  }
  return blocks;
}

/** What each run block promises, by its first line. */
const PROMISES: Array<{ first: RegExp; check: (out: string) => void }> = [
  {
    first: /^O=http:\/\/localhost:3000\nJAR=/,
    check(out) {
      const lines = out.trim().split("\n");
      expect(lines).toHaveLength(3);
      expect(JSON.parse(lines[0] as string).user.username).toBe("alice");
      expect(JSON.parse(lines[1] as string).todo).toMatchObject({ title: "buy milk", done: false });
      const sessions = JSON.parse(lines[2] as string).sessions;
      expect(sessions[0]).toMatchObject({ strategy: "session", current: true });
    },
  },
  {
    first: /^printf '%s\\n' 'a long passphrase for the operator' \| npx latchkey users create admin/,
    check(out) {
      expect(out).toMatch(/admin/);
      expect(out).toMatch(/alice/);
    },
  },
  {
    first: /^O=http:\/\/localhost:3000\nMEMJAR=/,
    check(out) {
      // docs/client.md: the in-memory mode's login, refresh by cookie, and the header it needs.
      expect(out.trim().split("\n")).toEqual(["memory Bearer false", "mia string", "csrf_failed"]);
    },
  },
  {
    first: /^O=http:\/\/localhost:3000\nTOKENS=/,
    check(out) {
      const [todos, refreshed, revoked] = out.trim().split("\n");
      // alice's to-do from the README's walk-through, through a bearer token this time.
      expect(JSON.parse(todos as string).todos.map((t: { title: string }) => t.title)).toEqual(["buy milk"]);
      expect(JSON.parse(refreshed as string)).toMatchObject({ token_type: "Bearer" });
      expect(JSON.parse(revoked as string)).toEqual({});
    },
  },
];

function run(script: string, env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-euo", "pipefail", "-c", script], { cwd: ROOT, env });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => resolve({ code: code ?? 1, out, err }));
  });
}

const gitStatus = () => execFileSync("git", ["status", "--porcelain"], { cwd: ROOT, encoding: "utf8" });

describe("the docs' shell examples", () => {
  let dir: string;
  let server: RunningServer;
  let env: Record<string, string>;
  let before: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-examples-"));
    const database = `sqlite:${join(dir, "latchkey.db")}`;
    server = await startServerProcess({ DATABASE_URL: database });
    env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir, DATABASE_URL: database };
    before = gitStatus();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("every sh block is run here or says why not, and each works as written", { timeout: 120_000 }, async () => {
    const blocks = FILES.flatMap(shellBlocks);
    expect(blocks.length).toBeGreaterThan(5);
    const port = new URL(server.origin).port;
    let ran = 0;
    for (const block of blocks) {
      if (block.notRun !== null) {
        expect(block.notRun.length, block.where).toBeGreaterThan(10);
        continue;
      }
      const promise = PROMISES.find((p) => p.first.test(block.script));
      expect(promise, `${block.where}: a new example needs its promised output checked here`).toBeDefined();
      const result = await run(block.script.replaceAll("localhost:3000", `localhost:${port}`), env);
      expect(result.code, `${block.where}\n${result.err}`).toBe(0);
      promise?.check(result.out);
      ran++;
    }
    expect(ran).toBe(PROMISES.length);
    expect(gitStatus()).toBe(before);
  });

  it("the README's configuration table is the one the server validates against (npm run docs:settings)", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const start = readme.indexOf("<!-- settings:start");
    const end = readme.indexOf("<!-- settings:end -->");
    const table = readme.slice(readme.indexOf("\n", start) + 1, end).trim();
    expect(table).toBe(renderSettingsTable());
  });

  it("npx latchkey in the clone runs the local build: npx --no-install finds it without installing anything", async () => {
    const result = await run("npx --no-install latchkey --help", env);
    expect(result.code, result.err).toBe(0);
    expect(result.out).toMatch(/users/);
  });
});
