/**
 * The packages as a user gets them (issue 25: "Packages", "The host apps as tests"). Every
 * workspace is packed, then installed from its tarball with `npm install --offline` into
 * projects under the system's temp folder, where nothing an app resolves can reach this
 * checkout's `node_modules` (test/package/install.ts says how). This file: the tarballs;
 * the library in an Express project (what it brings, its types with no Fastify installed,
 * Express 5 written the right way and the usual wrong ways, a CommonJS app, the CLI of
 * `@latchkey/server` added to it, PostgreSQL + Redis beside the host's own tables, and
 * the documented shutdown); the verifier alone in a resource service. The Fastify, Hono
 * and `node:http` apps and every example's types are in frameworks.test.ts.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Generated, Kysely, Migrator, PostgresDialect } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpClient } from "../helpers/http-client.js";
import { POSTGRES_URL, postgresAvailable } from "../helpers/postgres.js";
import { type RunningServer, startListeningProcess } from "../helpers/processes.js";
import { freshPrefix, REDIS_URL, redisAvailable } from "../helpers/redis.js";
import { describeWith } from "../helpers/services.js";
import { badInput, bearerLogin, expectSetupError, fullFlow, ORIGIN, PASSWORD } from "./flows.js";
import {
  bytesOf,
  closureOf,
  compile,
  type Installed,
  installedPackages,
  installProject,
  nameOf,
  type Packed,
  packAll,
  ROOT,
  userEnvironment,
} from "./install.js";

const HERE = fileURLToPath(new URL("./", import.meta.url));
const WORK = mkdtempSync(join(tmpdir(), "latchkey-package-"));
const TARBALLS = join(WORK, "tarballs");
const EXPRESS_APP = join(WORK, "express-app");
const SERVICE = join(WORK, "resource-service");
/** The Express app's SQLite file, which the CLI and the resource service's host share. */
const APP_DB = join(EXPRESS_APP, "app.db");
/** What only latchkey's own server uses: a library install must bring none of it. */
const SERVER_ONLY = [
  "fastify",
  "@fastify/static",
  "@fastify/swagger",
  "@fastify/swagger-ui",
  "@fastify/cors",
  "pino",
  "commander",
  "helmet",
  "prom-client",
  "@opentelemetry/sdk-trace-node",
  "@opentelemetry/exporter-trace-otlp-http",
];
/** An Express host's own packages: its framework, its databases' drivers, Kysely, TypeScript. */
const EXPRESS_HOST = [
  "express",
  "better-sqlite3",
  "pg",
  "ioredis",
  "kysely",
  "typescript",
  "@types/node",
  "@types/express",
  "@types/better-sqlite3",
];

let packed: Map<string, Packed>;

beforeAll(() => {
  packed = packAll(TARBALLS);
  for (const pkg of packed.values()) {
    console.log(
      `[package] ${pkg.name}: tarball ${kb(pkg.size)}, unpacked ${kb(pkg.unpackedSize)}, ${pkg.files.length} files`,
    );
  }
}, 60_000);

afterAll(() => rmSync(WORK, { recursive: true, force: true }));

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const manifestOf = (name: string) => (packed.get(name) as Packed).manifest;
const filesOf = (name: string) => (packed.get(name) as Packed).files;

/** Copies the host apps (and the module-loading probe) into a project. */
function copyApps(project: string): void {
  cpSync(join(HERE, "apps"), project, { recursive: true });
  cpSync(join(HERE, "loaded-modules.mjs"), join(project, "loaded-modules.mjs"));
}

/**
 * The installs, each done once by the first describe that needs it: the verifier alone;
 * the Express app's install of the library; then `@latchkey/server` added to that app.
 */
const installs = new Map<string, Installed>();
function installOnce(key: string, install: () => Installed): Installed {
  if (!installs.has(key)) installs.set(key, install());
  return installs.get(key) as Installed;
}
const installVerifier = () =>
  installOnce("verifier", () => {
    const installed = installProject(SERVICE, { packed: ["@latchkey/verify"], host: [] }, packed, TARBALLS);
    copyApps(SERVICE);
    return installed;
  });
const installLibrary = () =>
  installOnce("library", () => {
    const installed = installProject(
      EXPRESS_APP,
      { packed: ["latchkey", "@latchkey/verify"], host: EXPRESS_HOST },
      packed,
      TARBALLS,
    );
    copyApps(EXPRESS_APP);
    return installed;
  });
const installServer = () =>
  installOnce("server", () => {
    expectInstalled(installLibrary());
    // The server's @fastify/static asks for content-disposition@3 (Node 22): on Node 20 the
    // app applies the repository's overrides, as it would its own.
    return installProject(
      EXPRESS_APP,
      { packed: ["latchkey", "@latchkey/verify", "@latchkey/server"], host: EXPRESS_HOST, overrides: true },
      packed,
      TARBALLS,
    );
  });

/** Fails with npm's own words when an install did not succeed. */
function expectInstalled(installed: Installed): void {
  expect(installed.ok, `npm install failed:\n${installed.output}`).toBe(true);
}

describe("the tarballs", () => {
  it("hold each package's build, README and LICENSE, and no tests, sources or data; the server's holds bin/, dist/ and web/dist/", () => {
    for (const name of packed.keys()) {
      expect(filesOf(name)).toContain("LICENSE");
      expect(filesOf(name)).toContain("README.md");
      expect(filesOf(name)).toContain("package.json");
      const stray = filesOf(name).filter((f) =>
        /^(test|bench|src|docs|scripts|deploy|data)\/|\.db$|\.png$|tsbuildinfo|\.test\.|\.map$/.test(f),
      );
      expect(stray, name).toEqual([]);
    }
    expect(filesOf("latchkey")).toContain("dist/index.d.ts");
    expect(filesOf("latchkey")).toContain("dist/fastify.js");
    expect(filesOf("latchkey").some((f) => f.startsWith("bin/") || f.startsWith("web/"))).toBe(false);
    expect(filesOf("@latchkey/verify")).toContain("dist/index.js");
    expect(filesOf("@latchkey/verify")).toContain("dist/index.d.ts");
    expect(
      filesOf("@latchkey/client")
        .filter((f) => f.startsWith("dist/"))
        .sort(),
    ).toContain("dist/index.js");
    expect(filesOf("@latchkey/client")).toContain("dist/index.d.ts");
    const server = filesOf("@latchkey/server");
    expect(server).toContain("bin/latchkey.js");
    expect(server).toContain("dist/cli/main.js");
    expect(server).toContain("web/dist/index.html");
    expect(server.some((f) => f.startsWith("web/") && !f.startsWith("web/dist/"))).toBe(false);
  });

  it("no packed package.json has a `prepare` script, nor any other script an install would run", () => {
    for (const name of packed.keys()) {
      const scripts = Object.keys(manifestOf(name).scripts ?? {});
      expect(
        scripts.filter((s) => /^(pre|post)?(prepare|install)$/.test(s)),
        name,
      ).toEqual([]);
    }
  });

  it("the library declares no framework, driver or server package as a dependency (frameworks and drivers are optional peers); the verifier, jose and the SSE parser", () => {
    const library = manifestOf("latchkey");
    for (const name of ["express", "hono", "better-sqlite3", "pg", "ioredis", "vitest", ...SERVER_ONLY]) {
      expect(library.dependencies ?? {}).not.toHaveProperty(name);
    }
    for (const [peer] of Object.entries(library.peerDependencies ?? {})) {
      expect(library.peerDependenciesMeta?.[peer]?.optional, peer).toBe(true);
    }
    expect(Object.keys(manifestOf("@latchkey/verify").dependencies ?? {}).sort()).toEqual([
      "eventsource-parser",
      "jose",
    ]);
    expect(manifestOf("@latchkey/server").bin).toEqual({ latchkey: "bin/latchkey.js" });
    // The browser client brings nothing into a page but itself.
    expect(manifestOf("@latchkey/client").dependencies ?? {}).toEqual({});
    expect(manifestOf("@latchkey/client").peerDependencies ?? {}).toEqual({});
  });
});

describe("@latchkey/verify, installed alone", () => {
  let installed: Installed;
  beforeAll(() => {
    installed = installVerifier();
  }, 120_000);

  it("brings jose and eventsource-parser and nothing else, with no engine warning", () => {
    expectInstalled(installed);
    expect(installed.output).not.toContain("EBADENGINE");
    const names = Object.keys(installedPackages(SERVICE)).filter(Boolean).map(nameOf).sort();
    expect(names).toEqual(["@latchkey/verify", "eventsource-parser", "jose"]);
    const all = Object.keys(installedPackages(SERVICE)).filter(Boolean);
    console.log(
      `[package] @latchkey/verify installed: ${all.length} packages, ${mb(bytesOf(SERVICE, all))} (npm install took ${installed.ms} ms)`,
    );
  });

  it("loads jose and the SSE parser, and nothing else", () => {
    const loaded = JSON.parse(
      execFileSync(process.execPath, ["loaded-modules.mjs", "@latchkey/verify"], { cwd: SERVICE, encoding: "utf8" }),
    );
    expect(loaded).toEqual(["@latchkey/verify", "eventsource-parser", "jose"]);
  });
});

describe("the library in an Express app", () => {
  let installed: Installed;
  beforeAll(() => {
    installed = installLibrary();
  }, 180_000);

  it("installs offline with no engine warning, and brings no server dependency", () => {
    expectInstalled(installed);
    expect(installed.output).not.toContain("EBADENGINE");
    const names = new Set(Object.keys(installedPackages(EXPRESS_APP)).map(nameOf));
    expect(SERVER_ONLY.filter((name) => names.has(name))).toEqual([]);
    // Nor can the app reach them, or this checkout's dev dependencies, any other way.
    expect(WORK.startsWith(ROOT)).toBe(false);
    for (const name of ["fastify", "vitest"]) {
      const reach = spawnSync(process.execPath, ["--input-type=module", "-e", `await import("${name}")`], {
        cwd: EXPRESS_APP,
        encoding: "utf8",
      });
      expect(reach.stderr, name).toContain("ERR_MODULE_NOT_FOUND");
    }
    const library = closureOf(EXPRESS_APP, ["latchkey"]);
    const withExpress = closureOf(EXPRESS_APP, ["latchkey", "express"]);
    console.log(
      `[package] latchkey installed: ${library.size} packages, ${mb(bytesOf(EXPRESS_APP, library))}; ` +
        `with express: ${withExpress.size} packages, ${mb(bytesOf(EXPRESS_APP, withExpress))} ` +
        `(npm install took ${installed.ms} ms)`,
    );
  });

  it("an Express-only TypeScript app and the README's Express example compile in strict NodeNext mode, with exactOptionalPropertyTypes and skipLibCheck false, and no Fastify or Hono installed", () => {
    const names = new Set(Object.keys(installedPackages(EXPRESS_APP)).map(nameOf));
    expect(names.has("fastify") || names.has("hono")).toBe(false);
    cpSync(join(HERE, "express-consumer.ts"), join(EXPRESS_APP, "express-consumer.ts"));
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    const authBlock = blocks.find((code) => code.includes("export const auth"));
    const expressBlock = blocks.find((code) => code.includes('from "latchkey/express"'));
    expect(authBlock).toBeDefined();
    expect(expressBlock).toBeDefined();
    writeFileSync(join(EXPRESS_APP, "auth.ts"), authBlock as string);
    writeFileSync(join(EXPRESS_APP, "readme-express.ts"), expressBlock as string);
    expect(compile(EXPRESS_APP, ["express-consumer.ts", "auth.ts", "readme-express.ts"])).toBe("");
  }, 120_000);

  describe.each(["session", "jwt", "hybrid"] as const)(
    "Express 5, latchkey's routes first: STRATEGY=%s",
    (strategy) => {
      let server: RunningServer;
      let base: string;
      beforeAll(async () => {
        server = await startListeningProcess(["express.mjs"], { STRATEGY: strategy }, EXPRESS_APP);
        base = `http://127.0.0.1:${server.port}`;
      }, 30_000);
      afterAll(() => server?.stop());

      it("registers, logs in, calls its own routes (required and optional authentication, a sign-in redirect), refreshes, logs out; its own routes and errors stay its own", async () => {
        await fullFlow(base, "", strategy, { hello: true, signInRedirect: true });
      });

      it("answers bad input on latchkey's routes in the contract's format, never 500", async () => {
        await badInput(base, "");
      });
    },
  );

  describe("Express 5 written the usual ways", () => {
    const servers: RunningServer[] = [];
    const start = async (env: Record<string, string>) => {
      const server = await startListeningProcess(["express.mjs"], env, EXPRESS_APP);
      servers.push(server);
      return { server, base: `http://127.0.0.1:${server.port}` };
    };
    afterAll(async () => {
      await Promise.all(servers.map((s) => s.stop()));
    });

    it("app.use(express.json()) before latchkey: latchkey's routes hand the set-up error, naming the fix, to the host's error handler; the host's own routes work", async () => {
      const { server, base } = await start({ ORDER: "parser-first" });
      const register = await fetch(`${base}/auth/register`, {
        method: "POST",
        headers: { origin: ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ username: "bob", password: PASSWORD }),
      });
      expect(register.headers.get("x-host-handler")).toBe("1");
      const message = await expectSetupError(server, register, /express\.json\(\)/);
      expect(message).toMatch(/before/);
      // Nobody was registered behind the host's back: a login is refused the same way.
      const login = await fetch(`${base}/auth/login`, {
        method: "POST",
        headers: { origin: ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ username: "bob", password: PASSWORD }),
      });
      await expectSetupError(server, login, /express\.json\(\)/);
      const webhook = await fetch(`${base}/webhooks/payment`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(await webhook.json()).toEqual({ received: true });
      expect(server.proc.exitCode).toBeNull();
    });

    it('app.use("/v1", latchkey.routes) without prefix: the set-up error naming prefix: "/v1", not a silent 404', async () => {
      const { server, base } = await start({ MOUNT: "/v1" });
      const me = await fetch(`${base}/v1/auth/me`);
      await expectSetupError(server, me, /prefix: "\/v1"/);
      expect(server.proc.exitCode).toBeNull();
    });

    it('app.use("/v1", latchkey.routes) with prefix: "/v1" works', async () => {
      const { base } = await start({ MOUNT: "/v1", PREFIX: "/v1" });
      const alice = new HttpClient(ORIGIN);
      expect(
        (await alice.request(base, "POST", "/v1/auth/register", { username: "alice", password: PASSWORD })).status,
      ).toBe(201);
      expect((await alice.login(base, "alice", PASSWORD, "/v1/auth/login")).status).toBe(200);
      const me = await alice.request(base, "GET", "/v1/auth/me");
      expect(me.status).toBe(200);
      expect(((await me.json()) as { user: { username: string } }).user.username).toBe("alice");
      expect((await alice.request(base, "GET", "/api/whoami")).status).toBe(200);
    });
  });

  describe("a CommonJS app (.cjs, require())", () => {
    let server: RunningServer | undefined;
    afterAll(() => server?.stop());

    it(`require("latchkey"), require("latchkey/express") and require("latchkey/sqlite") load on Node ${process.versions.node}, and a user logs in through Express`, async () => {
      server = await startListeningProcess(["commonjs.cjs"], {}, EXPRESS_APP);
      const base = `http://127.0.0.1:${server.port}`;
      const alice = new HttpClient(ORIGIN);
      expect(
        (await alice.request(base, "POST", "/auth/register", { username: "alice", password: PASSWORD })).status,
      ).toBe(201);
      const login = await alice.login(base, "alice", PASSWORD);
      expect(login.status).toBe(200);
      const { user } = (await login.json()) as { user: { id: string } };
      expect(await (await alice.request(base, "GET", "/api/whoami")).json()).toEqual({ user: user.id });
      expect(server.output()).not.toMatch(/ERR_REQUIRE_(ASYNC_MODULE|ESM)/);
    }, 30_000);
  });
});

describe("the CLI of @latchkey/server, added to the Express app", () => {
  beforeAll(() => {
    expectInstalled(installServer());
  }, 180_000);

  it("`npx latchkey services create` creates a service's credentials for the Express app's database", () => {
    const created = npx(["latchkey", "services", "create", "reports", "--json"], {
      DATABASE_URL: `sqlite:${APP_DB}`,
    });
    expect(created.status, created.stderr).toBe(0);
    const { client_id, client_secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    expect(client_id).toMatch(/^svc_/);
    expect(client_secret.length).toBeGreaterThan(30);
  }, 60_000);
});

describe("a resource service on @latchkey/verify alone, trusting the Express app", () => {
  let host: RunningServer;
  let service: RunningServer;
  beforeAll(async () => {
    expectInstalled(installVerifier());
    expectInstalled(installServer());
    host = await startListeningProcess(["express.mjs"], { DATABASE: APP_DB }, EXPRESS_APP);
    const created = npx(["latchkey", "services", "create", "billing", "--json"], {
      DATABASE_URL: `sqlite:${APP_DB}`,
    });
    const { client_id, client_secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    service = await startListeningProcess(
      ["service.mjs"],
      { LATCHKEY_URL: `http://127.0.0.1:${host.port}`, CLIENT_ID: client_id, CLIENT_SECRET: client_secret },
      SERVICE,
    );
  }, 180_000);
  afterAll(async () => {
    await service?.stop();
    await host?.stop();
  });

  it("verifies the app's access token, and refuses it within a second of the user's logout", async () => {
    const base = `http://127.0.0.1:${host.port}`;
    const alice = new HttpClient(ORIGIN);
    expect(
      (await alice.request(base, "POST", "/auth/register", { username: "carol", password: PASSWORD })).status,
    ).toBe(201);
    const token = await bearerLogin(base, "", "carol");
    const report = () =>
      fetch(`http://127.0.0.1:${service.port}/reports`, { headers: { authorization: `Bearer ${token}` } });
    const before = await report();
    expect(before.status).toBe(200);
    expect(((await before.json()) as { report: string }).report).toBe("ok");

    const logout = await fetch(`${base}/auth/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(logout.status).toBe(204);
    const start = Date.now();
    let refused: Response | undefined;
    while (Date.now() - start < 1000) {
      const answer = await report();
      if (answer.status === 401) {
        refused = answer;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(refused, `still accepted ${Date.now() - start} ms after the logout`).toBeDefined();
    expect(await refused?.json()).toEqual({ refused: "revoked" });
  });
});

describeWith("PostgreSQL and Redis", postgresAvailable && redisAvailable)(
  "Express on PostgreSQL + Redis, in a database that has the host's own users table and Kysely migrations",
  () => {
    const database = `lk_package_${randomBytes(5).toString("hex")}`;
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${database}`;
    let redis: { prefix: string; drop(): Promise<void> };
    let server: RunningServer;
    let migrated: string[];

    beforeAll(async () => {
      expectInstalled(installLibrary());
      await admin(`create database ${database}`);
      redis = freshPrefix();
      // What the host's database held before it took latchkey in: its users, and
      // its own Kysely migration history.
      const db = new Kysely<{ users: { id: Generated<number>; email: string } }>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.href }) }),
      });
      const first = await new Migrator({
        db,
        provider: {
          getMigrations: async () => ({
            "0001-users": {
              up: (db: Kysely<unknown>) =>
                db.schema
                  .createTable("users")
                  .addColumn("id", "serial", (c) => c.primaryKey())
                  .addColumn("email", "text", (c) => c.notNull().unique())
                  .execute(),
            },
          }),
        },
      }).migrateToLatest();
      if (first.error) throw first.error;
      await db.insertInto("users").values({ email: "existing@host.example" }).execute();
      await db.destroy();
      server = await startListeningProcess(
        ["express-postgres.mjs"],
        { DATABASE_URL: url.href, REDIS_URL, REDIS_PREFIX: redis.prefix },
        EXPRESS_APP,
      );
      migrated = (JSON.parse(/\{"port".*\}/.exec(server.output())?.[0] ?? "{}") as { migrated?: string[] })
        .migrated as string[];
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
      await admin(`drop database if exists ${database} with (force)`);
      await redis?.drop();
    });

    it('latchkey migrates into a schema of its own (schema: "latchkey"); the host\'s own migrator still runs after it', async () => {
      expect(migrated).toEqual(["0002-users-latchkey-id"]);
      const tables = await tablesBySchema(url.href);
      expect(tables.get("public")?.sort()).toEqual(["kysely_migration", "kysely_migration_lock", "users"]);
      expect(tables.get("latchkey")).toEqual(expect.arrayContaining(["users", "sessions", "events"]));
    });

    it("a user registers, logs in, and the host's route writes its own users table beside latchkey's", async () => {
      const base = `http://127.0.0.1:${server.port}`;
      const alice = new HttpClient(ORIGIN);
      expect(
        (await alice.request(base, "POST", "/auth/register", { username: "alice", password: PASSWORD })).status,
      ).toBe(201);
      const login = await alice.login(base, "alice", PASSWORD);
      expect(login.status).toBe(200);
      const saved = await alice.request(base, "POST", "/api/profile", { email: "alice@host.example" });
      expect(saved.status).toBe(200);
      expect(await (await alice.request(base, "GET", "/api/profile")).json()).toMatchObject({
        email: "alice@host.example",
      });
      const token = await bearerLogin(base, "", "alice");
      expect((await fetch(`${base}/api/profile`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect((await alice.request(base, "POST", "/auth/logout")).status).toBe(204);
    });

    it("exits by itself within a few seconds of SIGTERM, after the documented shutdown", async () => {
      // A keep-alive connection is open (the requests above); the shutdown must not wait on it.
      const start = Date.now();
      const code = await server.stop();
      const took = Date.now() - start;
      expect(code, server.output()).toBe(0);
      expect(took).toBeLessThan(5000);
    }, 15_000);
  },
);

/** `npx <args>` in the Express app, as its developer runs it. */
function npx(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync("npx", ["--offline", ...args], {
    cwd: EXPRESS_APP,
    encoding: "utf8",
    env: { ...userEnvironment(), ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Runs one statement as the test server's administrator. */
async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** The tables of a database, by schema (PostgreSQL's own schemas left out). */
async function tablesBySchema(url: string): Promise<Map<string, string[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ table_schema: string; table_name: string }>(
      "select table_schema, table_name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')",
    );
    const out = new Map<string, string[]>();
    for (const row of rows) out.set(row.table_schema, [...(out.get(row.table_schema) ?? []), row.table_name]);
    return out;
  } finally {
    await client.end();
  }
}
