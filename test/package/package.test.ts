/**
 * The package as a user gets it: `npm pack`, the tarball unpacked into a fresh project
 * whose `node_modules` holds only what the packed package.json declares (linked from this
 * checkout's install: offline, nothing downloaded) plus the host's framework. Four real
 * host apps (test/package/apps) register, log in under every strategy, call routes of
 * their own, log out, and keep their own errors, hooks and routes. A TypeScript consumer
 * of every entry point compiles in strict NodeNext mode, and the core loads no driver or
 * framework.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../helpers/http-client.js";
import { type RunningServer, startListeningProcess } from "../helpers/processes.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const APPS = fileURLToPath(new URL("./apps/", import.meta.url));
const ORIGIN = "http://localhost:3000";
const PASSWORD = "correct horse battery staple";
/** What the host apps and the TypeScript consumer bring of their own. */
const HOST_PACKAGES = [
  "fastify",
  "express",
  "hono",
  "@hono/node-server",
  "better-sqlite3",
  "pg",
  "ioredis",
  "typescript",
  "@types/node",
  "@types/express",
  "vitest",
];

let project: string;
let packed: { dependencies: Record<string, string>; files: string[] };

function link(name: string): void {
  const target = join(project, "node_modules", name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(join(ROOT, "node_modules", name), target, "dir");
}

/** Packs a workspace package and unpacks it into the project's node_modules. */
function unpack(workspace: string, name: string): { dependencies: Record<string, string>; files: string[] } {
  const [info] = JSON.parse(
    execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", project, "-w", workspace], {
      cwd: ROOT,
      encoding: "utf8",
    }),
  ) as [{ filename: string; files: { path: string }[] }];
  const home = join(project, "node_modules", name);
  mkdirSync(home, { recursive: true });
  execFileSync("tar", ["-xzf", join(project, info.filename), "-C", home, "--strip-components=1"]);
  const manifest = JSON.parse(readFileSync(join(home, "package.json"), "utf8"));
  return { dependencies: manifest.dependencies ?? {}, files: info.files.map((f) => f.path) };
}

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "latchkey-package-"));
  // `npm test` built dist and the web app (pretest); pack exactly what `files` names.
  packed = unpack("packages/latchkey", "latchkey");
  const verifier = unpack("packages/verify", "@latchkey/verify");
  const own = new Set(["latchkey", "@latchkey/verify"]);
  for (const name of new Set([
    ...Object.keys(packed.dependencies),
    ...Object.keys(verifier.dependencies),
    ...HOST_PACKAGES,
  ])) {
    if (!own.has(name)) link(name);
  }
  for (const file of readdirSync(APPS)) cpSync(join(APPS, file), join(project, file));
  cpSync(fileURLToPath(new URL("./loaded-modules.mjs", import.meta.url)), join(project, "loaded-modules.mjs"));
  cpSync(fileURLToPath(new URL("./consumer.ts", import.meta.url)), join(project, "consumer.ts"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "host", private: true, type: "module" }));
}, 60_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe("the tarball", () => {
  it("holds the build, README and LICENSE, and no tests, sources, data, CLI or web app", () => {
    expect(packed.files).toContain("LICENSE");
    expect(packed.files).toContain("README.md");
    expect(packed.files).toContain("dist/index.d.ts");
    expect(packed.files).toContain("dist/fastify.js");
    expect(packed.files.some((f) => f.startsWith("bin/") || f.startsWith("web/"))).toBe(false);
    const stray = packed.files.filter((f) =>
      /^(test|bench|src|docs|scripts|deploy)\/|\.db$|\.png$|tsbuildinfo/.test(f),
    );
    expect(stray).toEqual([]);
  });

  it("declares no framework or driver as a dependency (they are optional peers)", () => {
    for (const name of ["fastify", "express", "hono", "better-sqlite3", "pg", "ioredis"]) {
      expect(packed.dependencies).not.toHaveProperty(name);
    }
  });

  it("`latchkey` (the core) loads no driver and no framework; each entry point loads only its own", () => {
    const loaded = (specifier: string): string[] =>
      JSON.parse(execFileSync(process.execPath, ["loaded-modules.mjs", specifier], { cwd: project, encoding: "utf8" }));
    const drivers = ["better-sqlite3", "pg", "ioredis", "fastify", "express", "hono", "commander", "helmet"];
    for (const name of drivers) expect(loaded("latchkey")).not.toContain(name);
    for (const entry of ["latchkey/fetch", "latchkey/express", "latchkey/hono", "latchkey/verify"]) {
      for (const name of drivers) expect(loaded(entry)).not.toContain(name);
    }
    expect(loaded("latchkey/sqlite")).toContain("better-sqlite3");
    expect(loaded("latchkey/sqlite")).not.toContain("pg");
    expect(loaded("latchkey/fastify")).not.toContain("better-sqlite3");
  }, 120_000);

  it("every export of every entry point has a TSDoc @example, and every example compiles against the package", async () => {
    const ts = (await import("typescript")).default;
    const home = join(project, "node_modules", "latchkey");
    const manifest = JSON.parse(readFileSync(join(home, "package.json"), "utf8"));
    const files = ENTRIES.map((entry) => {
      const sub = entry === "latchkey" ? "." : `./${entry.slice("latchkey/".length)}`;
      return join(home, manifest.exports[sub].types);
    });
    const program = ts.createProgram(files, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2023,
      strict: true,
    });
    const checker = program.getTypeChecker();
    const missing: string[] = [];
    const names = new Map<string, string>(); // export name -> entry
    const examples: { name: string; code: string }[] = [];
    for (const [i, file] of files.entries()) {
      const source = program.getSourceFile(file);
      const module = source && checker.getSymbolAtLocation(source);
      if (!module) throw new Error(`no module for ${file}`);
      for (const exported of checker.getExportsOfModule(module)) {
        names.set(exported.name, ENTRIES[i] as string);
        const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
        const found = symbol.getJsDocTags(checker).filter((tag) => tag.name === "example");
        if (found.length === 0) missing.push(`${ENTRIES[i]}: ${exported.name}`);
        for (const tag of found) examples.push({ name: exported.name, code: ts.displayPartsToString(tag.text) });
      }
    }
    expect(missing).toEqual([]);
    // And each entry point's own opening comment, the first thing its reader sees.
    for (const [i, file] of files.entries()) {
      const opening = /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(file, "utf8"))?.[1] ?? "";
      const at = opening.indexOf("@example");
      if (at < 0) continue;
      const code = opening
        .slice(at + "@example".length)
        .split("\n")
        .map((line) => line.replace(/^\s*\* ?/, ""))
        .join("\n")
        .trim();
      examples.push({ name: `module-${(ENTRIES[i] as string).replace("/", "-")}`, code });
    }
    expect(examples.length).toBeGreaterThan(100);
    // Each example in a module of its own: the prelude's imports and givens, then the
    // example's own imports (those of latchkey's names dropped: the prelude has them all),
    // then its statements in an async function, so it may await and shadow the givens.
    const byEntry = new Map<string, string[]>();
    for (const [name, entry] of names) byEntry.set(entry, [...(byEntry.get(entry) ?? []), name]);
    const imports = [...byEntry].map(([entry, list]) => `import { ${list.join(", ")} } from "${entry}";`).join("\n");
    const written: string[] = [];
    for (const [i, { name, code }] of examples.entries()) {
      const lines = code.split("\n");
      const own = lines.filter((line) => /^import /.test(line) && !/from "latchkey(\/[a-z]+)?";/.test(line));
      const body = lines.filter((line) => !/^import /.test(line));
      const file = `tsdoc-${i}-${name}.ts`;
      writeFileSync(
        join(project, file),
        `// @example of ${name}\n${imports}\n${own.join("\n")}\n${EXAMPLE_PRELUDE}\nexport async function example(): Promise<void> {\n${body.join("\n")}\n}\n`,
      );
      written.push(file);
    }
    writeFileSync(
      join(project, "tsconfig.tsdoc.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2023",
          strict: true,
          noEmit: true,
          types: ["node"],
        },
        files: written,
      }),
    );
    const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, "-p", "tsconfig.tsdoc.json"], { cwd: project, encoding: "utf8" });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout);
    }
    expect(output).toBe("");
  }, 120_000);

  it("a TypeScript consumer of every entry point, and every ts example of the README and docs/library.md, compile in strict NodeNext mode", () => {
    // The examples: the block that exports `auth` is `auth.ts`, which the others import.
    const examples: string[] = [];
    for (const doc of ["README.md", "docs/library.md", "docs/services.md"]) {
      const text = readFileSync(join(ROOT, doc), "utf8");
      for (const [, code] of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
        const name = code?.includes("export const auth") ? "auth.ts" : `example-${examples.length}.ts`;
        writeFileSync(join(project, name), code as string);
        examples.push(name);
      }
    }
    expect(examples).toContain("auth.ts");
    expect(examples.length).toBeGreaterThanOrEqual(6);
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2023",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
        },
        files: ["consumer.ts", ...examples],
      }),
    );
    const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, "-p", project], { cwd: project, encoding: "utf8" });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout);
    }
    expect(output).toBe("");
  }, 60_000);
});

/** The error code of an answer: the contract's body, or a host handler's own `{ code }`. */
async function codeOf(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { error?: { code: string }; code?: string };
  return body.error?.code ?? body.code;
}

/** The package's entry points, as `exports` names them. */
const ENTRIES = [
  "latchkey",
  "latchkey/fastify",
  "latchkey/express",
  "latchkey/hono",
  "latchkey/fetch",
  "latchkey/sqlite",
  "latchkey/postgres",
  "latchkey/redis",
  "latchkey/memory",
  "latchkey/testing",
  "latchkey/verify",
];

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
  { app: "fastify.mjs", prefix: "/api" },
  { app: "express.mjs", prefix: "" },
  { app: "hono.mjs", prefix: "" },
  { app: "node-http.mjs", prefix: "" },
] as const;
const CREDENTIAL_COOKIES = {
  session: ["__Host-sid"],
  jwt: ["__Host-at", "__Host-rt"],
  hybrid: ["__Host-at", "__Host-sid"],
} as const;

describe.each(HOSTS)("a host app: $app", ({ app, prefix }) => {
  describe.each(["session", "jwt", "hybrid"] as const)("AUTH_STRATEGY=%s", (strategy) => {
    let server: RunningServer;
    let base: string;
    beforeAll(async () => {
      server = await startListeningProcess([app], { STRATEGY: strategy }, project);
      base = `http://127.0.0.1:${server.port}`;
    }, 30_000);
    afterAll(() => server?.stop());

    it("registers, logs in, calls its own routes, refreshes, logs out; its own routes and errors are its own", async () => {
      const alice = new HttpClient(ORIGIN);
      const username = `alice${strategy}`;
      const auth = (path: string) => `${prefix}/auth${path}`;

      expect((await alice.request(base, "POST", auth("/register"), { username, password: PASSWORD })).status).toBe(201);
      const login = await alice.login(base, username, PASSWORD, auth("/login"));
      expect(login.status).toBe(200);
      const set = login.headers.getSetCookie().map((line) => line.split("=")[0]);
      for (const name of [...CREDENTIAL_COOKIES[strategy], "__Host-csrf"]) expect(set).toContain(name);
      for (const line of login.headers.getSetCookie()) {
        expect(line).toMatch(/; Path=\//);
        expect(line).toMatch(/; Secure/);
        expect(line).toMatch(/; SameSite=Lax/i);
      }
      const me = (await login.json()) as { user: { id: string } };

      // A route of the host's own, behind requireAuth.
      const whoami = await alice.request(base, "GET", "/api/whoami");
      expect(whoami.status).toBe(200);
      expect(await whoami.json()).toEqual({ user: me.user.id, via: "cookie" });
      expect(whoami.headers.get("x-host-hook")).toBe("1");
      // Unsafe cookie requests to it need the CSRF header and our origin.
      const csrf = alice.csrf;
      alice.csrf = "";
      const noCsrf = await alice.request(base, "POST", "/api/notes", {});
      expect(noCsrf.status).toBe(403);
      expect(await codeOf(noCsrf)).toBe("csrf_failed");
      alice.csrf = csrf;
      expect((await alice.request(base, "POST", "/api/notes", {})).status).toBe(200);
      const foreign = await alice.request(base, "POST", "/api/notes", {}, { origin: "https://evil.example" });
      expect(foreign.status).toBe(403);
      expect(await codeOf(foreign)).toBe("forbidden_origin");

      if (strategy === "hybrid") {
        // No access cookie, a live session cookie: renewed on the host's own route.
        alice.cookies.delete("__Host-at");
        const renewed = await alice.request(base, "GET", "/api/whoami");
        expect(renewed.status).toBe(200);
        expect(renewed.headers.getSetCookie().some((line) => line.startsWith("__Host-at="))).toBe(true);
      }
      if (strategy === "jwt") {
        const before = alice.cookies.get("__Host-rt");
        const refreshed = await alice.request(base, "POST", auth("/refresh"));
        expect(refreshed.status).toBe(200);
        expect(alice.cookies.get("__Host-rt")).not.toBe(before);
      }

      // Bearer tokens reach the host's route too.
      const token = await fetch(`${base}${auth("/token")}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username, password: PASSWORD }),
      });
      expect(token.status).toBe(200);
      const { access_token } = (await token.json()) as { access_token: string };
      const bearer = await fetch(`${base}/api/whoami`, { headers: { authorization: `Bearer ${access_token}` } });
      expect(await bearer.json()).toEqual({ user: me.user.id, via: "bearer" });
      expect((await fetch(`${base}${prefix}/.well-known/jwks.json`)).status).toBe(200);

      // Logout ends the session: its cookies, replayed, are refused in the contract's format.
      const kept = new Map(alice.cookies);
      expect((await alice.request(base, "POST", auth("/logout"))).status).toBe(204);
      for (const [name, value] of kept) alice.cookies.set(name, value);
      const after = await alice.request(base, "GET", "/api/whoami");
      expect(after.status).toBe(401);
      expect(await codeOf(after)).toBe("unauthenticated");

      // The host's own routes and errors are untouched.
      const webhook = await fetch(`${base}/webhooks/payment`, {
        method: "POST",
        headers: { origin: "https://payments.example", "content-type": "application/json" },
        body: "{}",
      });
      expect(webhook.status).toBe(200);
      expect(await webhook.json()).toEqual({ received: true });
      const boom = await fetch(`${base}/boom`);
      expect(boom.status).toBe(500);
      expect(boom.headers.get("x-host-handler")).toBe("1");
      expect(((await boom.json()) as { host: string }).host).toBe("error");
      const missing = await fetch(`${base}/nowhere`);
      expect(missing.status).toBe(404);
      expect(await missing.text()).not.toContain('"error":{"code"');
    });

    it("answers bad input on its routes in the contract's format, never 500", async () => {
      const post = (path: string, body: string, type = "application/json") =>
        fetch(`${base}${prefix}/auth${path}`, {
          method: "POST",
          headers: { origin: ORIGIN, "content-type": type },
          body,
        });
      const cases: [Response, number, string][] = [
        [await post("/login", "{"), 400, "invalid_request"],
        [await post("/login", "{}"), 400, "invalid_request"],
        [await post("/login", JSON.stringify({ username: 1, password: "x" })), 400, "invalid_request"],
        [
          await post("/login", "username=a&password=b", "application/x-www-form-urlencoded"),
          415,
          "unsupported_media_type",
        ],
        [
          await post("/login", JSON.stringify({ username: "a", password: "x".repeat(70_000) })),
          413,
          "payload_too_large",
        ],
        [await post("/login", '{"__proto__": {"x": 1}, "username": "a", "password": "b"}'), 400, "invalid_request"],
        [await post("/login", JSON.stringify({ username: "nobody", password: PASSWORD })), 401, "invalid_credentials"],
      ];
      for (const [response, status, code] of cases) {
        expect([response.status, ((await response.json()) as { error: { code: string } }).error.code]).toEqual([
          status,
          code,
        ]);
        expect(response.headers.get("cache-control")).toBe("no-store");
      }
      if (prefix) expect((await fetch(`${base}/auth/me`)).status).toBe(404);
    });
  });
});
