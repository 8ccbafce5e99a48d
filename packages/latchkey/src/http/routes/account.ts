/**
 * The account routes of the contract (section 4): creating an account, its security log,
 * changing the password, deleting the account. Groups `register`, `password` and
 * `account` may be switched off by a host.
 */
import { Type } from "@sinclair/typebox";
import type { SignedInCaller } from "../../core/accounts.js";
import { clientInfo } from "../client.js";
import type { LatchkeyContext } from "../context.js";
import type { AuthRequest } from "../kit.js";
import {
  AccountDeleteBody,
  EventView,
  errorResponses,
  PasswordChangeBody,
  RegisterBody,
  ref,
  SECURITY,
  UserView,
} from "../schemas.js";
import { eventView, userView } from "../views.js";
import { liveCaller, type RouteSpec, route, who } from "./spec.js";

const TAGS = ["account"];
const NoContent = { 204: Type.Null({ description: "No content" }) };

/**
 * @example
 * const routes = accountRoutes(context);
 */
export function accountRoutes(context: LatchkeyContext): RouteSpec[] {
  const { auth } = context;
  return [
    route<{ username: string; password: string; email?: string }>({
      method: "POST",
      path: "/auth/register",
      group: "register",
      schema: {
        tags: TAGS,
        summary: "Create an account (does not log in)",
        operationId: "register",
        description:
          "Creates an account; it does not sign in. The password must be 8 to 1024 characters, not a common password, and not contain the username. Where the server sends mail, an optional `email` is stored unverified and mailed a single-use link that proves it (`POST /auth/email/verify`); `409 email_taken` when another account has it, as `username_taken` for a name.",
        security: SECURITY.none,
        body: RegisterBody,
        response: { 201: Type.Object({ user: ref(UserView) }), ...errorResponses(400, 403, 409, 413, 415, 429) },
      },
      handler: async (request, reply) => {
        const { username, password, email } = request.body;
        const user = await auth.accounts.register(username, password, clientInfo(request), { email });
        reply.code(201);
        return { user: userView(user) };
      },
    }),

    route({
      method: "GET",
      path: "/auth/events",
      group: "core",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "The user's last 100 security events, newest first",
        operationId: "listEvents",
        description:
          "The user's security log: logins, failed logins, password changes, sessions ended, refresh-token reuse.",
        security: SECURITY.caller,
        response: { 200: Type.Object({ events: Type.Array(ref(EventView)) }), ...errorResponses(401) },
      },
      handler: async (request) => {
        const { userId } = await liveCaller(request);
        const events = await auth.log.list(userId);
        return { events: events.map(eventView) };
      },
    }),

    route<{ currentPassword: string; newPassword: string }>({
      method: "POST",
      path: "/auth/password",
      group: "password",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "Change the password: other sessions end, this one gets a new secret",
        operationId: "changePassword",
        description:
          "Changes the password: every other session ends; a browser's session continues with new credentials (new cookies), a bearer client's session ends too. The current password is checked before any hashing and throttled per session (and per device, for a browser with a device cookie) and per address, never per account: failed logins by others do not refuse it. Once the account has a second factor, it also needs a recent sign-in (`403 reauthentication_required`).",
        security: SECURITY.callerUnsafe,
        body: PasswordChangeBody,
        response: { ...NoContent, ...errorResponses(400, 401, 403, 413, 415, 429) },
      },
      handler: async (request, reply) => {
        const caller = who(request);
        const { user, session } = await caller.load();
        // The body's password stands for a recent sign-in (checked below, before any change).
        await auth.recentSignIn.require(session, { password: true });
        const { currentPassword, newPassword } = request.body;
        await auth.accounts.changePassword(user.id, currentPassword, newPassword, signedInCaller(request, session.id));
        if (caller.via === "bearer") {
          // An API client's tokens cannot be replaced on a 204: its session ends like every
          // other (its refresh and access tokens with it), and it logs in with the new password.
          await auth.sessions.endRecorded(session.id, "session_revoked", clientInfo(request));
          return reply.code(204).send();
        }
        // A browser's session continues with new credentials: a new secret, and under the
        // token strategies a new access token and refresh token (the old one retired).
        const token = await auth.sessions.rotateSecret(session.id);
        if (token) await context.setBrowserCookies(reply, { session, user }, token);
        return reply.code(204).send();
      },
    }),

    route<{ password: string }>({
      method: "DELETE",
      path: "/auth/account",
      group: "account",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "Delete the account with its sessions and data",
        operationId: "deleteAccount",
        description:
          "Deletes the account after checking the password, with its sessions, tokens, events and data. The password is throttled like a password change's: per session (and device) and per address, never per account. Once the account has a second factor, it also needs a recent sign-in (`403 reauthentication_required`).",
        security: SECURITY.callerUnsafe,
        body: AccountDeleteBody,
        response: { ...NoContent, ...errorResponses(400, 401, 403, 413, 415, 429) },
      },
      handler: async (request, reply) => {
        const { user, session } = await who(request).load();
        await auth.recentSignIn.require(session, { password: true });
        await auth.accounts.deleteAccount(user.id, request.body.password, signedInCaller(request, session.id));
        context.clearCookies(reply);
        return reply.code(204).send();
      },
    }),
  ];

  function signedInCaller(request: AuthRequest, sessionId: string): SignedInCaller {
    return signedInCallerOf(context, request, sessionId);
  }
}

/**
 * The caller re-entering its password: its session, and the browser's device cookie when
 * it signed in by cookie (a bearer request's cookies are ignored, as everywhere).
 * @example
 * await auth.accounts.confirmPassword(user.id, password, signedInCallerOf(context, request, session.id));
 */
export function signedInCallerOf(context: LatchkeyContext, request: AuthRequest, sessionId: string): SignedInCaller {
  const deviceCookie = who(request).via === "cookie" ? request.cookies[context.cookies.device] : undefined;
  return { ...clientInfo(request), sessionId, deviceCookie };
}
