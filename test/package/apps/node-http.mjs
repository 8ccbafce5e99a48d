// A plain node:http server: each request becomes a web Request for latchkey/fetch.
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { createFetchHandler } from "latchkey/fetch";
import { announce, core, ORIGIN, strategy } from "./common.mjs";

const { auth } = await core();
const lk = createFetchHandler({ auth, publicOrigin: ORIGIN, strategy, prefix: process.env.PREFIX ?? "" });

async function app(request, ip) {
  const answered = await lk.handle(request, { ip });
  if (answered) return answered;
  const { pathname } = new URL(request.url);
  if (request.method === "POST" && pathname === "/webhooks/payment") return Response.json({ received: true });
  if (pathname === "/boom") throw new Error("host boom");
  if (request.method === "GET" && pathname === "/api/whoami") {
    return lk.protect(request, { ip }, (who) => Response.json({ user: who.userId, via: who.via }));
  }
  if (request.method === "POST" && pathname === "/api/notes") {
    return lk.protect(request, { ip }, (who) => Response.json({ saved: who.userId }));
  }
  return Response.json({ host: "not found" }, { status: 404 });
}

const server = createServer(async (req, res) => {
  let response;
  try {
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])),
      body: hasBody ? Readable.toWeb(req) : undefined,
      duplex: "half",
    });
    response = await app(request, req.socket.remoteAddress);
  } catch (error) {
    response = Response.json(
      { host: "error", message: error.message },
      { status: 500, headers: { "x-host-handler": "1" } },
    );
  }
  res.statusCode = response.status;
  res.setHeader("x-host-hook", "1");
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") res.setHeader(name, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  res.end(response.body ? Buffer.from(await response.arrayBuffer()) : undefined);
});
server.listen(0, "127.0.0.1", () => announce(server));
