// An Express 5 host app mounting latchkey through `latchkey/express` (its routes, so
// `GET /auth/me` among them), cookie sessions on SQLite (DATABASE_FILE), its own JSON
// parser after latchkey's routes, as test/package/apps/express.mjs mounts it.
import express from "express";
import { latchkeyExpress } from "latchkey/express";
import { announce, core, ORIGIN, PORT } from "./adapter-common.mjs";

const { auth } = await core();
const latchkey = latchkeyExpress({ auth, publicOrigin: ORIGIN, strategy: "session" });
const app = express();
app.use(latchkey.routes);
app.use(express.json());
const server = app.listen(PORT, "127.0.0.1", () => announce(server));
