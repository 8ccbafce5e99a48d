// Express 5, bare: one JSON route. The ceiling of an Express host app on this machine.
import express from "express";
import { announce, HELLO, PORT } from "./adapter-common.mjs";

const app = express();
app.get("/hello", (_req, res) => res.json(HELLO));
const server = app.listen(PORT, "127.0.0.1", () => announce(server));
