/**
 * The admin routes (`/admin/*`, `docs/roles.md`): list and search users, one user with
 * their sessions and security events, disable and enable, end their sessions, set their
 * roles, delete them, and read the audit log. Each route asks for one permission (`403
 * forbidden` without it) and acts through `auth.admin`, which records every action in the
 * user's security log and in the audit log, with the administrator and where they acted
 * from. The routes that change something need the CSRF header under cookie auth, like
 * every cookie write, need a recent sign-in (`reauthentication_required`), and are
 * throttled per administrator. Group `admin`: a host may
 * switch it off (`routes: { admin: false }`).
 */
import { Type } from "@sinclair/typebox";
import { AuthError } from "../../core/errors.js";
import { actingAdministrator } from "../admin-caller.js";
import type { LatchkeyContext } from "../context.js";
import { AdminUserView, AuditEventView, EventView, errorResponses, ref, SECURITY, SessionView } from "../schemas.js";
import { adminUserView, auditEventView, eventView, sessionView } from "../views.js";
import { type RouteSpec, route, who } from "./spec.js";

const TAGS = ["admin"];
const NoContent = { 204: Type.Null({ description: "No content" }) };
const UserIdParams = Type.Object({ id: Type.String({ maxLength: 64, description: "The user's id." }) });
const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: "Pass as `cursor` for the next page; `null` on the last.",
});
const Limit = Type.String({ pattern: "^[0-9]{1,9}$", description: "1 to 200; default 50." });
const Cursor = Type.String({ maxLength: 512, description: "`nextCursor` of the page before." });
const UserListQuery = Type.Object(
  {
    q: Type.Optional(
      Type.String({ maxLength: 256, description: "Part of the username (case-folded as usernames are)." }),
    ),
    role: Type.Optional(Type.String({ maxLength: 64, description: "Only users with this role." })),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
const AuditQuery = Type.Object(
  {
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
    userId: Type.Optional(Type.String({ maxLength: 64, description: "Only the entries about this user." })),
  },
  { additionalProperties: false },
);
const RolesBody = Type.Object(
  {
    roles: Type.Array(Type.String({ maxLength: 64 }), {
      maxItems: 64,
      description: "The user's roles from now on: declared role names, at least one (`user` for none).",
    }),
  },
  { additionalProperties: false, examples: [{ roles: ["admin", "user"] }] },
);
const UserAnswer = Type.Object({ user: ref(AdminUserView) });

/**
 * @example
 * const routes = adminRoutes(context);
 */
export function adminRoutes(context: LatchkeyContext): RouteSpec[] {
  const { auth } = context;
  const act = actingAdministrator(auth);
  return [
    route({
      method: "GET",
      path: "/admin/roles",
      group: "admin",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "The roles and permissions of the deployment",
        operationId: "listRoles",
        description:
          "Every declared role with the permissions it grants, and every declared permission (latchkey's built-in ones and the app's). Needs `users:read`.",
        security: SECURITY.caller,
        response: {
          200: Type.Object({
            roles: Type.Array(Type.Object({ name: Type.String(), permissions: Type.Array(Type.String()) })),
            permissions: Type.Array(Type.String()),
          }),
          ...errorResponses(401, 403),
        },
      },
      handler: async (request) => {
        await act(request, "users:read");
        const model = auth.roles;
        return {
          roles: model.roles.map((name) => ({ name, permissions: model.permissionsOf([name]) })),
          permissions: [...model.permissions],
        };
      },
    }),

    route<unknown, { q?: string; role?: string; limit?: string; cursor?: string }>({
      method: "GET",
      path: "/admin/users",
      group: "admin",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "Users by username, a page at a time, with search and a role filter",
        operationId: "listUsers",
        description:
          "Users in username order, `limit` at a time (1 to 200, default 50): those whose username contains `q`, with `role` when given; follow `nextCursor` for the next page. An unknown role is a 400. Needs `users:read`.",
        security: SECURITY.caller,
        querystring: UserListQuery,
        response: {
          200: Type.Object({ users: Type.Array(ref(AdminUserView)), nextCursor: NextCursor }),
          ...errorResponses(400, 401, 403),
        },
      },
      handler: async (request) => {
        await act(request, "users:read");
        const { q, role, limit, cursor } = request.query;
        const page = await auth.admin.listUsers({ query: q, role, cursor, limit: pageLimit(limit) });
        return { users: page.users.map(adminUserView), nextCursor: page.nextCursor };
      },
    }),

    route<unknown, unknown, { id: string }>({
      method: "GET",
      path: "/admin/users/:id",
      group: "admin",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "One user, with their live sessions and newest security events",
        operationId: "getUser",
        description: "The user, their live sessions (devices) and their newest security events. Needs `users:read`.",
        security: SECURITY.caller,
        params: UserIdParams,
        response: {
          200: Type.Object({
            user: ref(AdminUserView),
            sessions: Type.Array(ref(SessionView)),
            events: Type.Array(ref(EventView)),
          }),
          ...errorResponses(401, 403, 404),
        },
      },
      handler: async (request) => {
        await act(request, "users:read");
        const detail = await auth.admin.user(request.params.id);
        if (!detail) throw new AuthError("not_found", "No such user.");
        const current = who(request).sessionId;
        return {
          user: adminUserView(detail.user),
          sessions: detail.sessions.map((session) => sessionView(session, current)),
          events: detail.events.map(eventView),
        };
      },
    }),

    route<unknown, unknown, { id: string }>({
      method: "POST",
      path: "/admin/users/:id/disable",
      group: "admin",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "Disable a user: their sessions end, they cannot log in",
        operationId: "disableUser",
        description:
          "Disables the account and ends every session of it, on every instance. The last enabled admin cannot be disabled (409 `last_admin`). Needs `users:disable` and a recent sign-in (`403 reauthentication_required`: `POST /auth/reauthenticate`, then again).",
        security: SECURITY.callerUnsafe,
        params: UserIdParams,
        response: { 200: UserAnswer, ...errorResponses(401, 403, 404, 409, 429) },
      },
      handler: async (request) => {
        const admin = await act(request, "users:disable", { writes: true });
        return { user: adminUserView(await auth.admin.disable(request.params.id, admin)) };
      },
    }),

    route<unknown, unknown, { id: string }>({
      method: "POST",
      path: "/admin/users/:id/enable",
      group: "admin",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "Enable a disabled user",
        operationId: "enableUser",
        description:
          "Lets a disabled account log in again. Needs `users:disable` and a recent sign-in (`403 reauthentication_required`: `POST /auth/reauthenticate`, then again).",
        security: SECURITY.callerUnsafe,
        params: UserIdParams,
        response: { 200: UserAnswer, ...errorResponses(401, 403, 404, 429) },
      },
      handler: async (request) => {
        const admin = await act(request, "users:disable", { writes: true });
        return { user: adminUserView(await auth.admin.enable(request.params.id, admin)) };
      },
    }),

    route<unknown, unknown, { id: string }>({
      method: "DELETE",
      path: "/admin/users/:id/sessions",
      group: "admin",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "End every session of a user",
        operationId: "revokeUserSessions",
        description:
          "Ends every session of the user, on every instance (their access tokens with them, under immediate revocation), and says how many. Needs `sessions:revoke` and a recent sign-in (`403 reauthentication_required`: `POST /auth/reauthenticate`, then again).",
        security: SECURITY.callerUnsafe,
        params: UserIdParams,
        response: { 200: Type.Object({ ended: Type.Integer() }), ...errorResponses(401, 403, 404, 429) },
      },
      handler: async (request) => {
        const admin = await act(request, "sessions:revoke", { writes: true });
        return { ended: await auth.admin.revokeSessions(request.params.id, admin) };
      },
    }),

    route<{ roles: string[] }, unknown, { id: string }>({
      method: "PUT",
      path: "/admin/users/:id/roles",
      group: "admin",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "Set a user's roles",
        operationId: "setUserRoles",
        description:
          "Replaces the user's roles. Their access tokens issued before are refused at once, everywhere (a client refreshes to get the new roles); a cookie session sees them on its next request. An unknown role or an empty list is a 400; the last enabled admin cannot lose `admin` (409 `last_admin`). Needs `users:set-roles` and a recent sign-in (`403 reauthentication_required`: `POST /auth/reauthenticate`, then again).",
        security: SECURITY.callerUnsafe,
        params: UserIdParams,
        body: RolesBody,
        response: { 200: UserAnswer, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429) },
      },
      handler: async (request) => {
        const admin = await act(request, "users:set-roles", { writes: true });
        return { user: adminUserView(await auth.admin.setRoles(request.params.id, request.body.roles, admin)) };
      },
    }),

    route<unknown, unknown, { id: string }>({
      method: "DELETE",
      path: "/admin/users/:id",
      group: "admin",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "Delete a user with their sessions and data",
        operationId: "deleteUser",
        description:
          "Deletes the user, their sessions (ended everywhere), tokens, events and data; the audit log keeps the entry. The last enabled admin cannot be deleted (409 `last_admin`). Needs `users:delete` and a recent sign-in (`403 reauthentication_required`: `POST /auth/reauthenticate`, then again).",
        security: SECURITY.callerUnsafe,
        params: UserIdParams,
        response: { ...NoContent, ...errorResponses(401, 403, 404, 409, 429) },
      },
      handler: async (request, reply) => {
        const admin = await act(request, "users:delete", { writes: true });
        await auth.admin.deleteUser(request.params.id, admin);
        return reply.code(204).send();
      },
    }),

    route<unknown, { limit?: string; cursor?: string; userId?: string }>({
      method: "GET",
      path: "/admin/events",
      group: "admin",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "The admin audit log, newest first, a page at a time",
        operationId: "listAuditEvents",
        description:
          "Who did what to whom, when and from where, newest first, `limit` at a time (1 to 200, default 50); only the entries about `userId` when given. Needs `users:read`.",
        security: SECURITY.caller,
        querystring: AuditQuery,
        response: {
          200: Type.Object({ events: Type.Array(ref(AuditEventView)), nextCursor: NextCursor }),
          ...errorResponses(400, 401, 403),
        },
      },
      handler: async (request) => {
        await act(request, "users:read");
        const { limit, cursor, userId } = request.query;
        const page = await auth.admin.events({ limit: pageLimit(limit), cursor, userId });
        return { events: page.events.map(auditEventView), nextCursor: page.nextCursor };
      },
    }),
  ];
}

/** A page size as the query has it (digits, checked by the schema); the core checks its range. */
function pageLimit(limit: string | undefined): number | undefined {
  return limit === undefined ? undefined : Number(limit);
}
