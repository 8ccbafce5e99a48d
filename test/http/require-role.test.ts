/**
 * `requireRole` and `requirePermission` (issue 27) on a host's own routes, in every
 * adapter (Fastify, Express, Hono, fetch) on a real socket: no credential is a 401, a
 * signed-in user without the role or permission a `403 forbidden` in the contract's
 * format, one with it passes and sees its roles on the request; a bearer token and a
 * cookie session alike. An undeclared role or permission fails when the route is built.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latchkeyExpress } from "../../packages/latchkey/src/adapters/express.js";
import { handleError, latchkey } from "../../packages/latchkey/src/adapters/fastify.js";
import { createFetchHandler } from "../../packages/latchkey/src/adapters/fetch.js";
import { type LatchkeyEnv, latchkeyHono } from "../../packages/latchkey/src/adapters/hono.js";
import { toNodeHandler } from "../../packages/latchkey/src/adapters/node.js";
import type { Auth } from "../../packages/latchkey/src/core/auth.js";
import { hostCore, ORIGIN, PASSWORD } from "../helpers/host-app.js";

const ACCESS = { permissions: ["reports:read"], roles: { auditor: ["reports:read", "users:read"] } };
const CLI = { actor: null, ip: "", userAgent: "test" };

interface Host {
  base: string;
  close(): Promise<void>;
}

async function onSocket(server: Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function shut(server: Server, guest: { close(): void }): Promise<void> {
  guest.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const options = (auth: Auth) => ({ auth, publicOrigin: ORIGIN, cookieSecure: false, maintenance: false as const });

/** Each host has GET /admins (requireRole "admin") and GET /reports (requirePermission "reports:read"). */
const HOSTS: [string, (auth: Auth) => Promise<Host>][] = [
  [
    "Fastify",
    async (auth) => {
      const app = Fastify();
      app.setErrorHandler(handleError);
      await app.register(latchkey, options(auth));
      app.get("/admins", { preHandler: app.requireRole("admin") }, async (request) => ({ roles: request.auth?.roles }));
      app.get("/reports", { preHandler: app.requirePermission("reports:read") }, async (request) => ({
        roles: request.auth?.roles,
      }));
      await app.listen({ port: 0, host: "127.0.0.1" });
      return { base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
    },
  ],
  [
    "Express",
    async (auth) => {
      const guest = latchkeyExpress(options(auth));
      const app = express();
      app.use(guest.routes);
      app.get("/admins", guest.requireRole("admin"), (req, res) => {
        res.json({ roles: req.auth?.roles });
      });
      app.get("/reports", guest.requirePermission("reports:read"), (req, res) => {
        res.json({ roles: req.auth?.roles });
      });
      const server = createServer(app);
      return { base: await onSocket(server), close: () => shut(server, guest) };
    },
  ],
  [
    "Hono",
    async (auth) => {
      const guest = latchkeyHono(options(auth));
      const app = new Hono<LatchkeyEnv>();
      app.use(guest.routes);
      app.get("/admins", guest.requireRole("admin"), (c) => c.json({ roles: c.var.auth.roles }));
      app.get("/reports", guest.requirePermission("reports:read"), (c) => c.json({ roles: c.var.auth.roles }));
      const server = createAdaptorServer({ fetch: app.fetch }) as Server;
      return { base: await onSocket(server), close: () => shut(server, guest) };
    },
  ],
  [
    "fetch",
    async (auth) => {
      const guest = createFetchHandler(options(auth));
      const admins = guest.requireRole("admin");
      const reports = guest.requirePermission("reports:read");
      const server = createServer(
        toNodeHandler(async (request, { ip }) => {
          const answered = await guest.handle(request, { ip });
          if (answered) return answered;
          const { pathname } = new URL(request.url);
          const show = async (who: { roles: readonly string[] }) => Response.json({ roles: who.roles });
          if (pathname === "/admins") return admins(request, { ip }, show);
          if (pathname === "/reports") return reports(request, { ip }, show);
          return new Response("Not found", { status: 404 });
        }),
      );
      return { base: await onSocket(server), close: () => shut(server, guest) };
    },
  ],
];

describe.each(HOSTS)("requireRole and requirePermission: %s", (_name, start) => {
  let auth: Auth;
  let host: Host;
  const tokens: Record<string, string> = {};
  const cookies: Record<string, string> = {};

  beforeAll(async () => {
    auth = await hostCore(undefined, { access: ACCESS });
    host = await start(auth);
    for (const [name, roles] of [
      ["plain", ["user"]],
      ["boss", ["admin"]],
      ["checker", ["auditor", "user"]],
    ] as const) {
      const user = await auth.accounts.register(name, PASSWORD);
      if (roles[0] !== "user" || roles.length > 1) await auth.admin.setRoles(user.id, [...roles], CLI);
      const post = (path: string) =>
        fetch(`${host.base}${path}`, {
          method: "POST",
          headers: { origin: ORIGIN, "content-type": "application/json" },
          body: JSON.stringify({ username: name, password: PASSWORD }),
        });
      tokens[name] = ((await (await post("/auth/token")).json()) as { access_token: string }).access_token;
      const login = await post("/auth/login");
      cookies[name] = login.headers
        .getSetCookie()
        .map((line) => line.split(";")[0])
        .join("; ");
    }
  });
  afterAll(async () => {
    await host.close();
    await auth.close();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${host.base}${path}`, { headers });

  it("answers 401 without a credential, in the contract's format", async () => {
    for (const path of ["/admins", "/reports"]) {
      const response = await get(path);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unauthenticated");
    }
  });

  for (const via of ["bearer", "cookie"] as const) {
    const credential = (name: string): Record<string, string> =>
      via === "bearer" ? { authorization: `Bearer ${tokens[name]}` } : { cookie: cookies[name] as string };

    it(`by ${via}: a user without the role or permission is refused 403 forbidden, naming what is needed`, async () => {
      const admins = await get("/admins", credential("plain"));
      expect([admins.status, await admins.json()]).toEqual([
        403,
        { error: { code: "forbidden", message: "This needs the role admin." } },
      ]);
      const reports = await get("/reports", credential("boss"));
      expect([reports.status, await reports.json()]).toEqual([
        403,
        { error: { code: "forbidden", message: "This needs the permission reports:read." } },
      ]);
    });

    it(`by ${via}: a user with it passes, and the route sees the roles`, async () => {
      const admins = await get("/admins", credential("boss"));
      expect([admins.status, await admins.json()]).toEqual([200, { roles: ["admin"] }]);
      const reports = await get("/reports", credential("checker"));
      expect([reports.status, await reports.json()]).toEqual([200, { roles: ["auditor", "user"] }]);
    });
  }
});

describe("an undeclared role or permission", () => {
  it("fails when the route is built, in every adapter, naming it", async () => {
    const auth = await hostCore(undefined, { access: ACCESS });
    try {
      const express = latchkeyExpress(options(auth));
      const hono = latchkeyHono(options(auth));
      const fetchHandler = createFetchHandler(options(auth));
      for (const guest of [express, hono, fetchHandler]) {
        expect(() => guest.requireRole("admn")).toThrow(/"admn" is not a declared role/);
        expect(() => guest.requirePermission("reports:raed")).toThrow(/"reports:raed" is not a declared permission/);
        expect(() => guest.requireRole()).toThrow(/requireRole takes one or more role names/);
        guest.close();
      }
      const app = Fastify();
      await app.register(latchkey, options(auth));
      expect(() => app.requireRole("admn")).toThrow(/"admn" is not a declared role/);
      expect(() => app.requirePermission("reports:raed")).toThrow(/not a declared permission/);
      await app.close();
    } finally {
      await auth.close();
    }
  });
});
