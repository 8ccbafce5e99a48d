// A node:http server mounting latchkey through `latchkey/fetch` (its handler answers its
// routes, so `GET /auth/me` among them) and the shipped node bridge, cookie sessions on
// SQLite (DATABASE_FILE), as test/package/apps/node-http.mjs mounts it.
import { createServer } from "node:http";
import { createFetchHandler, toNodeHandler } from "latchkey/fetch";
import { announce, core, ORIGIN, PORT } from "./adapter-common.mjs";

const { auth } = await core();
const latchkey = createFetchHandler({ auth, publicOrigin: ORIGIN, strategy: "session" });
const notFound = () => Response.json({ error: "not_found" }, { status: 404 });
const server = createServer(
  toNodeHandler(async (request, info) => (await latchkey.handle(request, info)) ?? notFound()),
);
server.listen(PORT, "127.0.0.1", () => announce(server));
