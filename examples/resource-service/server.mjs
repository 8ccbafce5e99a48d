#!/usr/bin/env node
/**
 * A resource service that trusts latchkey's access tokens, through `latchkey/verify`: it
 * verifies each bearer token locally (the JWKS; no call to latchkey per request) and
 * follows latchkey's revocation feed with its service credentials, so a token whose
 * session has ended anywhere (logout, logout-all, a revoked device, a password change, a
 * disabled or deleted account) is refused within a second, not at `exp`.
 *
 *   npx latchkey services create reports     # prints CLIENT_ID and CLIENT_SECRET
 *   LATCHKEY_ORIGIN=http://localhost:3000 CLIENT_ID=... CLIENT_SECRET=... PORT=4000 \
 *     node examples/resource-service/server.mjs
 *   curl -H "Authorization: Bearer $ACCESS_TOKEN" http://localhost:4000/hello
 */
import { createServer } from "node:http";
import { createVerifier } from "latchkey/verify";

const origin = process.env.LATCHKEY_ORIGIN ?? "http://localhost:3000";
const port = Number(process.env.PORT ?? 4000);

const verifier = createVerifier({
  issuer: origin,
  credentials: { clientId: process.env.CLIENT_ID ?? "", clientSecret: process.env.CLIENT_SECRET ?? "" },
  // `closed` (the default): while the feed cannot be read, refuse with 503 rather than
  // accept a token whose session may have ended. `open`: accept until `exp`.
  whenFeedDown: process.env.WHEN_FEED_DOWN === "open" ? "open" : "closed",
  onFeedError: (error) => console.error(JSON.stringify({ msg: "revocation feed unreadable", err: String(error) })),
});

const server = createServer(async (request, response) => {
  const send = (status, body, headers = {}) => {
    response.writeHead(status, { "content-type": "application/json", ...headers });
    response.end(JSON.stringify(body));
  };
  if (request.method !== "GET" || request.url !== "/hello") {
    return send(404, { error: { code: "not_found", message: "Try GET /hello." } });
  }
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(request.headers.authorization ?? "");
  try {
    if (!match)
      throw Object.assign(new Error("A latchkey access token is required."), {
        code: "invalid_token",
        statusCode: 401,
      });
    const who = await verifier.verify(match[1]);
    send(200, { hello: who.userId, session: who.sessionId });
  } catch (error) {
    const status = error.statusCode ?? 500;
    const headers = status === 401 ? { "www-authenticate": 'Bearer error="invalid_token"' } : {};
    send(status, { error: { code: error.code ?? "internal_error", message: error.message } }, headers);
  }
});

await verifier.ready();
server.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ msg: "resource service listening", port: server.address().port, origin }));
});
process.once("SIGTERM", () => {
  verifier.close();
  server.close(() => process.exit(0));
});
