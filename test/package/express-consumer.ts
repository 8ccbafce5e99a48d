// An Express-only TypeScript app (neither Fastify nor Hono installed), compiled by
// test/package/package.test.ts against the packed packages' declarations: strict NodeNext,
// exactOptionalPropertyTypes, skipLibCheck false.
import { createVerifier, type VerifiedToken, verifyExpress } from "@latchkey/verify";
import express, { type NextFunction, type Request, type Response } from "express";
import {
  AuthError,
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
  LatchkeySetupError,
  OverloadedError,
  type RequestAuth,
} from "latchkey";
import { latchkeyExpress } from "latchkey/express";
import { createMemoryStores } from "latchkey/memory";

export async function main(): Promise<void> {
  const auth = await createAuth({
    stores: createMemoryStores(),
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: "https://app.example" },
  });
  const latchkey = latchkeyExpress({ auth, publicOrigin: "https://app.example", strategy: "session", prefix: "/v1" });
  const app = express();
  app.use("/v1", latchkey.routes);
  app.use(express.json());
  app.get("/v1/me", latchkey.requireAuth, (req, res) => {
    const who: RequestAuth | null | undefined = req.auth;
    res.json({ user: who?.userId });
  });
  app.get("/hello", latchkey.optionalAuth, (req, res) => {
    res.json({ hello: req.auth?.userId ?? "guest" });
  });
  app.get("/account", latchkey.requireAuthWith({ redirect: "/sign-in" }), (req, res) => {
    res.send(req.auth?.userId);
  });
  app.get("/api/notes", latchkey.requireAuthWith({ onRefusal: "next" }), (req, res) => {
    res.json({ user: req.auth?.userId });
  });

  // A service's own routes, behind @latchkey/verify: `req.token` is declared.
  const verifier = createVerifier({
    issuer: "https://app.example",
    credentials: { clientId: "svc_x", clientSecret: "secret" },
  });
  app.get("/reports", verifyExpress(verifier), (req, res) => {
    const token: VerifiedToken | undefined = req.token;
    res.json({ user: token?.kind === "user" ? token.userId : null });
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof LatchkeySetupError) console.error(error.message);
    const status = error instanceof AuthError || error instanceof OverloadedError ? error.statusCode : 500;
    res.status(status).json({ error: String(error) });
  });
  const server = app.listen(3000);
  process.once("SIGTERM", async () => {
    server.close();
    latchkey.close();
    verifier.close();
    await auth.close();
    await auth.stores.close();
  });
}
