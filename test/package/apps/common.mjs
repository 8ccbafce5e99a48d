// What the host apps share: latchkey's core on SQLite (in memory, or the file DATABASE
// names), and how an app tells the test where it listens.
import { createAuth, DEFAULT_SESSION_POLICY, DEFAULT_THROTTLE_POLICY, DEFAULT_TOKEN_POLICY } from "latchkey";
import { openSqliteStores } from "latchkey/sqlite";

export const ORIGIN = "http://localhost:3000";
/** A partner site whose scripts call the API with bearer tokens. */
export const PARTNER = "https://partner.example";
export const strategy = process.env.STRATEGY ?? "session";
export const prefix = process.env.PREFIX ?? "";

export async function core() {
  const stores = await openSqliteStores({ path: process.env.DATABASE ?? ":memory:" });
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
