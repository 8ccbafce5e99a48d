#!/usr/bin/env node
/**
 * A single-page app on one origin that signs in with latchkey and calls an API on another
 * origin, the two of them served here from plain Node (no framework, no build step):
 *
 * - the app, http://localhost:APP_PORT: index.html, app.js and `@latchkey/client` (its
 *   built modules, under /client/), with a strict Content-Security-Policy. The client keeps
 *   the access token in the page's memory; the refresh token is an HttpOnly cookie that
 *   only latchkey's /auth/refresh and /auth/logout receive.
 * - the API, http://localhost:API_PORT: `GET /notes` and `POST /notes`, the caller's notes,
 *   for a bearer token it verifies locally with `latchkey/verify`, following latchkey's
 *   revocation feed so a token is refused within a second of its session ending.
 *
 *   TRUSTED_ORIGINS=http://localhost:5173 npm start
 *   npx latchkey services create notes --json     # client_id and client_secret
 *   CLIENT_ID=svc_... CLIENT_SECRET=... node examples/browser-app/server.mjs
 *
 * Prints one JSON line, {"app":"http://localhost:5173","api":"http://localhost:4000"}, once
 * both listen (a port of 0 picks a free one; the line has the real ones).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createVerifier, VerifyError } from "latchkey/verify";

const latchkeyOrigin = new URL(process.env.LATCHKEY_ORIGIN ?? "http://localhost:3000").origin;
const appPort = Number(process.env.APP_PORT ?? 5173);
const apiPort = Number(process.env.API_PORT ?? 4000);
if (!process.env.CLIENT_ID || !process.env.CLIENT_SECRET) {
  console.error("Set CLIENT_ID and CLIENT_SECRET: `npx latchkey services create notes --json` prints them.");
  process.exit(2);
}

const verifier = createVerifier({
  issuer: latchkeyOrigin,
  credentials: { clientId: process.env.CLIENT_ID, clientSecret: process.env.CLIENT_SECRET },
  onFeedError: (error) => console.error(JSON.stringify({ msg: "revocation feed unreadable", err: String(error) })),
});

/** The app's files: this folder's page and script, and the client's built modules. */
const here = dirname(fileURLToPath(import.meta.url));
const clientEntry = fileURLToPath(import.meta.resolve("@latchkey/client"));
if (!existsSync(clientEntry)) {
  console.error(`${clientEntry} is missing: build @latchkey/client first (npm run build:server).`);
  process.exit(2);
}
const clientDir = dirname(clientEntry);
const JS = "text/javascript; charset=utf-8";
const files = new Map([
  ["/", { type: "text/html; charset=utf-8", body: readFileSync(join(here, "index.html")) }],
  ["/app.js", { type: JS, body: readFileSync(join(here, "app.js")) }],
]);
// The package is several ES modules importing one another by relative path: serve them all.
for (const name of readdirSync(clientDir).filter((file) => file.endsWith(".js"))) {
  files.set(`/client/${name}`, { type: JS, body: readFileSync(join(clientDir, name)) });
}

function send(response, status, body, headers = {}) {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

/** The app's origin, known once it listens: serves the page, the config and the scripts. */
function appHandler(origins) {
  const config = { latchkeyOrigin, apiOrigin: origins.api };
  // Scripts only from this origin (no inline script, no eval), and requests only to this
  // origin, latchkey and the API: an injected script could not send a token anywhere else.
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    `connect-src 'self' ${latchkeyOrigin} ${origins.api}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  return (request, response) => {
    const path = new URL(request.url ?? "/", origins.app).pathname;
    const headers = {
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
    };
    if (request.method !== "GET" && request.method !== "HEAD") {
      return send(response, 405, { error: { code: "method_not_allowed", message: "Only GET." } }, headers);
    }
    if (path === "/config.json") return send(response, 200, config, headers);
    const file = files.get(path);
    if (!file) return send(response, 404, { error: { code: "not_found", message: `No ${path} here.` } }, headers);
    response.writeHead(200, { ...headers, "content-type": file.type });
    response.end(request.method === "HEAD" ? undefined : file.body);
  };
}

/** Each user's notes, by the token's `sub`: in memory, gone when the process ends. */
const notes = new Map();

const problem = (statusCode, code, message) => Object.assign(new Error(message), { statusCode, code });

/** The text of the note in a `POST /notes` body, or the problem with it. */
async function readNote(request) {
  if (!/^application\/json\b/.test(request.headers["content-type"] ?? "")) {
    throw problem(415, "unsupported_media_type", "Send JSON: Content-Type: application/json.");
  }
  let raw = "";
  for await (const chunk of request) {
    raw += chunk;
    if (raw.length > 4096) throw problem(413, "payload_too_large", "A note is at most 4 kB of JSON.");
  }
  let text;
  try {
    text = JSON.parse(raw).text;
  } catch {}
  if (typeof text !== "string" || text.trim() === "" || text.length > 200) {
    throw problem(400, "invalid_request", 'Send {"text": "..."}, 1 to 200 characters.');
  }
  return text.trim();
}

/** The API's origin: the notes of the token's user, with CORS for the app's origin only. */
function apiHandler(origins) {
  // No credentials: the API takes the bearer token, never a cookie, so a page of another
  // origin can make the browser send it nothing.
  const cors = (origin) =>
    origin === origins.app
      ? { "access-control-allow-origin": origin, "access-control-expose-headers": "WWW-Authenticate", vary: "Origin" }
      : { vary: "Origin" };
  return async (request, response) => {
    const headers = cors(request.headers.origin);
    const path = new URL(request.url ?? "/", origins.api).pathname;
    if (request.method === "OPTIONS") {
      const allow = headers["access-control-allow-origin"]
        ? {
            "access-control-allow-methods": "GET, POST",
            "access-control-allow-headers": "Authorization, Content-Type",
            "access-control-max-age": "600",
          }
        : {};
      response.writeHead(204, { ...headers, ...allow });
      return response.end();
    }
    if (path !== "/notes" || (request.method !== "GET" && request.method !== "POST")) {
      return send(response, 404, { error: { code: "not_found", message: "Try GET or POST /notes." } }, headers);
    }
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(request.headers.authorization ?? "");
    try {
      if (!match) throw new VerifyError("missing");
      // Verified here (signature, claims, expiry), and refused once the feed says its
      // session has ended: no call to latchkey per request.
      const who = await verifier.verify(match[1]);
      if (who.kind !== "user") throw new VerifyError("forbidden", "Notes belong to users: a service has none.");
      const mine = notes.get(who.userId) ?? [];
      if (request.method === "GET") return send(response, 200, { notes: mine }, headers);
      const note = { id: mine.length + 1, text: await readNote(request), createdAt: new Date().toISOString() };
      notes.set(who.userId, [...mine, note]);
      send(response, 201, { note }, headers);
    } catch (error) {
      const status = error.statusCode ?? 500;
      if (status === 500) console.error(error);
      // RFC 6750: a request with no token gets the scheme alone; a bad token, the error.
      const challenge = match ? 'Bearer realm="notes", error="invalid_token"' : 'Bearer realm="notes"';
      const code = status === 500 ? "internal_error" : error.code;
      send(
        response,
        status,
        { error: { code, message: status === 500 ? "Something went wrong." : error.message } },
        {
          ...headers,
          ...(status === 401 ? { "www-authenticate": challenge } : {}),
        },
      );
    }
  };
}

/** Listens on `port` (0: a free one) and resolves with the origin: localhost, as the page must be. */
function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(`http://localhost:${server.address().port}`));
  });
}

await verifier.ready();
const app = createServer();
const api = createServer();
// Each handler needs the other's origin, known only once both listen (a port may be 0).
const origins = { app: await listen(app, appPort), api: await listen(api, apiPort) };
app.on("request", appHandler(origins));
api.on("request", apiHandler(origins));
console.log(JSON.stringify(origins));

process.once("SIGTERM", () => {
  verifier.close();
  app.close();
  api.close(() => process.exit(0));
});
