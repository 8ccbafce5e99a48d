/**
 * The library from its tarball in a project with every framework and driver (installed
 * offline under the system's temp folder, test/package/install.ts): every export's TSDoc
 * `@example`, a TypeScript consumer of every entry point and the ts examples of the README
 * and docs compile against the packed declarations; each entry point loads only what it
 * names; and three host apps run (test/package/apps): Fastify with its usual plugins, Hono
 * (also with `basePath`), and plain `node:http` through the shipped bridge, each under
 * every strategy. The Express apps, the CLI and the verifier are in package.test.ts.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../helpers/http-client.js";
import { type RunningServer, startListeningProcess } from "../helpers/processes.js";
import { badInput, bearerLogin, expectSetupError, fullFlow, ORIGIN, PARTNER, PASSWORD } from "./flows.js";
import { compile, type Installed, installProject, type Packed, packAll, ROOT } from "./install.js";

const run = promisify(execFile);
const HERE = fileURLToPath(new URL("./", import.meta.url));
const WORK = mkdtempSync(join(tmpdir(), "latchkey-frameworks-"));
const TARBALLS = join(WORK, "tarballs");
const PROJECT = join(WORK, "app");
/** The host's own packages: every framework and driver, TypeScript, and vitest (for latchkey/testing). */
const HOST = [
  "fastify",
  "@fastify/cors",
  "@fastify/cookie",
  "hono",
  "@hono/node-server",
  "express",
  "better-sqlite3",
  "pg",
  "ioredis",
  "prom-client",
  "kysely",
  "typescript",
  "@types/node",
  "@types/express",
  "@types/pg",
  "@types/better-sqlite3",
  "vitest",
];
/** Entry points that are not public API, and so need no `@example`: the server's share of the library. */
const INTERNAL = new Set(["latchkey/internal"]);

let packed: Map<string, Packed>;
let installed: Installed;

beforeAll(() => {
  packed = packAll(TARBALLS);
  // A Fastify host on Node 20 needs the repository's overrides for @fastify/cookie's cookie@2.
  installed = installProject(
    PROJECT,
    { packed: ["latchkey", "@latchkey/verify"], host: HOST, overrides: true },
    packed,
    TARBALLS,
  );
  if (!installed.ok) throw new Error(`npm install failed:\n${installed.output}`);
  console.log(`[package] a project with every framework: npm install took ${installed.ms} ms`);
  cpSync(join(HERE, "apps"), PROJECT, { recursive: true });
  for (const file of ["loaded-modules.mjs", "consumer.ts"]) cpSync(join(HERE, file), join(PROJECT, file));
}, 240_000);

afterAll(() => rmSync(WORK, { recursive: true, force: true }));

/** The public entry points of the library and the verifier, as their `exports` name them. */
function entries(): string[] {
  const out: string[] = [];
  for (const name of ["latchkey", "@latchkey/verify"]) {
    for (const sub of Object.keys((packed.get(name) as Packed).manifest.exports ?? {})) {
      if (sub === "./package.json") continue;
      const entry = sub === "." ? name : `${name}/${sub.slice(2)}`;
      if (!INTERNAL.has(entry)) out.push(entry);
    }
  }
  return out;
}

describe("the declarations", () => {
  // One compiler run for every example and the consumer (checking the libraries' own
  // declarations is most of its time); each case reads the errors in its own files.
  let missing: string[];
  let tsdocFiles: string[];
  let docFiles: string[];
  let errors: string[];
  beforeAll(async () => {
    ({ missing, files: tsdocFiles } = await writeTsdocExamples());
    docFiles = writeDocExamples();
    errors = compile(PROJECT, [...tsdocFiles, "consumer.ts", ...docFiles])
      .split("\n")
      .filter((line) => line.trim() !== "");
  }, 240_000);
  /** The compiler's errors in `files`, and those of no file at all. */
  const errorsIn = (files: string[]) =>
    errors.filter((line) => {
      const file = /^([^(\s]+)\(\d+,\d+\)/.exec(line)?.[1];
      return file === undefined ? /error TS/.test(line) : files.includes(file);
    });

  it("every export of every public entry point has a TSDoc @example", () => {
    expect(missing).toEqual([]);
    expect(tsdocFiles.length).toBeGreaterThan(100);
  });

  it("every TSDoc @example compiles against the packed packages (strict NodeNext, exactOptionalPropertyTypes, skipLibCheck false)", () => {
    expect(errorsIn(tsdocFiles)).toEqual([]);
  });

  it("a TypeScript consumer of every entry point, and every ts example of the README, docs/library.md, docs/services.md, docs/roles.md, docs/accounts.md and docs/operations.md, compile (strict NodeNext, exactOptionalPropertyTypes, skipLibCheck false)", () => {
    expect(docFiles).toContain("auth.ts");
    expect(docFiles.length).toBeGreaterThanOrEqual(6);
    expect(errorsIn(["consumer.ts", ...docFiles])).toEqual([]);
  });

  it("`latchkey` (the core) loads no driver and no framework; each entry point loads only its own", async () => {
    const specifiers = [
      "latchkey",
      "latchkey/fetch",
      "latchkey/express",
      "latchkey/hono",
      "latchkey/verify",
      "latchkey/memory",
      "latchkey/sqlite",
      "latchkey/postgres",
      "latchkey/redis",
      "latchkey/fastify",
      "latchkey/metrics",
    ];
    // Each in a fresh process, as an app that imports only it.
    const loaded = new Map(
      await Promise.all(
        specifiers.map(async (specifier) => {
          const { stdout } = await run(process.execPath, ["loaded-modules.mjs", specifier], { cwd: PROJECT });
          return [specifier, JSON.parse(stdout) as string[]] as const;
        }),
      ),
    );
    const foreign = [
      "better-sqlite3",
      "pg",
      "ioredis",
      "fastify",
      "fastify-plugin",
      "@fastify/cookie",
      "@fastify/cors",
      "express",
      "hono",
      "commander",
      "helmet",
      "pino",
    ];
    for (const entry of specifiers.slice(0, 6)) {
      expect(
        foreign.filter((name) => loaded.get(entry)?.includes(name)),
        entry,
      ).toEqual([]);
    }
    expect(loaded.get("latchkey/sqlite")).toContain("better-sqlite3");
    expect(loaded.get("latchkey/sqlite")).not.toContain("pg");
    expect(loaded.get("latchkey/postgres")).toContain("pg");
    expect(loaded.get("latchkey/postgres")).not.toContain("better-sqlite3");
    expect(loaded.get("latchkey/redis")).toContain("ioredis");
    expect(loaded.get("latchkey/metrics")).toContain("prom-client");
    expect(foreign.filter((name) => loaded.get("latchkey/metrics")?.includes(name))).toEqual([]);
    // No @fastify/cors unless the host asks for CORS: it is the host's, never latchkey's.
    const fastify = loaded.get("latchkey/fastify") ?? [];
    expect(
      fastify.filter((name) => ["better-sqlite3", "pg", "@fastify/cors", "express", "hono"].includes(name)),
    ).toEqual([]);
  }, 120_000);
});

/**
 * Writes each TSDoc `@example` of the public entry points as a module of its own: the
 * prelude's imports and givens, then the example's own imports (those of the packages'
 * names dropped: the prelude has them all), then its statements in an async function, so
 * it may await and shadow the givens. Also says which exports have no example.
 */
async function writeTsdocExamples(): Promise<{ missing: string[]; files: string[] }> {
  const ts = (await import("typescript")).default;
  const list = entries();
  const declarations = list.map((entry) => {
    const name = entry.startsWith("@latchkey/verify") ? "@latchkey/verify" : "latchkey";
    const home = join(PROJECT, "node_modules", name);
    const manifest = JSON.parse(readFileSync(join(home, "package.json"), "utf8"));
    const sub = entry === name ? "." : `./${entry.slice(name.length + 1)}`;
    return join(home, manifest.exports[sub].types);
  });
  const program = ts.createProgram(declarations, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    strict: true,
  });
  const checker = program.getTypeChecker();
  const missing: string[] = [];
  const names = new Map<string, string>(); // export name -> the first entry exporting it
  const examples: { name: string; code: string }[] = [];
  for (const [i, file] of declarations.entries()) {
    const source = program.getSourceFile(file);
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`no module for ${file}`);
    for (const exported of checker.getExportsOfModule(module)) {
      if (!names.has(exported.name)) names.set(exported.name, list[i] as string);
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const found = symbol.getJsDocTags(checker).filter((tag) => tag.name === "example");
      if (found.length === 0) missing.push(`${list[i]}: ${exported.name}`);
      for (const tag of found) examples.push({ name: exported.name, code: ts.displayPartsToString(tag.text) });
    }
    // And the entry point's own opening comment, the first thing its reader sees.
    const opening = /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, "utf8"))?.[1] ?? "";
    const at = opening.indexOf("@example");
    if (at >= 0) {
      const code = opening
        .slice(at + "@example".length)
        .split("\n")
        .map((line) => line.replace(/^\s*\* ?/, ""))
        .join("\n")
        .trim();
      examples.push({ name: `module-${(list[i] as string).replace(/[@/]/g, "-")}`, code });
    }
  }
  const byEntry = new Map<string, string[]>();
  for (const [name, entry] of names) byEntry.set(entry, [...(byEntry.get(entry) ?? []), name]);
  const imports = [...byEntry].map(([entry, names]) => `import { ${names.join(", ")} } from "${entry}";`).join("\n");
  const files: string[] = [];
  for (const [i, { name, code }] of examples.entries()) {
    const lines = code.split("\n");
    const own = lines.filter(
      (line) => /^import /.test(line) && !/from "(latchkey|@latchkey\/verify)(\/[a-z]+)?";/.test(line),
    );
    const body = lines.filter((line) => !/^import /.test(line));
    const file = `tsdoc-${i}-${name}.ts`;
    writeFileSync(
      join(PROJECT, file),
      `// @example of ${name}\n${imports}\n${own.join("\n")}\n${EXAMPLE_PRELUDE}\nexport async function example(): Promise<void> {\n${body.join("\n")}\n}\n`,
    );
    files.push(file);
  }
  return { missing, files };
}

/** Writes the ts examples of the README and docs: the block that exports `auth` is `auth.ts`, which the others import. */
function writeDocExamples(): string[] {
  const files: string[] = [];
  for (const doc of [
    "README.md",
    "docs/library.md",
    "docs/services.md",
    "docs/roles.md",
    "docs/accounts.md",
    "docs/operations.md",
  ]) {
    const text = readFileSync(join(ROOT, doc), "utf8");
    for (const [, code] of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
      const name = code?.includes("export const auth") ? "auth.ts" : `example-${files.length}.ts`;
      writeFileSync(join(PROJECT, name), code as string);
      files.push(name);
    }
  }
  return files;
}

/**
 * What an example may take as given (its surroundings in a real program), declared once
 * for every example; an example that makes its own `auth` or `request` shadows these.
 */
const EXAMPLE_PRELUDE = `
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
declare const auth: Auth;
declare const stores: Stores;
declare const app: FastifyInstance;
declare const request: Request;
declare const fastifyRequest: FastifyRequest;
declare const reply: FastifyReply;
declare const token: string;
declare const ip: string;
declare const session: SessionRecord;
declare const user: UserRecord;
declare const userId: string;
declare const sessionId: string;
declare const clock: ManualClock;
declare const verifier: Verifier;
`;

const HOSTS = [
  { app: "fastify.mjs", prefix: "/api", features: { notFound: true } },
  { app: "hono.mjs", prefix: "", features: { hello: true, notFound: true } },
  { app: "node-http.mjs", prefix: "", features: { notFound: true } },
] as const;

describe.each(HOSTS)("a host app: $app", ({ app, prefix, features }) => {
  describe.each(["session", "jwt", "hybrid"] as const)("STRATEGY=%s", (strategy) => {
    let server: RunningServer;
    let base: string;
    beforeAll(async () => {
      server = await startListeningProcess([app], { STRATEGY: strategy }, PROJECT);
      base = `http://127.0.0.1:${server.port}`;
    }, 30_000);
    afterAll(() => server?.stop());

    it("registers, logs in, calls its own routes, refreshes, logs out; its own routes, hooks, 404 and errors stay its own", async () => {
      await fullFlow(base, prefix, strategy, features);
      expect(server.proc.exitCode).toBeNull();
    });

    it("answers bad input on latchkey's routes in the contract's format, never 500", async () => {
      await badInput(base, prefix);
    });
  });
});

describe("Fastify with its usual plugins: @fastify/cors before latchkey, @fastify/cookie after it", () => {
  let server: RunningServer;
  let base: string;
  beforeAll(async () => {
    server = await startListeningProcess(["fastify.mjs"], {}, PROJECT);
    base = `http://127.0.0.1:${server.port}`;
  }, 30_000);
  afterAll(() => server?.stop());

  it("the host's CORS answers its own route for the partner, latchkey's answers its bearer routes, each once", async () => {
    const preflight = (path: string, method: string) =>
      fetch(`${base}${path}`, {
        method: "OPTIONS",
        headers: {
          origin: PARTNER,
          "access-control-request-method": method,
          "access-control-request-headers": "content-type",
        },
      });
    const own = await preflight("/api/partner/prices", "GET");
    expect(own.status).toBeLessThan(300);
    expect(own.headers.get("access-control-allow-origin")).toBe(PARTNER);
    const prices = await fetch(`${base}/api/partner/prices`, { headers: { origin: PARTNER } });
    expect([prices.status, prices.headers.get("access-control-allow-origin")]).toEqual([200, PARTNER]);

    const tokenPreflight = await preflight("/api/auth/token", "POST");
    expect(tokenPreflight.status).toBeLessThan(300);
    expect(tokenPreflight.headers.get("access-control-allow-origin")).toBe(PARTNER);
    const alice = new HttpClient(ORIGIN);
    expect(
      (await alice.request(base, "POST", "/api/auth/register", { username: "partnered", password: PASSWORD })).status,
    ).toBe(201);
    const token = await fetch(`${base}/api/auth/token`, {
      method: "POST",
      headers: { origin: PARTNER, "content-type": "application/json" },
      body: JSON.stringify({ username: "partnered", password: PASSWORD }),
    });
    expect(token.status).toBe(200);
    expect(token.headers.get("access-control-allow-origin")).toBe(PARTNER);
    expect(token.headers.get("access-control-allow-credentials")).toBeNull();
    expect(await bearerLogin(base, "/api", "partnered")).toMatch(/^ey/);
  });

  it("the host's own cookies (@fastify/cookie, registered after latchkey) work beside latchkey's", async () => {
    const first = await fetch(`${base}/prefs`);
    expect(first.status).toBe(200);
    expect(first.headers.getSetCookie().some((line) => line.startsWith("theme=dark"))).toBe(true);
    const again = await fetch(`${base}/prefs`, { headers: { cookie: "theme=dark" } });
    expect(await again.json()).toEqual({ theme: "dark" });
    expect(server.proc.exitCode).toBeNull();
  });
});

describe('Hono with basePath("/v1")', () => {
  const servers: RunningServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });
  const start = async (env: Record<string, string>) => {
    const server = await startListeningProcess(["hono.mjs"], env, PROJECT);
    servers.push(server);
    return { server, base: `http://127.0.0.1:${server.port}` };
  };

  it('without prefix: the set-up error naming prefix: "/v1", not a silent 404', async () => {
    const { server, base } = await start({ BASE: "/v1" });
    const me = await fetch(`${base}/v1/auth/me`);
    await expectSetupError(server, me, /prefix: "\/v1"/);
    expect(server.proc.exitCode).toBeNull();
  });

  it('with prefix: "/v1": works', async () => {
    const { base } = await start({ BASE: "/v1", PREFIX: "/v1" });
    const alice = new HttpClient(ORIGIN);
    expect(
      (await alice.request(base, "POST", "/v1/auth/register", { username: "alice", password: PASSWORD })).status,
    ).toBe(201);
    expect((await alice.login(base, "alice", PASSWORD, "/v1/auth/login")).status).toBe(200);
    const me = await alice.request(base, "GET", "/v1/auth/me");
    expect(me.status).toBe(200);
    expect((await alice.request(base, "GET", "/v1/api/whoami")).status).toBe(200);
  });
});

describe("node:http through latchkey/fetch's toNodeHandler", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startListeningProcess(["node-http.mjs"], {}, PROJECT);
  }, 30_000);
  afterAll(() => server?.stop());

  it("a 413 mid-body, then a second request on the same keep-alive connection: answered at once, not hung", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; code: string; reused: boolean }>((resolve, reject) => {
        const req = http.request(
          {
            host: "127.0.0.1",
            port: server.port,
            method,
            path,
            agent,
            headers: { origin: ORIGIN, ...(body !== undefined && { "content-type": "application/json" }) },
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (chunk) => {
              text += chunk;
            });
            res.on("end", () =>
              resolve({
                status: res.statusCode ?? 0,
                code: (JSON.parse(text) as { error?: { code: string } }).error?.code ?? "",
                reused: req.reusedSocket,
              }),
            );
          },
        );
        req.setTimeout(3000, () => req.destroy(new Error(`${method} ${path} hung`)));
        req.on("error", reject);
        req.end(body);
      });
    try {
      // 1 MB: latchkey answers 413 at 64 KiB, while the client is still sending.
      const big = await send("POST", "/auth/login", JSON.stringify({ username: "a", password: "x".repeat(1_000_000) }));
      expect([big.status, big.code]).toEqual([413, "payload_too_large"]);
      const next = await send("GET", "/auth/me");
      expect([next.status, next.code]).toEqual([401, "unauthenticated"]);
      expect(next.reused).toBe(true);
      const third = await send("POST", "/auth/login", JSON.stringify({ username: "nobody", password: PASSWORD }));
      expect([third.status, third.code]).toEqual([401, "invalid_credentials"]);
    } finally {
      agent.destroy();
    }
    expect(server.proc.exitCode).toBeNull();
  });
});
