// The ceiling: a bare Fastify app answering the JSON shape of GET /auth/me (a constant
// body), no auth at all.
import Fastify from "fastify";

const body = {
  user: { id: "01a201c2-75d5-70b8-bc22-0dfe31b97265", username: "bench", createdAt: "2026-11-22T00:00:00.000Z" },
  session: {
    id: "3Dn4o0yOmV1dKBEaVkzgMQ",
    strategy: "session",
    createdAt: "2026-11-22T00:00:00.000Z",
    lastSeenAt: "2026-11-22T00:00:00.000Z",
    expiresAt: "2026-11-22T12:00:00.000Z",
    idleExpiresAt: "2026-11-22T00:30:00.000Z",
    ip: "127.0.0.1",
    userAgent: "autocannon",
    device: { browser: "Unknown", os: "Unknown", type: "unknown" },
    current: true,
  },
};
const app = Fastify({ logger: false });
app.get("/auth/me", async () => body);
await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
console.log(JSON.stringify({ port: app.server.address().port }));
