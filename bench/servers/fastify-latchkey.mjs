// A bare Fastify 5 host app mounting latchkey through `latchkey/fastify` (its routes, so
// `GET /auth/me` among them), cookie sessions on SQLite (DATABASE_FILE), no logger, as a
// library user's smallest app would. Beside the server's `session` row it separates what
// latchkey costs inside Fastify from what the server product adds around it (its logger,
// its security headers, the live log's cookie-names header, connection draining).
import Fastify from "fastify";
import { latchkey } from "latchkey/fastify";
import { announce, core, ORIGIN, PORT } from "./adapter-common.mjs";

const { auth } = await core();
const app = Fastify({ logger: false });
await app.register(latchkey, { auth, publicOrigin: ORIGIN, strategy: "session" });
await app.listen({ port: PORT, host: "127.0.0.1" });
announce(app.server);
