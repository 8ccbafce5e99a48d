// node:http, bare: one JSON route, written straight to the response.
import { createServer } from "node:http";
import { announce, HELLO, PORT } from "./adapter-common.mjs";

const body = JSON.stringify(HELLO);
const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/hello") {
    res.writeHead(200, { "content-type": "application/json; charset=utf-8" }).end(body);
  } else res.writeHead(404).end();
});
server.listen(PORT, "127.0.0.1", () => announce(server));
