/**
 * Request and response schemas (TypeBox): Fastify validates requests and serialises
 * responses with them, and @fastify/swagger turns them into the OpenAPI document.
 * Response schemas also act as an allow-list: a field not named here is never sent.
 */
import { type Static, type TUnsafe, Type } from "@sinclair/typebox";
import { STATUS_BY_CODE } from "../core/errors.js";
import type { CookieNames } from "./cookies.js";

const IsoTime = Type.String({ format: "date-time" });

/**
 * A string that is one of `values`, for a response: `{type: "string", enum}`. A union of
 * literals (`anyOf` of `const`s) is the same in the OpenAPI document, but Fastify's
 * serialiser picks an `anyOf` branch by running Ajv on the value, on every answer, where
 * an `enum` string is written as a string. Not for requests: latchkey's request checks are
 * TypeBox's, which check a union, not an `Unsafe` schema.
 */
function OneOfStrings<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: "string", enum: [...values] });
}

export const UserView = Type.Object(
  { id: Type.String(), username: Type.String(), createdAt: IsoTime },
  {
    $id: "latchkey.User",
    examples: [
      { id: "0195a0b2-7c1e-7000-8000-4a1f2b3c4d5e", username: "alice", createdAt: "2026-03-01T12:00:00.000Z" },
    ],
  },
);
export type UserView = Static<typeof UserView>;

export const SessionView = Type.Object(
  {
    id: Type.String({ description: "Public identifier; never the secret that authenticates it." }),
    strategy: OneOfStrings(["session", "jwt", "hybrid", "bearer", "memory"]),
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
    authTime: Type.Optional(
      Type.String({
        format: "date-time",
        description: "When the person last proved who they are in this session: the sign-in, or a re-authentication.",
      }),
    ),
    amr: Type.Optional(
      Type.Array(Type.String(), {
        description: 'How they proved it: RFC 8176 method names, such as "pwd" for a password.',
      }),
    ),
  },
  {
    $id: "latchkey.Session",
    examples: [
      {
        id: "Xq3uK8tR2mVwYp5sLc9dEa",
        strategy: "session",
        createdAt: "2026-03-01T12:00:00.000Z",
        lastSeenAt: "2026-03-01T12:05:00.000Z",
        expiresAt: "2026-03-02T00:00:00.000Z",
        idleExpiresAt: "2026-03-01T12:35:00.000Z",
        ip: "192.0.2.10",
        userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        device: { browser: "Firefox 140", os: "Linux", type: "desktop" },
        current: true,
        authTime: "2026-03-01T12:00:00.000Z",
        amr: ["pwd"],
      },
    ],
  },
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
    ended: Type.Optional(Type.Integer({ description: "For `logout_others`: how many other sessions it ended." })),
    left: Type.Optional(
      Type.Integer({ description: "For `recovery_code_used`: how many unused recovery codes remain." }),
    ),
    other: Type.Optional(
      Type.Object(
        { ip: Type.String(), userAgent: Type.String() },
        {
          description:
            "For `session_reuse_detected`: the session's own client, beside the one that presented the superseded secret (`ip`, `userAgent`).",
        },
      ),
    ),
  },
  {
    $id: "latchkey.Event",
    examples: [
      {
        id: "0195a0b2-7c1e-7000-8000-000000000001",
        type: "login",
        at: "2026-03-01T12:00:00.000Z",
        sessionId: "Xq3uK8tR2mVwYp5sLc9dEa",
        ip: "192.0.2.10",
        userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
      },
    ],
  },
);
export type EventView = Static<typeof EventView>;

const RoleNames = Type.Array(Type.String(), { description: "Role names, sorted." });

export const AdminUserView = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    createdAt: IsoTime,
    disabledAt: Type.Union([IsoTime, Type.Null()], { description: "When it was disabled; `null` while enabled." }),
    roles: RoleNames,
  },
  {
    $id: "latchkey.AdminUser",
    description: "A user as an administrator sees them (`/admin/*`).",
    examples: [
      {
        id: "0195a0b2-7c1e-7000-8000-4a1f2b3c4d5e",
        username: "alice",
        createdAt: "2026-03-01T12:00:00.000Z",
        disabledAt: null,
        roles: ["user"],
      },
    ],
  },
);
export type AdminUserView = Static<typeof AdminUserView>;

const userRef = (description: string) => Type.Object({ id: Type.String(), username: Type.String() }, { description });

export const AuditEventView = Type.Object(
  {
    id: Type.String(),
    at: IsoTime,
    actor: Type.Union([userRef("The administrator, as they were named then."), Type.Null()], {
      description: "Who acted: an administrator, or `null` for the CLI (an operator on the machine).",
    }),
    action: Type.Union(
      [
        Type.Literal("user_disabled"),
        Type.Literal("user_enabled"),
        Type.Literal("sessions_revoked"),
        Type.Literal("roles_set"),
        Type.Literal("user_deleted"),
        Type.Literal("factors_removed"),
      ],
      { description: "What was done." },
    ),
    target: userRef("The user it was done to, as they were named then (they may be gone since)."),
    ip: Type.String({ description: "Where the administrator acted from." }),
    userAgent: Type.String(),
    detail: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], {
      description: "What changed: `{from, to}` for `roles_set`, `{sessions}` for `sessions_revoked`; else `null`.",
    }),
  },
  {
    $id: "latchkey.AuditEvent",
    description: "One entry of the admin audit log: who did what to whom, when, from where.",
    examples: [
      {
        id: "0195a0b2-7c1e-7000-8000-000000000002",
        at: "2026-03-01T12:10:00.000Z",
        actor: { id: "0195a0b2-7c1e-7000-8000-9b8a7c6d5e4f", username: "root" },
        action: "roles_set",
        target: { id: "0195a0b2-7c1e-7000-8000-4a1f2b3c4d5e", username: "alice" },
        ip: "192.0.2.10",
        userAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        detail: { from: ["user"], to: ["admin", "user"] },
      },
    ],
  },
);
export type AuditEventView = Static<typeof AuditEventView>;

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({ code: Type.String(), message: Type.String() }),
  },
  {
    $id: "latchkey.Error",
    examples: [{ error: { code: "invalid_credentials", message: "The username or password is incorrect." } }],
  },
);

export const TokenResponse = Type.Object(
  {
    access_token: Type.Optional(Type.String()),
    token_type: Type.Literal("Bearer"),
    expires_in: Type.Integer({ description: "Seconds until the access token expires." }),
    refresh_token: Type.Optional(Type.String()),
  },
  {
    $id: "latchkey.TokenResponse",
    examples: [
      {
        access_token: "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
        token_type: "Bearer",
        expires_in: 300,
        refresh_token: "Xq3uK8tR2mVwYp5sLc9dEa.9f8e7d6c5b4a39281706f5e4d3c2b1a0",
      },
    ],
  },
);

/**
 * Every schema with an `$id`, for `fastify.addSchema`. The ids are latchkey's own
 * (`latchkey.Error`), so they never meet a host's schema of the same name (`Error`).
 */
export const SHARED_SCHEMAS = [
  UserView,
  SessionView,
  EventView,
  AdminUserView,
  AuditEventView,
  ErrorSchema,
  TokenResponse,
];

/** A reference to a shared schema, for response and body definitions. */
export const ref = (schema: { $id?: string }) => Type.Unsafe({ $ref: `${schema.$id}#` });

// Usernames and passwords are checked by the core's rules, which give better messages;
// the schema only bounds the size, so a 1 MB password is refused before any hashing.
const Username = Type.String({ minLength: 1, maxLength: 256 });
const Password = Type.String({
  minLength: 1,
  maxLength: 1024,
  description:
    "Any Unicode text, never truncated or case-folded; a lone surrogate escape (`\\ud800`) is not text and answers `400 invalid_request`.",
});

export const Credentials = Type.Object(
  { username: Username, password: Password },
  { additionalProperties: false, examples: [{ username: "alice", password: "correct horse battery staple" }] },
);
/**
 * An address as typed: the core normalises it (`parseEmail`), which gives better messages;
 * the schema bounds its size.
 */
const Email = Type.String({
  minLength: 1,
  maxLength: 320,
  description:
    "An email address. Compared in one normal form: trimmed, lower-cased, the domain in ASCII (`Alice@Example.COM` is `alice@example.com`).",
});
/** A mailed link's token, `id.secret` as the link carries it after `#token=`. */
const LinkToken = Type.String({
  minLength: 1,
  maxLength: 200,
  description: "The token of a mailed link: what follows `#token=` in it.",
});
export const RegisterBody = Type.Object(
  {
    username: Username,
    password: Password,
    email: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 320,
        description:
          "Optional (required when logins need a verified address): stored unverified, and mailed a link that proves it. Only where the server sends mail. Compared in one normal form, as every address.",
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      { username: "alice", password: "correct horse battery staple" },
      { username: "alice", password: "correct horse battery staple", email: "alice@example.com" },
    ],
  },
);
export const EmailBody = Type.Object(
  { email: Email },
  { additionalProperties: false, examples: [{ email: "alice@example.com" }] },
);
export const EmailChangeBody = Type.Object(
  { email: Email, password: Password },
  { additionalProperties: false, examples: [{ email: "alice@new.example", password: "correct horse battery staple" }] },
);
export const LinkBody = Type.Object(
  { token: LinkToken },
  {
    additionalProperties: false,
    examples: [{ token: "Yb1mB5r0aD2Wq8Zc4kLx3Q.3qY1TzV0m0Jm0o4s8pE0yQbq6fXn7K9sQ2w5r8t1u4v" }],
  },
);
export const PasswordResetBody = Type.Object(
  { token: LinkToken, newPassword: Password },
  {
    additionalProperties: false,
    examples: [
      {
        token: "Yb1mB5r0aD2Wq8Zc4kLx3Q.3qY1TzV0m0Jm0o4s8pE0yQbq6fXn7K9sQ2w5r8t1u4v",
        newPassword: "a longer and better one 42",
      },
    ],
  },
);
export const LoginBody = Type.Object(
  {
    username: Username,
    password: Password,
    remember: Type.Optional(Type.Boolean()),
    mode: Type.Optional(
      Type.Union([Type.Literal("cookies"), Type.Literal("memory")], {
        description:
          "`cookies` (the default): the cookies of the strategy in force. `memory`: the access token in the answer's body, for the page to keep in memory and send as `Authorization: Bearer`, and the refresh token in an HttpOnly cookie that only `/auth/refresh` and `/auth/logout` receive (`docs/client.md`).",
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      { username: "alice", password: "correct horse battery staple", remember: true },
      { username: "alice", password: "correct horse battery staple", mode: "memory" },
    ],
  },
);
export const PasswordChangeBody = Type.Object(
  { currentPassword: Password, newPassword: Password },
  {
    additionalProperties: false,
    examples: [{ currentPassword: "correct horse battery staple", newPassword: "a longer and better one 42" }],
  },
);
export const AccountDeleteBody = Type.Object(
  { password: Password },
  { additionalProperties: false, examples: [{ password: "correct horse battery staple" }] },
);
export const SessionIdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** The error codes of each status (from the one table), for the documented answers. */
const CODES_BY_STATUS = new Map<number, string[]>();
for (const [code, status] of Object.entries(STATUS_BY_CODE)) {
  CODES_BY_STATUS.set(status, [...(CODES_BY_STATUS.get(status) ?? []), code]);
}

/**
 * Error responses, by status, for the OpenAPI document: the contract's error body, and
 * the codes that status carries. A 429 or 503 says when to come back (`Retry-After`).
 *
 * @example
 * app.get("/notes/:id", { schema: { response: { ...errorResponses(401, 404) } } }, async () => ({}));
 */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(
    statuses.map((status) => {
      const codes = (CODES_BY_STATUS.get(status) ?? []).map((code) => `\`${code}\``).join(", ");
      const retry = status === 429 || status === 503;
      return [
        status,
        {
          ...ref(ErrorSchema),
          description: `Error: ${codes}.`,
          ...(retry && {
            headers: { "retry-after": { type: "integer", description: "Seconds to wait before trying again." } },
          }),
        },
      ];
    }),
  );
}

/**
 * Who may call an operation, as OpenAPI security requirements: any one entry of the list
 * suffices, and every scheme within an entry is needed. Which cookie applies depends on
 * `AUTH_STRATEGY` (`session`: `sessionCookie`; `jwt`: `accessCookie`, renewed with
 * `refreshCookie`; `hybrid`: `accessCookie`, renewed from `sessionCookie`); a cookie call
 * that can change state also needs the CSRF header; a bearer call never does.
 */
/** One way to be allowed: every scheme it names (no scopes: these are not OAuth scopes). */
export type SecurityRequirement = Readonly<Record<string, readonly never[]>>;

export const SECURITY: Readonly<
  Record<
    "none" | "caller" | "callerUnsafe" | "logout" | "refresh" | "token" | "service" | "serviceAny",
    readonly SecurityRequirement[]
  >
> = {
  /** Public: no credential. */
  none: [],
  /** A signed-in caller, on a safe method. */
  caller: [{ sessionCookie: [] }, { accessCookie: [] }, { bearerToken: [] }],
  /** A signed-in caller, on a method that changes state. */
  callerUnsafe: [{ sessionCookie: [], csrfHeader: [] }, { accessCookie: [], csrfHeader: [] }, { bearerToken: [] }],
  /** Logout: any credential of the caller, or none (it is idempotent). */
  logout: [
    { sessionCookie: [], csrfHeader: [] },
    { accessCookie: [], csrfHeader: [] },
    { refreshCookie: [], csrfHeader: [] },
    { memoryRefreshCookie: [], requestedWithHeader: [] },
    { bearerToken: [] },
    {},
  ],
  /** The token endpoint: a user's password in the body, or a service's credentials. */
  token: [{}, { serviceBasic: [] }],
  /** A service, with its client credentials. */
  service: [{ serviceBasic: [] }],
  /** A service, with its client credentials or its own token (the client-credentials grant). */
  serviceAny: [{ serviceBasic: [] }, { bearerToken: [] }],
  /**
   * Refresh: the refresh cookie with the CSRF header (`jwt`), the session cookie with it
   * (`hybrid`), the in-memory mode's cookie with `X-Requested-With`, or a refresh token in
   * the body.
   */
  refresh: [
    { refreshCookie: [], csrfHeader: [] },
    { sessionCookie: [], csrfHeader: [] },
    { memoryRefreshCookie: [], requestedWithHeader: [] },
    {},
  ],
};

/**
 * The security schemes `SECURITY` names, for the document's components.
 *
 * @example
 * const schemes = securitySchemes(cookieNames(true));
 */
export function securitySchemes(cookies: CookieNames): Record<string, unknown> {
  return {
    sessionCookie: {
      type: "apiKey",
      in: "cookie",
      name: cookies.session,
      description: "The session cookie (`session` and `hybrid` strategies): HttpOnly, set by login.",
    },
    accessCookie: {
      type: "apiKey",
      in: "cookie",
      name: cookies.access,
      description: "The access token in an HttpOnly cookie (`jwt` and `hybrid` strategies), set by login.",
    },
    refreshCookie: {
      type: "apiKey",
      in: "cookie",
      name: cookies.refresh,
      description: "The refresh token in an HttpOnly cookie (`jwt` strategy), used only to renew.",
    },
    memoryRefreshCookie: {
      type: "apiKey",
      in: "cookie",
      name: cookies.memoryRefresh,
      description:
        "The in-memory mode's refresh token (login with `mode: memory`): HttpOnly, and sent by the browser only to `/auth/refresh` and `/auth/logout` (its Path).",
    },
    requestedWithHeader: {
      type: "apiKey",
      in: "header",
      name: "X-Requested-With",
      description:
        "Any value: with the in-memory mode's cookie, proof that the page's script sent the request (a form cannot send a header, and another origin cannot without a preflight that only trusted origins pass).",
    },
    csrfHeader: {
      type: "apiKey",
      in: "header",
      name: "X-CSRF-Token",
      description: `The session's CSRF token (login's \`csrfToken\`, or the readable \`${cookies.csrf}\` cookie): required with a cookie on every request that can change state.`,
    },
    serviceBasic: {
      type: "http",
      scheme: "basic",
      description: "A service's client id and secret (`latchkey services create`), as RFC 6749 2.3.1 sends them.",
    },
    bearerToken: {
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
      description:
        "An access token from `POST /auth/token`, `/auth/refresh` or a login with `mode: memory`, for API clients, browser apps that keep it in memory, and services.",
    },
  };
}

/** Unpadded base64url, as WebAuthn's JSON has it: nothing else reaches a store or the checks. */
const Base64Url = (description: string, maxLength = 4096) =>
  Type.String({ minLength: 1, maxLength, pattern: "^[A-Za-z0-9_-]+$", description });

/**
 * What `navigator.credentials.get` gives, as JSON (`PublicKeyCredential.toJSON()`, or
 * `@simplewebauthn/browser`'s `startAuthentication`).
 */
export const AssertionJson = Type.Object(
  {
    id: Base64Url("The credential id, base64url.", 1024),
    rawId: Base64Url("The same, as the browser gives it.", 1024),
    type: Type.Literal("public-key"),
    response: Type.Object({
      clientDataJSON: Base64Url("base64url"),
      authenticatorData: Base64Url("base64url"),
      signature: Base64Url("base64url"),
      userHandle: Type.Optional(Base64Url("base64url", 256)),
    }),
    authenticatorAttachment: Type.Optional(Type.String({ maxLength: 32 })),
    clientExtensionResults: Type.Object({}),
  },
  {
    description:
      "A passkey's answer to a challenge: what `navigator.credentials.get` gives, as JSON (`PublicKeyCredential.toJSON()`).",
  },
);
