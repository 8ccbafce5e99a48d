// What the adapter benches (bench/servers/{express,hono,node}-{hello,floor,latchkey}.mjs)
// share: latchkey's core on the SQLite file DATABASE_FILE (as a host app sets it up:
// test/package/apps/common.mjs), the bare hello answer, and how a server tells
// bench/run.mjs where it listens.
import { createAuth, DEFAULT_SESSION_POLICY, DEFAULT_THROTTLE_POLICY, DEFAULT_TOKEN_POLICY } from "latchkey";
import { openSqliteStores } from "latchkey/sqlite";

export const PORT = Number(process.env.PORT ?? 0);
export const ORIGIN = process.env.PUBLIC_ORIGIN ?? "http://localhost:1";

/** The body of every `F-hello` server's `GET /hello`. */
export const HELLO = { hello: "world" };

/** latchkey's core on SQLite, cookie sessions: what each `F-latchkey` server mounts. */
export async function core() {
  const stores = await openSqliteStores({ path: process.env.DATABASE_FILE });
  const auth = await createAuth({
    stores,
    // A secret renewed after the default fifteen minutes would end the bench's session as
    // stolen (autocannon keeps the first cookie): renewed daily instead, checked as always.
    sessions: { ...DEFAULT_SESSION_POLICY, rotateInterval: 86_400 },
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
  });
  return { auth, stores };
}

/** The 401 of the floors, as floor-common.mjs's `unauthenticated` sends it. */
export const UNAUTHENTICATED = { error: "unauthenticated", message: "Sign in to continue." };

export function announce(server) {
  console.log(JSON.stringify({ port: server.address().port }));
}
