// What latchkey's contract and the security checklist put on every JSON answer, for the
// baselines that stand for latchkey's I/O (ceiling-io.mjs, floor.mjs with LATCHKEY_IO=1):
// the three security headers of a JSON answer, and `Cache-Control: no-store` on `/auth/*`.
const HEADERS = { "x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer" };

/** Adds them to every answer of the Fastify `app`, in one `onRequest` hook. */
export function addLatchkeyIoHeaders(app) {
  app.addHook("onRequest", (request, reply, done) => {
    reply.headers(HEADERS);
    if (request.url.startsWith("/auth/")) reply.header("cache-control", "no-store");
    done();
  });
}
