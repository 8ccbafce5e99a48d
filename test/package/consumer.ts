// A TypeScript consumer of every entry point, compiled by test/package/frameworks.test.ts
// against the packed packages' declarations (strict NodeNext, exactOptionalPropertyTypes,
// skipLibCheck false).
import { createServer } from "node:http";
import { serve } from "@hono/node-server";
import { createVerifier, verifyHono } from "@latchkey/verify";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import {
  type Auth,
  AuthError,
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
  type LatchkeyOptions,
  LatchkeySetupError,
  type RequestAuth,
  type Stores,
} from "latchkey";
import { latchkeyExpress } from "latchkey/express";
import { latchkey } from "latchkey/fastify";
import { createFetchHandler, toNodeHandler } from "latchkey/fetch";
import { type LatchkeyEnv, latchkeyHono, type OptionalAuthEnv } from "latchkey/hono";
import { createMemoryStores } from "latchkey/memory";
import { openPostgresStores } from "latchkey/postgres";
import { openRedisStores } from "latchkey/redis";
import { openSqliteStores } from "latchkey/sqlite";
import { describeStoreContract } from "latchkey/testing";

export async function main(kind: "sqlite" | "postgres" | "memory"): Promise<void> {
  const stores: Stores =
    kind === "sqlite"
      ? await openSqliteStores({ path: ":memory:" })
      : kind === "postgres"
        ? await openRedisStores({
            url: "redis://127.0.0.1",
            base: await openPostgresStores({ url: "postgres:///x", schema: "latchkey" }),
          })
        : createMemoryStores();
  const auth: Auth = await createAuth({
    stores,
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "https://app.example" },
  });
  const options: LatchkeyOptions = {
    auth,
    publicOrigin: "https://app.example",
    strategy: "hybrid",
    prefix: "/api",
    cookieNames: { session: "app_sid" },
    routes: { register: false, tokens: false },
  };

  const fastify = Fastify();
  await fastify.register(latchkey, options);
  fastify.get("/me", { preHandler: fastify.requireAuth }, async (request) => ({
    user: request.auth?.userId,
    username: (await request.auth?.load())?.user.username,
  }));

  const app = express();
  const viaExpress = latchkeyExpress(options);
  app.use(viaExpress.routes);
  app.get("/me", viaExpress.requireAuth, (req, res) => {
    const who: RequestAuth | null | undefined = req.auth;
    res.json({ user: who?.userId });
  });

  const viaHono = latchkeyHono(options);
  const hono = new Hono<LatchkeyEnv>();
  hono.use(viaHono.routes);
  hono.get("/me", viaHono.requireAuth, (c) => c.json({ user: c.var.auth.userId }));
  const open = new Hono<OptionalAuthEnv>();
  open.get("/hello", viaHono.optionalAuth, (c) => c.json({ hello: c.var.auth?.userId ?? "guest" }));
  const verifier = createVerifier({
    issuer: "https://app.example",
    credentials: { clientId: "svc_x", clientSecret: "s" },
  });
  hono.get("/reports", verifyHono(verifier), (c) => c.json({ ok: true }));
  serve({ fetch: hono.fetch, port: 0 });

  const viaFetch = createFetchHandler({ ...options, clientAddress: () => "127.0.0.1" });
  const handler = async (request: Request): Promise<Response> =>
    (await viaFetch.handle(request)) ??
    viaFetch.protect(request, undefined, (who) => Response.json({ user: who.userId }));
  createServer(
    toNodeHandler(async (request, info) => (await viaFetch.handle(request, info)) ?? handler(request)),
  ).listen(0);

  describeStoreContract({
    name: "memory",
    open: async () => ({ stores: createMemoryStores(), cleanup: async () => {} }),
  });

  const error = new AuthError("not_found", "No such thing.");
  const status: number = error.statusCode;
  void status;
  const wrong: Error = new LatchkeySetupError("an example");
  void wrong;
  await auth.close();
  await stores.close();
}
