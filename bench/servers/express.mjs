// The usual alternative: Express 5 + express-session (MemoryStore) + handlers of the
// same shape as GET /auth/me and GET /api/todos. The to-dos are kept in memory, as the
// sessions are (a real app would read them from its database: this favours Express).
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
const todosByUser = new Map();
app.post("/login", (req, res) => {
  const id = "01a201c2-75d5-70b8-bc22-0dfe31b97265";
  req.session.user = { id, username: "bench", createdAt: "2026-11-22T00:00:00.000Z" };
  const at = Date.parse("2026-11-22T00:00:00.000Z");
  todosByUser.set(
    id,
    Array.from({ length: 10 }, (_, i) => ({
      id: `019ab0c2-75d5-70b8-bc22-0dfe31b972${String(i).padStart(2, "0")}`,
      title: `to-do ${i}`,
      done: false,
      createdAt: new Date(at + i).toISOString(),
      updatedAt: new Date(at + i).toISOString(),
    })),
  );
  res.json({ ok: true });
});
app.get("/api/todos", (req, res) => {
  if (!req.session.user) return res.status(401).json({ error: { code: "unauthenticated", message: "Sign in." } });
  res.json({ todos: todosByUser.get(req.session.user.id) ?? [] });
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
