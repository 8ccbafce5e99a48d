// What every host app shares: the core on an in-memory SQLite database, and how it
// tells the test where it listens.
import { createAuth, DEFAULT_SESSION_POLICY, DEFAULT_THROTTLE_POLICY, DEFAULT_TOKEN_POLICY } from "latchkey";
import { openSqliteStores } from "latchkey/sqlite";

export const ORIGIN = "http://localhost:3000";
export const strategy = process.env.STRATEGY ?? "session";

export async function core() {
  const stores = await openSqliteStores({ path: ":memory:" });
  const auth = await createAuth({
    stores,
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
  });
  return { auth, stores };
}

export function announce(server) {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
}
