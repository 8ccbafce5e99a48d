/**
 * Roles through `latchkey/verify` (issue 27), against a real latchkey server on a socket:
 * a verified user's token carries the user's roles; a role change reaches the verifier
 * through the revocation feed within a second and refuses the tokens issued before it,
 * while a token issued after passes with the new roles; the middleware's `{ role }` and
 * `{ permission }` answer 403 `forbidden` in the contract's format; a permission no role
 * grants fails when the middleware is built.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createVerifier, protect, type Verifier, VerifyError, verifyExpress } from "../../packages/verify/src/index.js";
import { type Harness, startHarness, uniqueName } from "../helpers/harness.js";

const ORIGIN = "http://localhost:3000";
const CLI = { actor: null, ip: "", userAgent: "test" };
let h: Harness;
let verifier: Verifier;

beforeAll(async () => {
  h = await startHarness();
  await h.app.listen({ port: 0, host: "127.0.0.1" });
  const base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
  const { service, clientSecret } = await h.server.auth.services.create("roles");
  verifier = createVerifier({
    issuer: ORIGIN,
    baseUrl: base,
    credentials: { clientId: service.id, clientSecret },
    pollIntervalMs: 100,
    roles: { admin: ["todos:read-any"] },
    now: () => h.clock.now(),
  });
  await verifier.ready();
});
afterAll(async () => {
  verifier?.close();
  await h.close();
});

async function signedIn() {
  const c = h.client();
  const name = uniqueName("roles");
  await c.register(name);
  const tokens = (await c.token(name)).json() as { access_token: string; refresh_token: string };
  const user = await h.server.auth.stores.users.findByUsername(name);
  return { c, name, user: user as NonNullable<typeof user>, ...tokens };
}

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error: unknown) => (error instanceof VerifyError ? `${error.statusCode} ${error.reason}` : String(error)),
  );

const answer = async (token: string, needs?: Parameters<typeof protect>[3]) => {
  const response = await protect(
    verifier,
    new Request("http://service.test/", { headers: { authorization: `Bearer ${token}` } }),
    async () => new Response("ok"),
    needs,
  );
  return [response.status, response.status === 200 ? await response.text() : await response.json()];
};

it("exposes the user's roles, and refuses tokens issued before a role change within a second", async () => {
  const { user, access_token, refresh_token, c } = await signedIn();
  expect((await verifier.verify(access_token)) as unknown).toMatchObject({ kind: "user", roles: ["user"] });
  await h.server.auth.admin.setRoles(user.id, ["admin", "user"], CLI);
  const start = Date.now();
  while ((await outcome(verifier.verify(access_token))) === "accepted" && Date.now() - start < 2000) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(Date.now() - start).toBeLessThan(1000);
  expect(await outcome(verifier.verify(access_token))).toBe("401 revoked");

  const refreshed = (await c.refresh(refresh_token)).json() as { access_token: string };
  expect((await verifier.verify(refreshed.access_token)) as unknown).toMatchObject({ roles: ["admin", "user"] });
  expect(await answer(refreshed.access_token, { role: "admin" })).toEqual([200, "ok"]);
  expect(await answer(refreshed.access_token, { permission: "todos:read-any" })).toEqual([200, "ok"]);
});

it("answers 403 forbidden for a live token without the role or permission the route needs", async () => {
  const { access_token } = await signedIn();
  expect(await answer(access_token, { role: "admin" })).toEqual([
    403,
    { error: { code: "forbidden", message: "This needs the role admin." } },
  ]);
  expect(await answer(access_token, { permission: "users:read" })).toEqual([
    403,
    { error: { code: "forbidden", message: "This needs the permission users:read." } },
  ]);
  expect(await answer(access_token)).toEqual([200, "ok"]);
});

it("refuses to build a middleware for a permission no role grants (a typo), or with nothing asked", () => {
  expect(() => verifyExpress(verifier, { permission: "todos:raed-any" })).toThrow(/no role grants "todos:raed-any"/);
  expect(() => verifyExpress(verifier, {})).toThrow(/takes \{ role \} or \{ permission \}/);
});
