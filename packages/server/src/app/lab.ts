/**
 * The insecure lab's two server pages (the web app's /lab frames them): a page whose
 * address carries a FAKE token, and a "third-party" page that shows the `Referer` header it
 * received. Together they show how a token in a URL leaks, under the `Referrer-Policy`
 * the visitor picks, next to the one latchkey sends everywhere (`no-referrer`).
 *
 * They take only a fake token (`FAKE-` and letters or digits, checked by the schema), run
 * no script at all, and are plain HTML with every echoed value escaped. Their own headers
 * differ from the app's in two ways, both needed and both narrow: `frame-ancestors 'self'`
 * (with `X-Frame-Options: SAMEORIGIN`) so the lab page of this origin can frame them, and
 * the leaky page's `Referrer-Policy`, which is the lesson. The CSP is otherwise stricter
 * than the app's: no script source at all.
 */
import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyReply } from "fastify";
import { AuthError } from "latchkey";

/** The policies the lab compares: latchkey's, the browsers' default, and the leaky one. */
export const LAB_REFERRER_POLICIES = ["no-referrer", "strict-origin-when-cross-origin", "unsafe-url"] as const;

/** The only tokens the lab accepts: visibly fake, short, URL-safe. */
export const LAB_FAKE_TOKEN = "^FAKE-[A-Za-z0-9]{4,32}$";

const LeakyQuery = Type.Object(
  {
    policy: Type.Union(LAB_REFERRER_POLICIES.map((policy) => Type.Literal(policy))),
    token: Type.String({ pattern: LAB_FAKE_TOKEN }),
  },
  { additionalProperties: false },
);

/** No script, no framing but by this origin's lab page, nothing loaded but the lab's stylesheet. */
const LAB_CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

const LAB_CSS = `:root { color-scheme: light dark; font: 16px/1.5 system-ui, sans-serif; }
body { margin: 0; padding: 0.75rem 1rem; background: #fff; color: #1a1a1a; }
code { overflow-wrap: anywhere; background: #eef0f3; padding: 0 0.2em; border-radius: 3px; }
h1 { font-size: 1.25rem; margin: 0 0 0.5rem; }
a { color: #0b57d0; }
.leak { color: #a50e0e; font-weight: 600; }
.safe { color: #137333; font-weight: 600; }
@media (prefers-color-scheme: dark) {
  body { background: #1e1f22; color: #e8eaed; }
  code { background: #2d2f33; }
  a { color: #8ab4f8; }
  .leak { color: #f6aea9; }
  .safe { color: #81c995; }
}
`;

/**
 * @example
 * await app.register(labRoutes);
 */
export async function labRoutes(fastify: FastifyInstance): Promise<void> {
  fastify.get("/lab/lab.css", { schema: { hide: true } }, async (_request, reply) =>
    reply.header("cache-control", "no-cache").type("text/css; charset=utf-8").send(LAB_CSS),
  );

  fastify.get<{ Querystring: Static<typeof LeakyQuery> }>(
    "/lab/leaky",
    { schema: { hide: true, querystring: LeakyQuery } },
    async (request, reply) => {
      const { policy } = request.query;
      // Only the two parameters: the page echoes its address, so nothing else may be in it.
      if (new URL(request.url, "http://lab.invalid").searchParams.size !== 2) {
        throw new AuthError("invalid_request", "The lab's page takes a policy and a FAKE- token, nothing else.");
      }
      labHeaders(reply).header("referrer-policy", policy);
      return page(
        "A page with a token in its address",
        `<p>This page was opened at an address that carries a token, as the tutorials' password-reset and
“magic link” pages do. The tab's history now holds this address, token included:</p>
<p><code id="address">${escapeHtml(request.url)}</code></p>
<p>The page was served with <code>Referrer-Policy: ${escapeHtml(policy)}</code>.</p>
<p><a href="/lab/third-party">Follow a link to a “third-party” page</a> (the same happens with an analytics
script, an image or a font the page loads from another server).</p>`,
      );
    },
  );

  fastify.get("/lab/third-party", { schema: { hide: true } }, async (request, reply) => {
    labHeaders(reply).header("referrer-policy", "no-referrer");
    const referer = request.headers.referer;
    const received =
      referer === undefined
        ? `<p class="safe" id="verdict">No <code>Referer</code> header arrived: the token did not leak this way.</p>`
        : `<p>The <code>Referer</code> header this server received:</p>
<p><code id="referer">${escapeHtml(referer.slice(0, 500))}</code></p>
${
  /[?&]token=/.test(referer)
    ? `<p class="leak" id="verdict">The token leaked: this server, and its logs, now hold it.</p>`
    : `<p class="safe" id="verdict">Only the origin arrived, without the path and the token.</p>`
}`;
    return page(
      "A “third-party” page",
      `<p>This page stands for another site: it shows what the browser told it about where you came from.</p>
${received}
<p>The browser's Back button returns to the address with the token: it stays in the tab's history.</p>`,
    );
  });
}

/** The lab pages' headers: see the module's comment for why they differ from the app's. */
function labHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header("content-security-policy", LAB_CSP)
    .header("x-frame-options", "SAMEORIGIN")
    .header("cache-control", "no-store")
    .header("x-robots-tag", "noindex")
    .type("text/html; charset=utf-8");
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · latchkey lab</title>
<link rel="stylesheet" href="/lab/lab.css">
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}
