// A CommonJS app: require() of latchkey's ES modules (Node 20.19+, 22.12+), an Express
// app on SQLite, logging a user in.
const express = require("express");
const { createAuth, DEFAULT_SESSION_POLICY, DEFAULT_THROTTLE_POLICY, DEFAULT_TOKEN_POLICY } = require("latchkey");
const { latchkeyExpress } = require("latchkey/express");
const { openSqliteStores } = require("latchkey/sqlite");

const ORIGIN = "http://localhost:3000";

async function main() {
  const auth = await createAuth({
    stores: await openSqliteStores({ path: ":memory:" }),
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
  });
  const latchkey = latchkeyExpress({ auth, publicOrigin: ORIGIN });
  const app = express();
  app.use(latchkey.routes);
  app.get("/api/whoami", latchkey.requireAuth, (req, res) => res.json({ user: req.auth.userId }));
  const server = app.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
}

main();
