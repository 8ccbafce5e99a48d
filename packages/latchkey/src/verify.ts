/**
 * `latchkey/verify`: the service verifier, for services that trust latchkey's tokens. It is
 * the `@latchkey/verify` package (jose and an SSE parser, nothing else) re-exported, so an
 * app that has the library already needs no second install; a service that only verifies
 * installs `@latchkey/verify` alone.
 *
 * @example
 * import { createVerifier, verifyExpress } from "latchkey/verify";
 *
 * const verifier = createVerifier({
 *   issuer: "https://auth.example",
 *   credentials: { clientId: process.env.CLIENT_ID ?? "", clientSecret: process.env.CLIENT_SECRET ?? "" },
 * });
 * await verifier.ready();
 * const check = verifyExpress(verifier); // app.get("/reports", check, (req, res) => ...)
 */
export {
  createVerifier,
  FeedError,
  type FeedFailure,
  protect,
  type VerifiedToken,
  type Verifier,
  type VerifierOptions,
  VerifyError,
  type VerifyFailure,
  verifyExpress,
  verifyFastify,
  verifyHono,
} from "@latchkey/verify";
