// The usual alternative: Express 5 + express-session (MemoryStore) + a handler of the
// same shape as GET /auth/me.
import express from "express";
import session from "express-session";

const app = express();
app.use(
  session({
    secret: "bench-secret-bench-secret-bench-secret",
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: "lax" },
  }),
);
app.post("/login", (req, res) => {
  req.session.user = {
    id: "01a201c2-75d5-70b8-bc22-0dfe31b97265",
    username: "bench",
    createdAt: "2026-11-22T00:00:00.000Z",
  };
  res.json({ ok: true });
});
app.get("/auth/me", (req, res) => {
  if (!req.session.user) return res.status(401).json({ error: { code: "unauthenticated", message: "Sign in." } });
  res.json({
    user: req.session.user,
    session: {
      id: req.session.id,
      strategy: "session",
      createdAt: "2026-11-22T00:00:00.000Z",
      lastSeenAt: "2026-11-22T00:00:00.000Z",
      expiresAt: "2026-11-22T12:00:00.000Z",
      idleExpiresAt: "2026-11-22T00:30:00.000Z",
      ip: req.ip,
      userAgent: req.get("user-agent") ?? "",
      current: true,
    },
  });
});
const server = app.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
