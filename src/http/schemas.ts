/**
 * Request and response schemas (TypeBox): Fastify validates requests and serialises
 * responses with them, and @fastify/swagger turns them into the OpenAPI document.
 * Response schemas also act as an allow-list: a field not named here is never sent.
 */
import { type Static, Type } from "@sinclair/typebox";

const IsoTime = Type.String({ format: "date-time" });

export const UserView = Type.Object(
  { id: Type.String(), username: Type.String(), createdAt: IsoTime },
  { $id: "User" },
);
export type UserView = Static<typeof UserView>;

export const SessionView = Type.Object(
  {
    id: Type.String({ description: "Public identifier; never the secret that authenticates it." }),
    strategy: Type.Union([
      Type.Literal("session"),
      Type.Literal("jwt"),
      Type.Literal("hybrid"),
      Type.Literal("bearer"),
    ]),
    createdAt: IsoTime,
    lastSeenAt: IsoTime,
    expiresAt: IsoTime,
    idleExpiresAt: IsoTime,
    ip: Type.String(),
    userAgent: Type.String(),
    device: Type.Object(
      { browser: Type.String(), os: Type.String(), type: Type.String() },
      { description: "The user agent, parsed for people." },
    ),
    current: Type.Boolean(),
  },
  { $id: "Session" },
);
export type SessionView = Static<typeof SessionView>;

export const EventView = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    at: IsoTime,
    sessionId: Type.Optional(Type.String()),
    ip: Type.String(),
    userAgent: Type.String(),
  },
  { $id: "Event" },
);
export type EventView = Static<typeof EventView>;

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({ code: Type.String(), message: Type.String() }),
  },
  { $id: "Error" },
);

export const TokenResponse = Type.Object(
  {
    access_token: Type.Optional(Type.String()),
    token_type: Type.Literal("Bearer"),
    expires_in: Type.Integer({ description: "Seconds until the access token expires." }),
    refresh_token: Type.Optional(Type.String()),
  },
  { $id: "TokenResponse" },
);

/** Every schema with an `$id`, for `fastify.addSchema`. */
export const SHARED_SCHEMAS = [UserView, SessionView, EventView, ErrorSchema, TokenResponse];

/** A reference to a shared schema, for response and body definitions. */
export const ref = (schema: { $id?: string }) => Type.Unsafe({ $ref: `${schema.$id}#` });

// Usernames and passwords are checked by the core's rules, which give better messages;
// the schema only bounds the size, so a 1 MB password is refused before any hashing.
const Username = Type.String({ minLength: 1, maxLength: 256 });
const Password = Type.String({ minLength: 1, maxLength: 1024 });

export const Credentials = Type.Object({ username: Username, password: Password }, { additionalProperties: false });
export const LoginBody = Type.Object(
  { username: Username, password: Password, remember: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export const PasswordChangeBody = Type.Object(
  { currentPassword: Password, newPassword: Password },
  { additionalProperties: false },
);
export const AccountDeleteBody = Type.Object({ password: Password }, { additionalProperties: false });
export const SessionIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/**
 * Error responses, by status, for the OpenAPI document.
 * @example
 * app.get("/notes/:id", { schema: { response: { ...errorResponses(401, 404) } } }, async () => ({}));
 */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(statuses.map((status) => [status, ref(ErrorSchema)]));
}
