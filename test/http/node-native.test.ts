/**
 * `latchkey/express` on plain `node:http` (issue 33): its middleware imports no Express and
 * works on Node's own request and response, so a `node:http` host that wants no Request
 * and Response objects (whose cost bounds `latchkey/fetch` through `toNodeHandler`: see
 * docs/performance.md) calls it from `createServer` as docs/library.md shows. The same
 * routes, guards and refusals as in Express, on a real socket.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExpressRequestLike, latchkeyExpress } from "../../packages/latchkey/src/adapters/express.js";
import { closing, hostCore, listening, ORIGIN, PASSWORD, username } from "../helpers/host-app.js";

let server: Server;
let base: string;
let close: () => void;

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

beforeAll(async () => {
  const auth = await hostCore();
  const latchkey = latchkeyExpress({ auth, publicOrigin: ORIGIN });
  close = () => latchkey.close();
  // The host's own routes run when latchkey's `next` says the request is not one of its own.
  server = createServer((req: ExpressRequestLike, res) =>
    latchkey.routes(req, res, (error) => {
      if (error) return json(res, 500, { host: "error" });
      if (req.url === "/api/whoami") {
        return latchkey.requireAuth(req, res, (refused) =>
          refused ? json(res, 500, { host: "error" }) : json(res, 200, { user: req.auth?.userId }),
        );
      }
      if (req.url === "/admin") {
        return latchkey.requireRole("admin")(req, res, () => json(res, 200, { admin: true }));
      }
      json(res, 404, { host: "not found" });
    }),
  );
  base = await listening(server);
});
afterAll(async () => {
  close();
  await closing(server);
});

async function signIn(): Promise<{ cookie: string; csrf: string; id: string }> {
  const body = JSON.stringify({ username: username("native"), password: PASSWORD });
  const headers = { "content-type": "application/json", origin: ORIGIN };
  const registered = await fetch(`${base}/auth/register`, { method: "POST", headers, body });
  expect(registered.status).toBe(201);
  const login = await fetch(`${base}/auth/login`, { method: "POST", headers, body });
  expect(login.status).toBe(200);
  const cookie = login.headers
    .getSetCookie()
    .map((line) => line.split(";")[0])
    .join("; ");
  const answer = (await login.json()) as { csrfToken: string; user: { id: string } };
  return { cookie, csrf: answer.csrfToken, id: answer.user.id };
}

describe("issue 33: latchkey/express's middleware on plain node:http", () => {
  it("serves latchkey's routes: register, sign in, /auth/me, sign out, with the contract's headers", async () => {
    const { cookie, csrf, id } = await signIn();
    const me = await fetch(`${base}/auth/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(me.headers.get("cache-control")).toBe("no-store");
    expect(me.headers.get("content-length")).not.toBeNull();
    expect(((await me.json()) as { user: { id: string } }).user.id).toBe(id);
    const out = await fetch(`${base}/auth/logout`, {
      method: "POST",
      headers: { cookie, origin: ORIGIN, "x-csrf-token": csrf },
    });
    expect(out.status).toBe(204);
    expect((await fetch(`${base}/auth/me`, { headers: { cookie } })).status).toBe(401);
  });

  it("guards the host's routes: the caller, a 401 without a credential, a 403 without the role", async () => {
    const { cookie, id } = await signIn();
    const whoami = await fetch(`${base}/api/whoami`, { headers: { cookie } });
    expect(await whoami.json()).toEqual({ user: id });
    const anonymous = await fetch(`${base}/api/whoami`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { code: string } }).error.code).toBe("unauthenticated");
    const admin = await fetch(`${base}/admin`, { headers: { cookie } });
    expect(admin.status).toBe(403);
    expect(((await admin.json()) as { error: { code: string } }).error.code).toBe("forbidden");
  });

  it("hands what is not latchkey's to the host, and refuses a body past 64 KiB with 413", async () => {
    const other = await fetch(`${base}/elsewhere`);
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ host: "not found" });
    const big = await fetch(`${base}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: ORIGIN },
      body: JSON.stringify({ username: "x".repeat(70 * 1024), password: PASSWORD }),
    });
    expect(big.status).toBe(413);
  });
});
