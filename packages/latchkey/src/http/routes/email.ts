/**
 * The email routes (`docs/accounts.md`): the signed-in user's address and its change, the
 * mailed links that prove an address, undo a change and reset a forgotten password. On
 * only where `createAuth` was given `mail`; the group `email` may be switched off.
 *
 * The routes that mail something answer before any lookup (`202`), the same for every
 * address; the routes that take a link's token need no session (the link is opened in
 * whatever browser the mail client picks) and no cookie, so an API client can use them too.
 */
import { Type } from "@sinclair/typebox";
import { clientInfo } from "../client.js";
import type { LatchkeyContext } from "../context.js";
import { EmailBody, EmailChangeBody, errorResponses, LinkBody, PasswordResetBody, SECURITY } from "../schemas.js";
import { signedInCallerOf } from "./account.js";
import { liveCaller, type RouteSpec, route, who } from "./spec.js";

const TAGS = ["email"];
const Accepted = Type.Object({}, { additionalProperties: false, description: "Accepted: nothing more to say." });
const NoContent = { 204: Type.Null({ description: "No content" }) };
const Address = Type.Object(
  { email: Type.String({ description: "The address, in its normal form." }) },
  { additionalProperties: false },
);

/**
 * @example
 * const routes = emailRoutes(context);
 */
export function emailRoutes(context: LatchkeyContext): RouteSpec[] {
  const { auth } = context;
  return [
    route({
      method: "GET",
      path: "/auth/email",
      group: "email",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "The user's email address and whether it is verified",
        operationId: "getEmail",
        description:
          "The signed-in user's address (`null`: none), whether it is verified, a new address waiting for its link after a change (`pending`), and whether logins here need a verified address (`required`).",
        security: SECURITY.caller,
        response: {
          200: Type.Object(
            {
              email: Type.Union([Type.String(), Type.Null()]),
              verified: Type.Boolean(),
              pending: Type.Union([Type.String(), Type.Null()]),
              required: Type.Boolean(),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(401),
        },
      },
      handler: async (request) => {
        const { userId } = await liveCaller(request);
        return auth.email.status(userId);
      },
    }),

    route<{ email: string; password: string }>({
      method: "PUT",
      path: "/auth/email",
      group: "email",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "Change the email address (it changes when the new address's link is opened)",
        operationId: "changeEmail",
        description:
          "Checks the password (throttled like a password change's), then mails the new address a link that makes the change (`POST /auth/email/verify`) and, when the current address is verified, mails it a notice with a link that undoes the change, ends every session and sends a password-reset link (`POST /auth/email/revert`). Until the new link is opened the account keeps its address; a newer change, a password change and a password reset each void a waiting one. `409 email_taken` only for an address another account has proved: one held unverified goes to whoever proves it. Limited per client address, per account and per new address. Once the account has a second factor, it also needs a recent sign-in (`403 reauthentication_required`).",
        security: SECURITY.callerUnsafe,
        body: EmailChangeBody,
        response: {
          202: Type.Object(
            { pending: Type.String({ description: "The new address, waiting for its link." }) },
            { additionalProperties: false },
          ),
          ...errorResponses(400, 401, 403, 409, 413, 415, 429),
        },
      },
      handler: async (request, reply) => {
        const { session } = await who(request).load();
        // The body's password stands for a recent sign-in (checked before the change).
        await auth.recentSignIn.require(session, { password: true });
        const caller = signedInCallerOf(context, request, session.id);
        const answer = await auth.email.change(session.userId, request.body.email, request.body.password, caller);
        reply.code(202);
        return answer;
      },
    }),

    route<{ email: string }>({
      method: "POST",
      path: "/auth/email/verification",
      group: "email",
      cors: true,
      schema: {
        tags: TAGS,
        summary: "Mail a new verification link (the same answer for every address)",
        operationId: "resendVerification",
        description:
          "Mails a new verification link when an enabled account has this address unverified; answers `202` the same either way, before looking the address up. For a person whose login answered `email_unverified`. Limited per client address and per address.",
        security: SECURITY.none,
        body: EmailBody,
        response: { 202: Accepted, ...errorResponses(400, 403, 413, 415, 429) },
      },
      handler: async (request, reply) => {
        await auth.email.resendVerification(request.body.email, clientInfo(request));
        reply.code(202);
        return {};
      },
    }),

    route<{ token: string }>({
      method: "POST",
      path: "/auth/email/verify",
      group: "email",
      cors: true,
      schema: {
        tags: TAGS,
        summary: "Prove an address with its mailed link",
        operationId: "verifyEmail",
        description:
          "Uses a verification link's token (once): its address becomes the account's, verified, taken from another account that holds it unverified. After an email change, this is when the address changes, and the account's reset links (mailed to the old address) stop working. `link_invalid` (unknown, forged, truncated), `link_expired`, `link_used`; `403 account_disabled` (the link stays unspent); `409 email_taken` when another account proved the address meanwhile.",
        security: SECURITY.none,
        body: LinkBody,
        response: { 200: Address, ...errorResponses(400, 403, 409, 413, 415, 429) },
      },
      handler: async (request) => auth.email.verify(request.body.token, clientInfo(request)),
    }),

    route<{ token: string }>({
      method: "POST",
      path: "/auth/email/revert",
      group: "email",
      cors: true,
      schema: {
        tags: TAGS,
        summary: "Undo an email change from the old address's link",
        operationId: "revertEmail",
        description:
          "Uses the link mailed to the old address after an email change (once): the account keeps (or gets back) that address, taking it from an account that holds it unverified; every session and refresh token of it ends on every instance (`Latchkey-Session-Ended: email_change_reverted`); and the old address is mailed a password-reset link, since whoever changed it knew the password. When another account has proved the old address meanwhile, the account is left with no address (`email: null`), never the one the change put there. A disabled account's link answers `403 account_disabled` and stays unspent.",
        security: SECURITY.none,
        body: LinkBody,
        response: {
          200: Type.Object(
            {
              email: Type.Union([Type.String(), Type.Null()], {
                description: "The account's address now: the old one, or `null` (see above).",
              }),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(400, 403, 413, 415, 429),
        },
      },
      handler: async (request) => auth.email.revert(request.body.token, clientInfo(request)),
    }),

    route<{ email: string }>({
      method: "POST",
      path: "/auth/password/forgot",
      group: "email",
      cors: true,
      schema: {
        tags: TAGS,
        summary: "Mail a password-reset link (the same answer for every address)",
        operationId: "forgotPassword",
        description:
          "Answers `202` as soon as the address's form and the limits are checked, the same for known and unknown addresses; then, when an enabled account has the address, mails it a single-use reset link (30 minutes by default; a newer one replaces it). Limited per client address and per address, across instances.",
        security: SECURITY.none,
        body: EmailBody,
        response: { 202: Accepted, ...errorResponses(400, 403, 413, 415, 429) },
      },
      handler: async (request, reply) => {
        await auth.email.forgotPassword(request.body.email, clientInfo(request));
        reply.code(202);
        return {};
      },
    }),

    route<{ token: string; newPassword: string }>({
      method: "POST",
      path: "/auth/password/reset",
      group: "email",
      cors: true,
      schema: {
        tags: TAGS,
        summary: "Set a new password from a reset link: every session ends",
        operationId: "resetPassword",
        description:
          "Uses a reset link's token (once) to set a new password under the usual rules; a `weak_password` leaves the link unspent. Every session and refresh token of the account then ends on every instance (`Latchkey-Session-Ended: password_reset`), the account's login throttle starts again, and a `password_reset` event is logged. A disabled account is refused (`403 account_disabled`).",
        security: SECURITY.none,
        body: PasswordResetBody,
        response: { ...NoContent, ...errorResponses(400, 403, 413, 415, 429) },
      },
      handler: async (request, reply) => {
        await auth.email.resetPassword(request.body.token, request.body.newPassword, clientInfo(request));
        return reply.code(204).send();
      },
    }),
  ];
}
