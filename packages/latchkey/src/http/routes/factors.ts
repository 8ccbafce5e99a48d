/**
 * Second factors (`docs/accounts.md`, "Second factors"): the second step of a password
 * sign-in, for browsers and for bearer clients, and the routes that add and remove an
 * authenticator app and make recovery codes. Adding or removing a factor, and new recovery
 * codes, need a recent sign-in, as a password change does: a stolen session must not be
 * able to lock the owner out.
 */
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { Type } from "@sinclair/typebox";
import { AuthError } from "../../core/errors.js";
import type { SecondFactorProof } from "../../core/factors.js";
import type { SessionRecord } from "../../core/records.js";
import { clientInfo } from "../client.js";
import type { LatchkeyContext } from "../context.js";
import type { AuthRequest } from "../kit.js";
import { AssertionJson, errorResponses, SECURITY } from "../schemas.js";
import { isoTime } from "../views.js";
import { signedInCallerOf } from "./account.js";
import { LoginAnswer, openBrowserSignIn } from "./auth.js";
import { PasskeyJson, passkeyJson } from "./passkeys.js";
import { type RouteSpec, route, who } from "./spec.js";
import { openBearerSession } from "./tokens.js";

const TAGS = ["factors"];
const NoContent = { 204: Type.Null({ description: "No content" }) };
const Code = Type.String({
  minLength: 1,
  maxLength: 64,
  description: "The 6 digits the authenticator app shows now (spaces allowed).",
});
const RecoveryCode = Type.String({
  minLength: 1,
  maxLength: 64,
  description: "One of the account's recovery codes (`xxxx-xxxx-xxxx-xxxx`; case, spaces and dashes do not matter).",
});

/** A second step's proof: a code from the app, a recovery code, or a passkey's answer. */
const SecondStepBody = Type.Union(
  [
    Type.Object({ code: Code }, { additionalProperties: false }),
    Type.Object({ recoveryCode: RecoveryCode }, { additionalProperties: false }),
    Type.Object({ passkey: AssertionJson }, { additionalProperties: false }),
  ],
  { examples: [{ code: "492039" }, { recoveryCode: "7k3m-q9x2-hd4w-p8ne" }] },
);

const TokenSecondStepBody = Type.Union(
  [
    Type.Object({ pending_token: Type.String({ maxLength: 200 }), code: Code }, { additionalProperties: false }),
    Type.Object(
      { pending_token: Type.String({ maxLength: 200 }), recovery_code: RecoveryCode },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        pending_token: Type.String({ maxLength: 200 }),
        challenge_token: Type.String({ maxLength: 200 }),
        passkey: AssertionJson,
      },
      { additionalProperties: false },
    ),
  ],
  { examples: [{ pending_token: "Vb2…Q.k9…w", code: "492039" }] },
);

const RecoveryCodes = Type.Object(
  {
    recoveryCodes: Type.Array(Type.String(), {
      description: "Shown this once, never again: each signs in once in place of a code. Making new ones voids these.",
    }),
  },
  { additionalProperties: false },
);

const FactorsView = Type.Object(
  {
    totp: Type.Union([
      Type.Object({
        id: Type.String(),
        name: Type.String(),
        createdAt: Type.String({ format: "date-time" }),
        lastUsedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
      }),
      Type.Null(),
    ]),
    passkeys: Type.Array(PasskeyJson, { description: "The user's passkeys, oldest first." }),
    recoveryCodes: Type.Integer({ description: "Unused recovery codes left." }),
    totpAvailable: Type.Boolean({
      description: "Whether this server can add authenticator apps (it has a key to seal their secrets).",
    }),
    passkeysAvailable: Type.Boolean({
      description: "Whether this server can use passkeys (its origin has a domain name to bind them to).",
    }),
  },
  { additionalProperties: false },
);

/**
 * `{code}`, `{recoveryCode}` or `{passkey}` as the core takes it; a passkey's challenge is
 * the caller's (`challenge`: its cookie, or `challenge_token`).
 * @example
 * const proof = proofOf({ code: "492039" }, undefined);
 */
export function proofOf(
  body: {
    code?: string | undefined;
    recoveryCode?: string | undefined;
    recovery_code?: string;
    passkey?: AuthenticationResponseJSON | undefined;
  },
  challenge: string | undefined,
): SecondFactorProof {
  if (body.passkey !== undefined) return { passkey: body.passkey, challenge };
  const recoveryCode = body.recoveryCode ?? body.recovery_code;
  if (recoveryCode !== undefined) return { recoveryCode };
  if (body.code !== undefined) return { code: body.code };
  throw new AuthError("invalid_request", "Send a code from the authenticator app, or a recovery code.");
}

/**
 * @example
 * const routes = factorRoutes(context);
 */
export function factorRoutes(context: LatchkeyContext): RouteSpec[] {
  const { auth } = context;
  const caller = (request: AuthRequest, session: SessionRecord) => ({
    ...clientInfo(request),
    sessionId: session.id,
  });
  return [
    route<{ code: string } | { recoveryCode: string } | { passkey: AuthenticationResponseJSON }>({
      method: "POST",
      path: "/auth/login/second-factor",
      group: "core",
      schema: {
        tags: ["auth"],
        summary: "The second step of a browser sign-in: a code, then the session",
        operationId: "loginSecondFactor",
        description:
          "After `POST /auth/login` answered `202` (the account has a second factor), this browser's pending sign-in (a cookie of five minutes) and a code from the authenticator app, or a recovery code, open the session and answer as the login does (its cookies, or the in-memory mode's token). Throttled per account and per address like passwords; a wrong code is `401 invalid_code`; five end the pending sign-in, and so does its expiry or its use (`401 sign_in_expired`: sign in again). The session's `amr` is `mfa`, `otp`, `pwd`.",
        security: SECURITY.none,
        body: SecondStepBody,
        response: { 200: LoginAnswer, ...errorResponses(400, 401, 403, 413, 415, 429) },
      },
      handler: async (request, reply) => {
        const client = { ...clientInfo(request), deviceCookie: request.cookies[context.cookies.device] };
        const token = request.cookies[context.cookies.pending];
        const passkeyChallenge = request.cookies[context.cookies.passkey];
        if ("passkey" in request.body) context.clearPasskeyCookie(reply);
        const proof = proofOf(request.body, passkeyChallenge);
        const { user, first, amr } = await auth.secondStep.complete(token, proof, client, "browser");
        context.clearPendingCookie(reply);
        return openBrowserSignIn(context, request, reply, user, {
          remember: first.remember,
          memory: first.memory,
          amr,
        });
      },
    }),

    route<{
      pending_token: string;
      code?: string;
      recovery_code?: string;
      challenge_token?: string;
      passkey?: AuthenticationResponseJSON;
    }>({
      method: "POST",
      path: "/auth/token/second-factor",
      group: "tokens",
      cors: true,
      schema: {
        tags: ["tokens"],
        summary: "The second step of an API client's login: a code, then the tokens",
        operationId: "createTokenSecondFactor",
        description:
          "After `POST /auth/token` answered `202` with a `pending_token`, that token and a code from the authenticator app (`code`), or a recovery code (`recovery_code`), give the access and refresh tokens. Throttled per account and per address; a wrong code is `401 invalid_code`; five end the pending token, and so do its expiry and its use (`401 sign_in_expired`).",
        security: SECURITY.none,
        body: TokenSecondStepBody,
        response: {
          200: Type.Object({
            access_token: Type.String(),
            token_type: Type.Literal("Bearer"),
            expires_in: Type.Integer(),
            refresh_token: Type.String(),
          }),
          ...errorResponses(400, 401, 403, 413, 415, 429),
        },
      },
      handler: async (request) => {
        const client = clientInfo(request);
        const { pending_token: token } = request.body;
        const proof = proofOf(request.body, request.body.challenge_token);
        const { user, amr } = await auth.secondStep.complete(token, proof, client, "token");
        return openBearerSession(auth, user, amr, client);
      },
    }),

    route({
      method: "GET",
      path: "/auth/factors",
      group: "factors",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "The user's second factors (never a secret)",
        operationId: "listFactors",
        description:
          "Whether an authenticator app is set up (and when it was added and last used), the passkeys (each with its name, when it was added and last used), how many recovery codes are left, and whether this server can add apps and use passkeys at all.",
        security: SECURITY.caller,
        response: { 200: FactorsView, ...errorResponses(401) },
      },
      handler: async (request) => {
        const { session } = await who(request).load();
        const { totp, passkeys, recoveryCodes } = await auth.factors.summary(session.userId);
        return {
          totp: totp && {
            id: totp.id,
            name: totp.name,
            createdAt: isoTime(totp.createdAt),
            lastUsedAt: totp.lastUsedAt === null ? null : isoTime(totp.lastUsedAt),
          },
          passkeys: passkeys.map(passkeyJson),
          recoveryCodes,
          totpAvailable: auth.factors.totpAvailable,
          passkeysAvailable: auth.passkeys.available,
        };
      },
    }),

    route({
      method: "POST",
      path: "/auth/factors/totp",
      group: "factors",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "Start adding an authenticator app: its secret, shown once",
        operationId: "beginTotp",
        description:
          "Makes a new TOTP secret (RFC 6238: 30-second steps, 6 digits, SHA-1, as every app expects) and answers it once: as text, as the `otpauth://` URI and as that URI's QR code (an SVG). It is stored encrypted and protects nothing until `POST /auth/factors/totp/confirm` proves the app has it (within 15 minutes); starting again replaces a pending one. Needs a recent sign-in (`403 reauthentication_required`); `409 factor_exists` when an app is already set up; `409 factor_unavailable` when the server has no key to seal secrets (`MFA_KEYS`).",
        security: SECURITY.callerUnsafe,
        response: {
          200: Type.Object(
            {
              factorId: Type.String(),
              secret: Type.String({ description: "The secret in base32, to type into the app." }),
              uri: Type.String({ description: "`otpauth://totp/...`, what the QR code holds." }),
              qrSvg: Type.String({ description: "The URI as a QR code: an SVG document." }),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(401, 403, 409),
        },
      },
      handler: async (request, reply) => {
        const { user, session } = await who(request).load();
        await auth.recentSignIn.require(session, { password: false });
        reply.header("cache-control", "no-store");
        return auth.factors.beginTotp(user);
      },
    }),

    route<{ factorId: string; code: string }>({
      method: "POST",
      path: "/auth/factors/totp/confirm",
      group: "factors",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "Finish adding an authenticator app with its first code",
        operationId: "confirmTotp",
        description:
          "Proves the app has the secret: from now on a password sign-in needs a code too. The first factor comes with ten recovery codes, answered this once. This session now counts as signed in with the factor (`amr` `mfa`, `otp`, `pwd`); every other session of the user ends (`endedSessions`: how many), as they were opened with the password alone. A wrong code is `401 invalid_code` and the set-up stays pending; tries are throttled per session and per address.",
        security: SECURITY.callerUnsafe,
        body: Type.Object(
          { factorId: Type.String({ maxLength: 64 }), code: Code },
          { additionalProperties: false, examples: [{ factorId: "4Yq…", code: "492039" }] },
        ),
        response: {
          200: Type.Object(
            {
              ...RecoveryCodes.properties,
              endedSessions: Type.Integer({
                description: "The user's other sessions, ended: they had no second factor.",
              }),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(400, 401, 403, 413, 415, 429),
        },
      },
      handler: async (request, reply) => {
        const { session } = await who(request).load();
        const asCaller = signedInCallerOf(context, request, session.id);
        const attempt = await auth.throttle.begin({
          sessionId: session.id,
          ip: asCaller.ip,
          device: null,
        });
        try {
          const result = await auth.factors.confirmTotp(
            session.userId,
            request.body.factorId,
            request.body.code,
            caller(request, session),
          );
          await attempt.succeeded();
          // This session just proved the factor: its sign-in counts as one with it. Every
          // other session signed in with the password alone, which is no longer a full
          // sign-in: they end, so a thief's session opened before the app cannot keep the account.
          const valid = await auth.sessions.reauthenticate(session.id, ["mfa", "otp", "pwd"]);
          const ended = await auth.sessions.endAllForUser(session.userId, session.id, "session_revoked");
          if (valid && who(request).via === "cookie" && context.strategy !== "session") {
            await context.renewAccessCookie(reply, valid);
          }
          reply.header("cache-control", "no-store");
          return { ...result, endedSessions: ended.length };
        } catch (error) {
          // A wrong code stays counted; anything else was no guess.
          if (!(error instanceof AuthError && error.code === "invalid_code")) await attempt.withdraw();
          throw error;
        }
      },
    }),

    route({
      method: "DELETE",
      path: "/auth/factors/totp",
      group: "factors",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "Remove the authenticator app",
        operationId: "removeTotp",
        description:
          "Removes the app; with no second factor left, the recovery codes go too and the password alone signs in again. Needs a recent sign-in (`403 reauthentication_required`); `404 not_found` when there is no app.",
        security: SECURITY.callerUnsafe,
        response: { ...NoContent, ...errorResponses(401, 403, 404) },
      },
      handler: async (request, reply) => {
        const { session } = await who(request).load();
        await auth.recentSignIn.require(session, { password: false });
        if (!(await auth.factors.removeTotp(session.userId, caller(request, session)))) {
          throw new AuthError("not_found", "No authenticator app is set up.");
        }
        return reply.code(204).send();
      },
    }),

    route({
      method: "POST",
      path: "/auth/factors/recovery-codes",
      group: "factors",
      auth: true,
      schema: {
        tags: TAGS,
        summary: "New recovery codes (the old ones stop working)",
        operationId: "regenerateRecoveryCodes",
        description:
          "Ten new recovery codes, answered this once; the old ones are void. Only with a second factor (`400` otherwise). Needs a recent sign-in (`403 reauthentication_required`).",
        security: SECURITY.callerUnsafe,
        response: { 200: RecoveryCodes, ...errorResponses(400, 401, 403) },
      },
      handler: async (request, reply) => {
        const { session } = await who(request).load();
        await auth.recentSignIn.require(session, { password: false });
        const recoveryCodes = await auth.factors.regenerateRecoveryCodes(session.userId, caller(request, session));
        reply.header("cache-control", "no-store");
        return { recoveryCodes };
      },
    }),
  ];
}
