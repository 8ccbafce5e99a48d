/**
 * "Who is this, if anyone": the adapters' `optionalAuth`. A request that presents no
 * credential, or one that is expired, revoked, forged or malformed, is anonymous (`null`),
 * never refused. A request that presents one is checked as `requireAuth` checks it: an
 * unsafe request must come from our origin, and a cookie one must carry the session's CSRF
 * token, or it is refused (403), so a forged cross-site form never runs as the victim, nor
 * silently as nobody. A store outage is refused too (503): it is not "anonymous".
 */
import { AuthError } from "../core/errors.js";
import type { LatchkeyContext, RequestAuth } from "./context.js";
import type { AuthRequest } from "./kit.js";

/** The refusals that only say "this is nobody": a missing, dead or bad credential. */
const ANONYMOUS = new Set(["unauthenticated", "invalid_token"]);

/**
 * Runs `authenticate` for a request that presents a credential of the strategy; `null`
 * for one that presents none, or whose credential is not (or no longer) good.
 *
 * @example
 * const who = await authenticateOptionally(context, request, () => dispatcher.authenticate(request, reply));
 */
export async function authenticateOptionally(
  context: LatchkeyContext,
  request: Pick<AuthRequest, "headers" | "cookies">,
  authenticate: () => Promise<RequestAuth>,
): Promise<RequestAuth | null> {
  if (!presentsCredential(context, request)) return null;
  try {
    return await authenticate();
  } catch (error) {
    if (error instanceof AuthError && ANONYMOUS.has(error.code)) return null;
    throw error;
  }
}

/** Whether a request carries an `Authorization` header or a credential cookie of the strategy. */
function presentsCredential(context: LatchkeyContext, request: Pick<AuthRequest, "headers" | "cookies">): boolean {
  if (request.headers.authorization !== undefined) return true;
  const { session, access } = context.cookies;
  const names = context.strategy === "session" ? [session] : context.strategy === "jwt" ? [access] : [access, session];
  return names.some((name) => request.cookies[name] !== undefined);
}
