#!/usr/bin/env node
/**
 * A resource service that trusts latchkey's access tokens, knowing nothing of latchkey but
 * its public origin: it fetches the public keys from /.well-known/jwks.json with jose's
 * createRemoteJWKSet and verifies each bearer token locally (no call to latchkey per
 * request).
 *
 *   LATCHKEY_ORIGIN=http://localhost:3000 PORT=4000 node examples/resource-service/server.mjs
 *   curl -H "Authorization: Bearer $ACCESS_TOKEN" http://localhost:4000/hello
 *
 * What it cannot know: that a session was ended before its token expired. latchkey's own
 * routes refuse such tokens at once (REVOCATION=immediate); a service that verifies from
 * the JWKS alone accepts them until `exp`, so keep ACCESS_TOKEN_TTL short.
 */
import { createServer } from "node:http";
import { createRemoteJWKSet, jwtVerify } from "jose";

const origin = process.env.LATCHKEY_ORIGIN ?? "http://localhost:3000";
const port = Number(process.env.PORT ?? 4000);
// After a key rotation the first token signed with the new key has an unknown `kid`; the
// key set is fetched again, but at most once per cooldown, so a flood of made-up `kid`s
// cannot turn into a flood of requests to latchkey.
const cooldownDuration = Number(process.env.JWKS_COOLDOWN_MS ?? 30_000);

const jwks = createRemoteJWKSet(new URL("/.well-known/jwks.json", origin), { cooldownDuration });

async function authenticate(header) {
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(header ?? "");
  if (!match) return null;
  try {
    const { payload } = await jwtVerify(match[1], jwks, {
      issuer: origin,
      audience: origin,
      algorithms: ["EdDSA", "ES256"],
      typ: "at+jwt",
      clockTolerance: 5,
      requiredClaims: ["exp", "iat", "sub", "sid", "jti"],
    });
    return payload;
  } catch {
    return null;
  }
}

const server = createServer(async (request, response) => {
  const send = (status, body, headers = {}) => {
    response.writeHead(status, { "content-type": "application/json", ...headers });
    response.end(JSON.stringify(body));
  };
  if (request.method !== "GET" || request.url !== "/hello") {
    return send(404, { error: { code: "not_found", message: "Try GET /hello." } });
  }
  const claims = await authenticate(request.headers.authorization);
  if (!claims) {
    return send(
      401,
      { error: { code: "invalid_token", message: "A valid latchkey access token is required." } },
      {
        "www-authenticate": 'Bearer error="invalid_token"',
      },
    );
  }
  send(200, { hello: claims.sub, session: claims.sid });
});

server.listen(port, "127.0.0.1", () => {
  console.log(JSON.stringify({ msg: "resource service listening", port: server.address().port, origin }));
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
