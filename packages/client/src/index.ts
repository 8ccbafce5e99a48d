/**
 * `@latchkey/client`: the browser side of latchkey, with no dependency. Signs in and out,
 * sends the session's credentials with `client.fetch` (cookies and the CSRF header, or a
 * bearer token kept in memory) to the origins it is told to trust and to no other, refreshes
 * the access token before it expires, and keeps every tab of the origin in step: one
 * refresh for all of them (Web Locks), sign-ins and sign-outs heard by all
 * (BroadcastChannel). Nothing is written to storage or to a global.
 *
 * @example
 * import { createClient, LatchkeyError } from "@latchkey/client";
 *
 * const client = createClient({ prefix: "/api" });
 * client.onChange(({ session, reason }) => render(session, reason));
 * try {
 *   await client.signIn("alice", "correct horse battery staple");
 * } catch (error) {
 *   if (!(error instanceof LatchkeyError)) throw error;
 *   showError(error.code === "rate_limited" ? `Wait ${error.retryAfter} s.` : error.message);
 * }
 * const todos = await (await client.fetch("/api/todos")).json();
 */
export { createClient } from "./client.js";
export { LatchkeyError, SecondFactorRequired } from "./errors.js";
export type { ChannelLike, ClientOptions, LockManagerLike, Mode } from "./options.js";
export type {
  Change,
  LatchkeyClient,
  PasskeyAnswer,
  Reauthentication,
  SecondFactorProof,
  SessionInfo,
} from "./types.js";
