// The ceiling with latchkey's I/O: bare Fastify that parses the same cookies with
// @fastify/cookie, sends the same extra response headers (Cache-Control: no-store and the
// three security headers of a JSON answer) and the same `GET /auth/me` body as a `jwt`
// login (BODY, captured by bench/run.mjs), with no authentication at all. What separates
// it from the plain ceiling is the cost of the larger request and response alone.
import fastifyCookie from "@fastify/cookie";
import Fastify from "fastify";
import { addLatchkeyIoHeaders } from "./io-headers.mjs";

const body = JSON.parse(process.env.BODY);
const app = Fastify({ logger: false });
await app.register(fastifyCookie);
addLatchkeyIoHeaders(app);
app.get("/auth/me", async (request, reply) => {
  if (Object.keys(request.cookies).length === 0) return reply.code(401).send({ error: "no cookies" });
  return body;
});
await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
console.log(JSON.stringify({ port: app.server.address().port }));
