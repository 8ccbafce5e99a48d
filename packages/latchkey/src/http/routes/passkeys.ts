/**
 * Passkeys (`docs/accounts.md`, "Passkeys"): registering, naming and removing them, and
 * signing in with one alone, for browsers and for API clients. A passkey as the second
 * step of a password sign-in, and as a re-authentication, goes through the routes of those
 * (`POST /auth/login/second-factor`, `POST /auth/token/second-factor`,
 * `POST /auth/reauthenticate`) with a challenge from here.
 */
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { Type } from "@sinclair/typebox";
import { AuthError } from "../../core/errors.js";
import { PASSKEY_AMR, PASSKEY_NAME_MAX, type PasskeyView } from "../../core/passkeys.js";
import type { UserRecord } from "../../core/records.js";
import { clientInfo } from "../client.js";
import type { LatchkeyContext } from "../context.js";
import { AssertionJson, errorResponses, SECURITY } from "../schemas.js";
import { isoTime } from "../views.js";
import { LoginAnswer, openBrowserSignIn } from "./auth.js";
import { type RouteSpec, route, who } from "./spec.js";
import { openBearerSession } from "./tokens.js";

const NoContent = { 204: Type.Null({ description: "No content" }) };
/** Unpadded base64url, as WebAuthn's JSON has it: nothing else reaches a store or the checks. */
const B64 = (description: string, maxLength = 4096) =>
  Type.String({ minLength: 1, maxLength, pattern: "^[A-Za-z0-9_-]+$", description });
/** A passkey's id in a path: 22 base64url characters, checked before any store sees it. */
const PasskeyIdParams = Type.Object({ id: Type.String({ maxLength: 64, pattern: "^[A-Za-z0-9_-]+$" }) });

/** What `navigator.credentials.create` gives, as JSON. */
const AttestationJson = Type.Object(
  {
    id: B64("The new credential's id, base64url.", 1024),
    rawId: B64("The same, as the browser gives it.", 1024),
    type: Type.Literal("public-key"),
    response: Type.Object({
      clientDataJSON: B64("base64url"),
      attestationObject: B64("base64url", 16_384),
      authenticatorData: Type.Optional(B64("base64url")),
      transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8 })),
      publicKeyAlgorithm: Type.Optional(Type.Integer()),
      publicKey: Type.Optional(B64("base64url")),
    }),
    authenticatorAttachment: Type.Optional(Type.String({ maxLength: 32 })),
    clientExtensionResults: Type.Object({}),
  },
  {
    description: "A new passkey: what `navigator.credentials.create` gives, as JSON (`PublicKeyCredential.toJSON()`).",
  },
);

/** Options for `navigator.credentials.create`/`get`, as JSON (`PublicKeyCredential.parse*OptionsFromJSON`). */
const OptionsJson = (what: string) =>
  Type.Object(
    { challenge: Type.String({ description: "Good once, for five minutes." }) },
    { additionalProperties: true, description: what },
  );

/** A passkey in an answer: its id, name and times, never its key or credential id. */
export const PasskeyJson = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    createdAt: Type.String({ format: "date-time" }),
    lastUsedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  },
  { additionalProperties: false },
);

/**
 * A passkey as the routes answer it.
 * @example
 * const listed = (await auth.passkeys.list(userId)).map(passkeyJson);
 */
export function passkeyJson(passkey: PasskeyView) {
  return {
    id: passkey.id,
    name: passkey.name,
    createdAt: isoTime(passkey.createdAt),
    lastUsedAt: passkey.lastUsedAt === null ? null : isoTime(passkey.lastUsedAt),
  };
}

const PasskeyName = Type.String({
  minLength: 1,
  maxLength: PASSKEY_NAME_MAX * 2,
  description: `What its owner calls it ("Phone", "YubiKey"): 1 to ${PASSKEY_NAME_MAX} characters.`,
});

const TokenAnswer = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal("Bearer"),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
});

/** A user a passkey signed in, if they may sign in now. */
function maySignIn(context: LatchkeyContext, user: UserRecord): UserRecord {
  if (user.disabledAt !== null) throw new AuthError("account_disabled", "This account has been disabled.");
  context.auth.email.assertMaySignIn(user);
  return user;
}

/**
 * The passkey routes: challenges, sign-in alone (browser and API client), registration,
 * rename and removal.
 * @example
 * const routes = passkeyRoutes(context);
 */
export function passkeyRoutes(context: LatchkeyContext): RouteSpec[] {
  const { auth } = context;
  return [
    route({
      method: "POST",
      path: "/auth/passkey/options",
      // With the core: a passkey second step and re-authentication need it even when a
      // host turns off adding factors and signing in with a passkey alone.
      group: "core",
      schema: {
        tags: ["auth"],
        summary: "A passkey challenge for this browser: to sign in, as a second step, or to re-authenticate",
        operationId: "passkeyOptions",
        description:
          "Options for `navigator.credentials.get` (no credential named: the authenticator offers the passkeys it holds for this site), and a five-minute HttpOnly cookie that binds their challenge to this browser. The answer goes to `POST /auth/login/passkey` (sign in with the passkey alone), `POST /auth/login/second-factor` (`{passkey}`, after a password) or `POST /auth/reauthenticate` (`{passkey}`); each challenge is good once. `409 factor_unavailable` when the server's origin has no domain to bind passkeys to.",
        security: SECURITY.none,
        response: {
          200: Type.Object(
            {
              options: OptionsJson(
                "For `navigator.credentials.get` (`PublicKeyCredential.parseRequestOptionsFromJSON`).",
              ),
              expiresIn: Type.Integer({ description: "Seconds the challenge waits." }),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(409, 429),
        },
      },
      handler: async (request, reply) => {
        const { options, token, expiresIn } = await auth.passkeys.signInOptions(clientInfo(request).ip);
        context.setPasskeyCookie(reply, token, expiresIn);
        reply.header("cache-control", "no-store");
        return { options, expiresIn };
      },
    }),

    route<{ response: AuthenticationResponseJSON; remember?: boolean; mode?: "cookies" | "memory" }>({
      method: "POST",
      path: "/auth/login/passkey",
      group: "factors",
      schema: {
        tags: ["auth"],
        summary: "Sign in with a passkey alone",
        operationId: "loginPasskey",
        description:
          "The authenticator's answer to this browser's challenge (`POST /auth/passkey/options`) opens a session and answers as `POST /auth/login` does (the strategy's cookies, or with `mode: memory` the access token). No password: the passkey, checked with user verification, is two factors on its own (`amr` `hwk`, `mfa`). `401 invalid_passkey` when the challenge is not this browser's live one (expired, used, or asked for elsewhere), the passkey is not registered, or its signature, origin, user verification or counter does not verify.",
        security: SECURITY.none,
        body: Type.Object(
          {
            response: AssertionJson,
            remember: Type.Optional(Type.Boolean()),
            mode: Type.Optional(Type.Union([Type.Literal("cookies"), Type.Literal("memory")])),
          },
          { additionalProperties: false },
        ),
        response: { 200: LoginAnswer, ...errorResponses(400, 401, 403, 409, 413, 415) },
      },
      handler: async (request, reply) => {
        const token = request.cookies[context.cookies.passkey];
        context.clearPasskeyCookie(reply);
        const { user, amr } = await auth.passkeys.verify(token, request.body.response, undefined, clientInfo(request));
        return openBrowserSignIn(context, request, reply, maySignIn(context, user), {
          remember: request.body.remember ?? false,
          memory: request.body.mode === "memory",
          amr,
        });
      },
    }),

    route({
      method: "POST",
      path: "/auth/token/passkey/options",
      group: "tokens",
      cors: true,
      schema: {
        tags: ["tokens"],
        summary: "A passkey challenge for an API client",
        operationId: "tokenPasskeyOptions",
        description:
          "Options for the platform's WebAuthn call, and `challenge_token`, which binds their challenge to this client: send it back with the answer to `POST /auth/token/passkey` (sign in with the passkey alone) or `POST /auth/token/second-factor` (after a password). Good once, for five minutes.",
        security: SECURITY.none,
        response: {
          200: Type.Object(
            {
              options: OptionsJson("For the platform's WebAuthn `get` call."),
              challenge_token: Type.String(),
              expires_in: Type.Integer(),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(409, 429),
        },
      },
      handler: async (request, reply) => {
        const { options, token, expiresIn } = await auth.passkeys.signInOptions(clientInfo(request).ip);
        reply.header("cache-control", "no-store");
        return { options, challenge_token: token, expires_in: expiresIn };
      },
    }),

    route<{ challenge_token: string; response: AuthenticationResponseJSON }>({
      method: "POST",
      path: "/auth/token/passkey",
      group: "tokens",
      cors: true,
      schema: {
        tags: ["tokens"],
        summary: "An API client signs in with a passkey alone",
        operationId: "createTokenPasskey",
        description:
          "The authenticator's answer to the challenge of `challenge_token` gives the access and refresh tokens (`amr` `hwk`, `mfa`). `401 invalid_passkey` as at `POST /auth/login/passkey`.",
        security: SECURITY.none,
        body: Type.Object(
          { challenge_token: Type.String({ maxLength: 200 }), response: AssertionJson },
          { additionalProperties: false },
        ),
        response: { 200: TokenAnswer, ...errorResponses(400, 401, 403, 409, 413, 415) },
      },
      handler: async (request) => {
        const { challenge_token: token, response } = request.body;
        const { user, amr } = await auth.passkeys.verify(token, response, undefined, clientInfo(request));
        return openBearerSession(auth, maySignIn(context, user), amr, clientInfo(request));
      },
    }),

    route({
      method: "POST",
      path: "/auth/factors/passkeys/options",
      group: "factors",
      auth: true,
      schema: {
        tags: ["factors"],
        summary: "Start registering a passkey",
        operationId: "passkeyRegistrationOptions",
        description:
          "Options for `navigator.credentials.create`: a discoverable credential with user verification, none of the user's passkeys again. The challenge is good once, for five minutes, from this session. Needs a recent sign-in (`403 reauthentication_required`); `409 factor_unavailable` when the server's origin has no domain to bind passkeys to; `400` past 20 passkeys.",
        security: SECURITY.callerUnsafe,
        response: {
          200: Type.Object(
            {
              options: OptionsJson(
                "For `navigator.credentials.create` (`PublicKeyCredential.parseCreationOptionsFromJSON`).",
              ),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(400, 401, 403, 409, 429),
        },
      },
      handler: async (request, reply) => {
        const { user, session } = await who(request).load();
        await auth.recentSignIn.require(session, { password: false });
        reply.header("cache-control", "no-store");
        return auth.passkeys.registrationOptions(user, session.id, clientInfo(request).ip);
      },
    }),

    route<{ response: RegistrationResponseJSON; name?: string }>({
      method: "POST",
      path: "/auth/factors/passkeys",
      group: "factors",
      auth: true,
      schema: {
        tags: ["factors"],
        summary: "Finish registering a passkey",
        operationId: "registerPasskey",
        description:
          "The authenticator's new credential, for this session's challenge (`POST /auth/factors/passkeys/options`): its public key is stored (nothing secret), under `name` (default `Passkey`, `Passkey 2`, ...). From now on it signs in alone, and a password sign-in needs a second step. The first second factor of the account comes with ten recovery codes, answered this once, and ends every other session of the user (they were opened with the password alone), and this session then counts as signed in with the passkey; a later passkey changes no session. `401 invalid_passkey` when the answer does not verify or the challenge is not this session's live one; `409 factor_exists` when the passkey is registered already.",
        security: SECURITY.callerUnsafe,
        body: Type.Object(
          { response: AttestationJson, name: Type.Optional(PasskeyName) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object(
            {
              passkey: PasskeyJson,
              recoveryCodes: Type.Array(Type.String(), {
                description: "With the first factor only (else empty): shown this once.",
              }),
              endedSessions: Type.Integer({ description: "The user's other sessions, ended (first factor only)." }),
            },
            { additionalProperties: false },
          ),
          ...errorResponses(400, 401, 403, 409, 413, 415),
        },
      },
      handler: async (request, reply) => {
        const { user, session } = await who(request).load();
        const caller = { ...clientInfo(request), sessionId: session.id };
        const first = !(await auth.factors.hasAny(user.id));
        const passkey = await auth.passkeys.register(
          user,
          session.id,
          request.body.response,
          request.body.name,
          caller,
        );
        const recoveryCodes = await auth.factors.firstRecoveryCodes(user.id, caller);
        // As with an authenticator app: this session proved the new factor, and sessions
        // opened with the password alone are no full sign-in any more.
        let ended: string[] = [];
        if (first) {
          // The account's first factor: this session counts as signed in with it, and the
          // sessions opened with the password alone end. A later passkey changes neither
          // (the session proved a factor already: a recent sign-in demanded it), so
          // registering again never extends a session's recent sign-in.
          const amr = [...new Set([...session.amr, ...PASSKEY_AMR])].sort();
          const valid = await auth.sessions.reauthenticate(session.id, amr);
          ended = await auth.sessions.endAllForUser(user.id, session.id, "session_revoked");
          if (valid && who(request).via === "cookie" && context.strategy !== "session") {
            await context.renewAccessCookie(reply, valid);
          }
        }
        reply.header("cache-control", "no-store");
        reply.code(201);
        return { passkey: passkeyJson(passkey), recoveryCodes, endedSessions: ended.length };
      },
    }),

    route<{ name: string }, unknown, { id: string }>({
      method: "PATCH",
      path: "/auth/factors/passkeys/:id",
      group: "factors",
      auth: true,
      schema: {
        tags: ["factors"],
        summary: "Rename a passkey",
        operationId: "renamePasskey",
        description: "`404 not_found` when the user has no such passkey; `400` for an empty or overlong name.",
        security: SECURITY.callerUnsafe,
        params: PasskeyIdParams,
        body: Type.Object({ name: PasskeyName }, { additionalProperties: false, examples: [{ name: "Work laptop" }] }),
        response: {
          200: Type.Object({ passkey: PasskeyJson }, { additionalProperties: false }),
          ...errorResponses(400, 401, 403, 404, 413, 415),
        },
      },
      handler: async (request) => {
        const { session } = await who(request).load();
        const passkey = await auth.passkeys.rename(session.userId, request.params.id, request.body.name);
        if (!passkey) throw new AuthError("not_found", "No such passkey.");
        return { passkey: passkeyJson(passkey) };
      },
    }),

    route<unknown, unknown, { id: string }>({
      method: "DELETE",
      path: "/auth/factors/passkeys/:id",
      group: "factors",
      auth: true,
      schema: {
        tags: ["factors"],
        summary: "Remove a passkey",
        operationId: "removePasskey",
        description:
          "It signs in no more. With no second factor left, the recovery codes go too and the password alone signs in again. Needs a recent sign-in (`403 reauthentication_required`); `404 not_found` when the user has no such passkey.",
        security: SECURITY.callerUnsafe,
        params: PasskeyIdParams,
        response: { ...NoContent, ...errorResponses(401, 403, 404) },
      },
      handler: async (request, reply) => {
        const { session } = await who(request).load();
        await auth.recentSignIn.require(session, { password: false });
        const caller = { ...clientInfo(request), sessionId: session.id };
        if (!(await auth.passkeys.remove(session.userId, request.params.id, caller))) {
          throw new AuthError("not_found", "No such passkey.");
        }
        await auth.factors.afterRemoval(session.userId);
        return reply.code(204).send();
      },
    }),
  ];
}
