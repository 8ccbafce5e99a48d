/**
 * `@latchkey/verify` (also `latchkey/verify`): for services that trust latchkey's tokens.
 * Verifies them locally with the JWKS, by latchkey's own rules (`@latchkey/verify/rules`),
 * and refuses, within milliseconds, a token whose session has ended anywhere (it follows
 * latchkey's revocation feed, as Server-Sent Events, with the service's credentials).
 * Middleware for Fastify, Express, Hono and fetch handlers. No framework and no driver is
 * loaded.
 *
 * @example
 * import { createVerifier, verifyExpress } from "latchkey/verify";
 *
 * const verifier = createVerifier({
 *   issuer: "https://auth.example",
 *   credentials: { clientId: process.env.CLIENT_ID ?? "", clientSecret: process.env.CLIENT_SECRET ?? "" },
 * });
 * await verifier.ready(); // rejects with a FeedError within 10 s if latchkey cannot be read
 * const check = verifyExpress(verifier); // app.get("/reports", check, (req, res) => ...)
 */
export { FeedError, type FeedFailure, VerifyError, type VerifyFailure } from "./errors.js";
export { type Needs, protect, verifyExpress, verifyFastify, verifyHono } from "./middleware.js";
export {
  createVerifier,
  type VerifiedToken,
  type Verifier,
  type VerifierOptions,
} from "./verifier.js";
