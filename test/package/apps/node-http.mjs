// A plain node:http server: latchkey/fetch's handler, served by the shipped bridge.
import { createServer } from "node:http";
import { createFetchHandler, toNodeHandler } from "latchkey/fetch";
import { announce, core, ORIGIN, prefix, strategy } from "./common.mjs";

const { auth } = await core();
const latchkey = createFetchHandler({ auth, publicOrigin: ORIGIN, strategy, prefix });

async function app(request, info) {
  const answered = await latchkey.handle(request, info);
  if (answered) return answered;
  const { pathname } = new URL(request.url);
  if (request.method === "POST" && pathname === "/webhooks/payment") return Response.json({ received: true });
  if (pathname === "/boom") throw new Error("host boom");
  if (request.method === "GET" && pathname === "/api/whoami") {
    return latchkey.protect(request, info, (who) => Response.json({ user: who.userId, via: who.via }));
  }
  if (request.method === "POST" && pathname === "/api/notes") {
    return latchkey.protect(request, info, (who) => Response.json({ saved: who.userId }));
  }
  return Response.json({ host: "not found" }, { status: 404 });
}

const server = createServer(
  toNodeHandler(async (request, info) => {
    let response;
    try {
      response = await app(request, info);
    } catch (error) {
      response = Response.json(
        { host: "error", message: error.message },
        { status: 500, headers: { "x-host-handler": "1" } },
      );
    }
    const headers = new Headers(response.headers);
    headers.set("x-host-hook", "1");
    return new Response(response.body, { status: response.status, headers });
  }),
);
server.listen(0, "127.0.0.1", () => announce(server));
