/**
 * The `/auth/*` routes of the contract (section 4) for cookie sessions and the account.
 */
// The OpenAPI fields of route schemas (tags, summary) come from @fastify/swagger's types.
import type {} from "@fastify/swagger";
import { Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AuthError } from "../../core/errors.js";
import { clientInfo } from "../client.js";
import type { LatchkeyContext, RequestAuth } from "../context.js";
import {
  AccountDeleteBody,
  Credentials,
  EventView,
  errorResponses,
  LoginBody,
  PasswordChangeBody,
  ref,
  SessionIdParams,
  SessionView,
  UserView,
} from "../schemas.js";
import { eventView, sessionView, userView } from "../views.js";

const TAGS = { auth: ["auth"], account: ["account"] };
const NoContent = { 204: Type.Null({ description: "No content" }) };

/** `request.auth` after `requireAuth`, which guarantees it is set. */
function who(request: FastifyRequest): RequestAuth {
  if (!request.auth) throw new AuthError("unauthenticated", "Sign in to continue.");
  return request.auth;
}

/**
 * @example
 * await fastify.register(authRoutes, { context });
 */
export async function authRoutes(fastify: FastifyInstance, { context }: { context: LatchkeyContext }) {
  const { auth } = context;
  const requireAuth = fastify.requireAuth;

  fastify.post<{ Body: { username: string; password: string } }>(
    "/auth/register",
    {
      schema: {
        tags: TAGS.account,
        summary: "Create an account (does not log in)",
        body: Credentials,
        response: { 201: Type.Object({ user: ref(UserView) }), ...errorResponses(400, 403, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const user = await auth.accounts.register(request.body.username, request.body.password);
      return reply.code(201).send({ user: userView(user) });
    },
  );

  fastify.post<{ Body: { username: string; password: string; remember?: boolean } }>(
    "/auth/login",
    {
      schema: {
        tags: TAGS.auth,
        summary: "Log in: a new session and the cookies of the strategy",
        body: LoginBody,
        response: {
          200: Type.Object({ user: ref(UserView), session: ref(SessionView), csrfToken: Type.String() }),
          ...errorResponses(400, 401, 403, 413, 415, 429),
        },
      },
    },
    async (request, reply) => {
      const client = clientInfo(request);
      const user = await auth.accounts.authenticate(request.body.username, request.body.password, client);
      // No fixation: whatever session cookie came with the login request is never
      // adopted, and if it was a live session it ends, so its value is worthless after.
      const previous = request.cookies[context.cookies.session];
      if (previous) {
        const valid = await auth.sessions.validate(previous);
        if (valid) await auth.sessions.end(valid.session.id);
      }
      const { session, token } = await auth.sessions.create({
        userId: user.id,
        kind: context.strategy,
        remember: request.body.remember ?? false,
        ...client,
      });
      await auth.log.record("login", user.id, { sessionId: session.id, ...client });
      context.setSessionCookies(reply, session, token);
      return {
        user: userView(user),
        session: sessionView(session, session.id),
        csrfToken: auth.csrf.tokenFor(session.id),
      };
    },
  );

  fastify.post(
    "/auth/logout",
    {
      schema: {
        tags: TAGS.auth,
        summary: "End the caller's session (idempotent)",
        response: { ...NoContent, ...errorResponses(403) },
      },
    },
    async (request, reply) => {
      let caller: RequestAuth | null = null;
      try {
        caller = await context.authenticate(request);
      } catch (error) {
        // Without a valid credential there is nothing to end; a valid cookie without the
        // CSRF token is refused, so another site cannot log a user out.
        if (!(error instanceof AuthError) || error.code === "csrf_failed") throw error;
      }
      if (caller) {
        const ended = await auth.sessions.end(caller.session.id);
        if (ended) await auth.log.record("logout", caller.user.id, { sessionId: ended.id, ...clientInfo(request) });
      }
      context.clearCookies(reply);
      return reply.code(204).send();
    },
  );

  fastify.post(
    "/auth/logout-all",
    {
      preHandler: requireAuth,
      schema: {
        tags: TAGS.auth,
        summary: "End every session of the user, on every instance",
        response: { ...NoContent, ...errorResponses(401, 403) },
      },
    },
    async (request, reply) => {
      const { user, session } = who(request);
      await auth.sessions.endAllForUser(user.id);
      await auth.log.record("logout_all", user.id, { sessionId: session.id, ...clientInfo(request) });
      context.clearCookies(reply);
      return reply.code(204).send();
    },
  );

  fastify.get(
    "/auth/me",
    {
      preHandler: requireAuth,
      schema: {
        tags: TAGS.auth,
        summary: "The caller's user and session",
        response: {
          200: Type.Object({
            user: ref(UserView),
            session: ref(SessionView),
            csrfToken: Type.Optional(Type.String()),
          }),
          ...errorResponses(401),
        },
      },
    },
    async (request) => {
      const { user, session, csrfToken } = who(request);
      return {
        user: userView(user),
        session: sessionView(session, session.id),
        ...(csrfToken !== null && { csrfToken }),
      };
    },
  );

  fastify.get(
    "/auth/sessions",
    {
      preHandler: requireAuth,
      schema: {
        tags: TAGS.auth,
        summary: "The user's live sessions, newest first",
        response: { 200: Type.Object({ sessions: Type.Array(ref(SessionView)) }), ...errorResponses(401) },
      },
    },
    async (request) => {
      const { user, session } = who(request);
      const sessions = await auth.sessions.listLive(user.id);
      return { sessions: sessions.map((s) => sessionView(s, session.id)) };
    },
  );

  fastify.delete<{ Params: { id: string } }>(
    "/auth/sessions/:id",
    {
      preHandler: requireAuth,
      schema: {
        tags: TAGS.auth,
        summary: "End one of the user's sessions",
        params: SessionIdParams,
        response: { ...NoContent, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { user, session } = who(request);
      const ended = await auth.sessions.endOwn(user.id, request.params.id);
      if (!ended) throw new AuthError("not_found", "No such session.");
      await auth.log.record("session_revoked", user.id, { sessionId: ended.id, ...clientInfo(request) });
      if (ended.id === session.id) context.clearCookies(reply);
      return reply.code(204).send();
    },
  );

  fastify.get(
    "/auth/events",
    {
      preHandler: requireAuth,
      schema: {
        tags: TAGS.account,
        summary: "The user's last 100 security events, newest first",
        response: { 200: Type.Object({ events: Type.Array(ref(EventView)) }), ...errorResponses(401) },
      },
    },
    async (request) => {
      const events = await auth.log.list(who(request).user.id);
      return { events: events.map(eventView) };
    },
  );

  fastify.post<{ Body: { currentPassword: string; newPassword: string } }>(
    "/auth/password",
    {
      preHandler: requireAuth,
      schema: {
        tags: TAGS.account,
        summary: "Change the password: other sessions end, this one gets a new secret",
        body: PasswordChangeBody,
        response: { ...NoContent, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      const { user, session, via } = who(request);
      const { currentPassword, newPassword } = request.body;
      await auth.accounts.changePassword(user, currentPassword, newPassword, {
        ...clientInfo(request),
        sessionId: session.id,
      });
      const token = await auth.sessions.rotateSecret(session.id);
      if (token && via === "cookie") context.setSessionCookies(reply, session, token);
      return reply.code(204).send();
    },
  );

  fastify.delete<{ Body: { password: string } }>(
    "/auth/account",
    {
      preHandler: requireAuth,
      schema: {
        tags: TAGS.account,
        summary: "Delete the account with its sessions and data",
        body: AccountDeleteBody,
        response: { ...NoContent, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      await auth.accounts.deleteAccount(who(request).user, request.body.password, clientInfo(request));
      context.clearCookies(reply);
      return reply.code(204).send();
    },
  );
}
