// A node:http server mounting latchkey with no Request or Response objects: latchkey's
// Express-shaped middleware (`latchkey/express`'s `routes`, which imports no Express and
// works on Node's own request and response) called straight from `createServer`, cookie
// sessions on SQLite (DATABASE_FILE).
import { createServer } from "node:http";
import { latchkeyExpress } from "latchkey/express";
import { announce, core, ORIGIN, PORT } from "./adapter-common.mjs";

const { auth } = await core();
const latchkey = latchkeyExpress({ auth, publicOrigin: ORIGIN, strategy: "session" });
const notFound = (res) => res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not_found"}');
const server = createServer((req, res) => {
  latchkey.routes(req, res, (error) => {
    if (error) res.writeHead(500).end();
    else notFound(res);
  });
});
server.listen(PORT, "127.0.0.1", () => announce(server));
