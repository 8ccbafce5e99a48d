/**
 * "Compare the strategies": the same sign-in, protected request, sign-out and reuse of the
 * old credential, run through the real library under `session`, `jwt` and `hybrid` (and
 * `jwt` with `REVOCATION=expiry`), whatever strategy this server runs. Each flow is its own
 * in-process latchkey (the Fastify plugin over memory stores, a throwaway demo user, its
 * own signing keys), driven with `inject` and thrown away: nothing touches the server's
 * stores, and no credential it mints can open anything once the run is over.
 *
 * The transcript shows what travels and what is stored, never a usable value: cookie and
 * header values, ids and hashes are short SHA-256 fingerprints (enough to see that a cookie
 * came back unchanged or was replaced), bodies are shapes.
 */
import { createHash, randomBytes } from "node:crypto";
import { type Static, Type } from "@sinclair/typebox";
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from "fastify";
import {
  AuthError,
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
  errorResponses,
  type PasswordHasher,
  type Stores,
} from "latchkey";
import { handleError, latchkey } from "latchkey/fastify";
import { SECURITY } from "latchkey/internal";
import { createMemoryStores } from "latchkey/memory";

/**
 * What a request costs under each strategy: the README's measured row ("what a request
 * costs (measured, below)" of "Session vs JWT vs hybrid"), word for word. The compare page
 * shows these; test/http/demo-compare.test.ts fails when the README's row says otherwise.
 */
export const STRATEGY_COSTS = {
  session:
    "one indexed store read, ≈10-15 µs; a write at most once a minute (or per tenth of the idle timeout, when shorter)",
  jwt: "a signature check on a token's first sight (≈180 µs EdDSA), then ≈0.2 µs; no store read",
  hybrid: "as `jwt`; a store read only when the access cookie has expired and is renewed",
} as const;

/** The flows the comparison runs: each strategy, and `jwt` with revocation at expiry. */
export const DEMO_FLOWS = [
  { id: "session", strategy: "session", revocation: "immediate" },
  { id: "jwt", strategy: "jwt", revocation: "immediate" },
  { id: "hybrid", strategy: "hybrid", revocation: "immediate" },
  { id: "jwt-expiry", strategy: "jwt", revocation: "expiry" },
] as const;
type Flow = (typeof DEMO_FLOWS)[number];

/** How long one run's transcript is served before the next request runs the flows again. */
export const DEMO_CACHE_MS = 60_000;

/** The origin the demo instances believe they serve: a reserved name, reachable by no browser. */
const DEMO_ORIGIN = "https://demo.latchkey.invalid";
const DEMO_USERNAME = "demo";
/** The protected route of each demo instance: it needs a credential and loads no session. */
const RESOURCE = "/api/notes";

const Fingerprint = Type.String({
  pattern: "^#[0-9a-f]{8}$",
  description: "The first 8 hex digits of the value's SHA-256: tells values apart, never usable.",
});
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const SentValue = Type.Object({ name: Type.String(), value: Fingerprint });
const SetCookieView = Type.Object({
  name: Type.String(),
  value: Type.Union([Fingerprint, Type.Literal("cleared")]),
  attributes: Type.Array(Type.String(), { description: "As sent: `HttpOnly`, `Secure`, `SameSite=Lax`, `Path=/`..." }),
});
const SessionRow = Type.Object({
  id: Fingerprint,
  kind: Type.String(),
  secretHash: Fingerprint,
  previousSecretHash: Nullable(Fingerprint),
  idleExpiresIn: Type.Integer({ description: "Seconds until the idle timeout ends it." }),
  expiresIn: Type.Integer({ description: "Seconds until the absolute timeout ends it." }),
});
const RefreshRow = Type.Object({
  id: Fingerprint,
  sessionId: Nullable(Fingerprint),
  secretHash: Nullable(Fingerprint),
  state: Type.Union([Type.Literal("current"), Type.Literal("rotated"), Type.Literal("gone")]),
});
const FeedRow = Type.Object({ kind: Type.String(), subject: Fingerprint });
const DemoStep = Type.Object({
  name: Type.Union([Type.Literal("sign-in"), Type.Literal("request"), Type.Literal("sign-out"), Type.Literal("reuse")]),
  title: Type.String(),
  request: Type.Object({
    method: Type.String(),
    path: Type.String(),
    cookies: Type.Array(SentValue),
    headers: Type.Array(SentValue, { description: "Headers that carry a credential or a CSRF token, fingerprinted." }),
    body: Type.Unknown({ description: "The body's shape: strings are replaced by a placeholder." }),
  }),
  response: Type.Object({
    status: Type.Integer(),
    errorCode: Nullable(Type.String()),
    setCookies: Type.Array(SetCookieView),
    body: Type.Unknown({ description: "The body's shape: strings are replaced by a placeholder." }),
  }),
  stored: Type.Object({
    sessions: Type.Array(SessionRow),
    refreshTokens: Type.Array(RefreshRow),
    revocations: Type.Array(FeedRow, { description: "The change feed: what other instances and services learn." }),
  }),
});
const DemoFlow = Type.Object({
  id: Type.String(),
  strategy: Type.Union([Type.Literal("session"), Type.Literal("jwt"), Type.Literal("hybrid")]),
  revocation: Type.Union([Type.Literal("immediate"), Type.Literal("expiry")]),
  cost: Type.String({ description: "What a request costs, as the README measures it." }),
  steps: Type.Array(DemoStep),
});
/** The answer of `GET /api/demo/compare`. */
export const Comparison = Type.Object({
  ranAt: Type.String({ format: "date-time" }),
  flows: Type.Array(DemoFlow),
});
export type Comparison = Static<typeof Comparison>;
type DemoStep = Static<typeof DemoStep>;

/**
 * Runs the four flows, one after the other, and returns the transcript. `onSecret` sees
 * every raw value the transcript redacts (the test that checks none leaks uses it).
 *
 * @example
 * const { flows } = await compareStrategies();
 * flows.map((flow) => flow.steps.at(-1)?.response.status); // [401, 401, 401, 200]
 */
export async function compareStrategies(options: { onSecret?: (value: string) => void } = {}): Promise<Comparison> {
  const flows: Comparison["flows"] = [];
  for (const flow of DEMO_FLOWS) flows.push(await runFlow(flow, options.onSecret ?? (() => {})));
  return { ranAt: new Date().toISOString(), flows };
}

/**
 * `GET /api/demo/compare`: the transcript, run at most once per `DEMO_CACHE_MS` (requests
 * in between share it), so the route costs nothing an anonymous caller could multiply.
 *
 * @example
 * await app.register(demoCompareRoute);
 */
export async function demoCompareRoute(fastify: FastifyInstance): Promise<void> {
  let cached: { at: number; run: Promise<Comparison> } | undefined;
  fastify.get(
    "/api/demo/compare",
    {
      schema: {
        tags: ["demo"],
        operationId: "compareStrategies",
        summary: "The same sign-in, request, sign-out and reuse under every strategy",
        description:
          "Runs sign-in, a protected request, sign-out and a reuse of the signed-out credential through four throwaway in-process latchkey instances (session, jwt, hybrid, and jwt with REVOCATION=expiry) on memory stores, and returns what travelled and what was stored at each step. Every secret is redacted to an 8-digit SHA-256 fingerprint. Takes no input; one run is shared for a minute. Never touches this server's stores. A run that fails (a bug) answers 503 service_unavailable, and the next request runs again.",
        security: SECURITY.none,
        response: { 200: Comparison, ...errorResponses(431) },
      },
    },
    async (request) => {
      const now = Date.now();
      if (!cached || now - cached.at >= DEMO_CACHE_MS) {
        const run = compareStrategies();
        cached = { at: now, run };
        // The minute counts from when a run ends, so a slow run never has a second beside it;
        // a failed run is not kept: the next request tries again.
        run.then(
          () => {
            if (cached?.run === run) cached.at = Date.now();
          },
          () => {
            if (cached?.run === run) cached = undefined;
          },
        );
      }
      try {
        return await cached.run;
      } catch (err) {
        request.log.error({ err }, "the strategy comparison failed");
        throw new AuthError("service_unavailable", "The comparison could not run. Try again in a moment.");
      }
    },
  );
}

/** One strategy's sequence on a fresh in-process latchkey, closed afterwards. */
async function runFlow(flow: Flow, onSecret: (value: string) => void): Promise<Comparison["flows"][number]> {
  const stores = createMemoryStores();
  const refreshIds = watchRefreshTokens(stores);
  const auth = await createAuth({
    stores,
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: DEMO_ORIGIN, revocation: flow.revocation },
    hasher: DEMO_HASHER,
  }).catch(async (error: unknown) => {
    await stores.close();
    throw error;
  });
  const app = Fastify({ logger: false });
  // The contract's error format on the demo's own route too, as the server has it.
  app.setErrorHandler(handleError);
  try {
    await app.register(latchkey, {
      auth,
      publicOrigin: DEMO_ORIGIN,
      strategy: flow.strategy,
      maintenance: false,
      routes: { register: false, password: false, account: false, tokens: false, services: false, admin: false },
    });
    app.get(RESOURCE, { preHandler: app.requireAuth }, async () => ({ notes: [] }));
    // A fresh random password: the demo user exists only in this run's memory.
    const password = randomBytes(18).toString("base64url");
    onSecret(password);
    const user = await auth.accounts.register(DEMO_USERNAME, password);
    const run = new DemoRun(app, stores, user.id, refreshIds, onSecret);

    await run.step("sign-in", "Sign in", {
      method: "POST",
      path: "/auth/login",
      body: { username: DEMO_USERNAME, password },
    });
    await run.step("request", "A protected request", { method: "GET", path: RESOURCE });
    const before = new Map(run.jar);
    await run.step("sign-out", "Sign out", { method: "POST", path: "/auth/logout", csrf: true });
    await run.step("reuse", "Reuse the signed-out credential", { method: "GET", path: RESOURCE, cookies: before });
    return { ...flow, cost: STRATEGY_COSTS[flow.strategy], steps: run.steps };
  } finally {
    await app.close();
    await auth.close();
    await stores.close();
  }
}

/**
 * The demo user's password check: a plain SHA-256. The user lives for one run in memory
 * with a random password; argon2's cost, which protects stored passwords, would only make
 * the route expensive.
 */
const DEMO_HASHER: PasswordHasher = {
  hash: async (password) => sha256(password),
  verify: async (stored, password) => stored === sha256(password),
  needsRehash: () => false,
};

/** Records the id of every refresh token the flow creates, to show each row as it stands. */
function watchRefreshTokens(stores: Stores): string[] {
  const ids: string[] = [];
  const store = stores.refreshTokens;
  const create = store.create.bind(store);
  store.create = async (token) => {
    ids.push(token.id);
    await create(token);
  };
  return ids;
}

/** A browser's worth of state for one flow: its cookie jar and CSRF token, and the steps so far. */
class DemoRun {
  readonly jar = new Map<string, string>();
  readonly steps: DemoStep[] = [];
  #csrf: string | undefined;

  constructor(
    private readonly app: FastifyInstance,
    private readonly stores: Stores,
    private readonly userId: string,
    private readonly refreshIds: readonly string[],
    private readonly onSecret: (value: string) => void,
  ) {}

  /** Sends one request as the browser would, keeps its cookies, and records the step. */
  async step(
    name: DemoStep["name"],
    title: string,
    request: { method: "GET" | "POST"; path: string; body?: object; csrf?: boolean; cookies?: Map<string, string> },
  ): Promise<void> {
    // What the browser sends, copied before the answer's cookies change the jar.
    const cookies = [...(request.cookies ?? this.jar)];
    const headers: Record<string, string> = { "user-agent": "latchkey strategy comparison" };
    const shown: Array<{ name: string; value: string }> = [];
    if (request.method === "POST") headers.origin = DEMO_ORIGIN;
    if (request.csrf && this.#csrf) {
      headers["x-csrf-token"] = this.#csrf;
      shown.push({ name: "X-CSRF-Token", value: this.fingerprint(this.#csrf) });
    }
    if (cookies.length > 0) headers.cookie = [...cookies].map(([key, value]) => `${key}=${value}`).join("; ");
    const response = await this.app.inject({
      method: request.method,
      url: request.path,
      headers,
      ...(request.body && { payload: request.body }),
    });
    this.absorb(response);
    this.steps.push({
      name,
      title,
      request: {
        method: request.method,
        path: request.path,
        cookies: cookies.map(([key, value]) => ({ name: key, value: this.fingerprint(value) })),
        headers: shown,
        body: request.body ? shapeOf(request.body) : null,
      },
      response: {
        status: response.statusCode,
        errorCode: errorCodeOf(response),
        setCookies: setCookieLines(response).map((line) => this.setCookieView(line)),
        body: response.body ? shapeOf(parseJson(response.body)) : null,
      },
      stored: await this.stored(),
    });
  }

  /** The browser's side: cookies set or cleared, and the CSRF token of a login. */
  private absorb(response: LightMyRequestResponse): void {
    for (const cookie of response.cookies as Array<{ name: string; value: string; maxAge?: number }>) {
      this.onSecret(cookie.value);
      if (cookie.maxAge === 0 || cookie.value === "") this.jar.delete(cookie.name);
      else this.jar.set(cookie.name, cookie.value);
    }
    const body = parseJson(response.body) as { csrfToken?: unknown } | null;
    if (typeof body?.csrfToken === "string") this.#csrf = body.csrfToken;
    collectStrings(body, this.onSecret);
  }

  private setCookieView(line: string): Static<typeof SetCookieView> {
    const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
    const at = pair.indexOf("=");
    const value = pair.slice(at + 1);
    const cleared = value === "" || attributes.some((attribute) => /^max-age=0$/i.test(attribute));
    return { name: pair.slice(0, at), value: cleared ? "cleared" : this.fingerprint(value), attributes };
  }

  /** What the flow's stores hold for the demo user after the step. */
  private async stored(): Promise<DemoStep["stored"]> {
    const now = Date.now();
    const sessions = await this.stores.sessions.listLive(now, this.userId);
    const refreshTokens = await Promise.all(
      this.refreshIds.map(async (id) => {
        const row = await this.stores.refreshTokens.find(id);
        return {
          id: this.fingerprint(id),
          sessionId: row ? this.fingerprint(row.sessionId) : null,
          secretHash: row ? this.fingerprint(row.secretHash) : null,
          state:
            row === null ? ("gone" as const) : row.rotatedAt === null ? ("current" as const) : ("rotated" as const),
        };
      }),
    );
    const feed = await this.stores.changes.read(0, 0, 100);
    return {
      sessions: sessions.map((session) => ({
        id: this.fingerprint(session.id),
        kind: session.kind,
        secretHash: this.fingerprint(session.secretHash),
        previousSecretHash: session.previousSecretHash === null ? null : this.fingerprint(session.previousSecretHash),
        idleExpiresIn: Math.round((session.idleExpiresAt - now) / 1000),
        expiresIn: Math.round((session.expiresAt - now) / 1000),
      })),
      refreshTokens,
      // The signing key the instance made at start is in the feed too; what the steps
      // change is the sessions'.
      revocations: feed
        .filter((change) => change.kind !== "keys_changed")
        .map((change) => ({ kind: change.kind, subject: this.fingerprint(change.subject) })),
    };
  }

  /** The value's fingerprint; the value itself is reported as a secret. */
  private fingerprint(value: string): string {
    this.onSecret(value);
    return `#${sha256(value).slice(0, 8)}`;
  }
}

function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

function setCookieLines(response: LightMyRequestResponse): string[] {
  const header = response.headers["set-cookie"];
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [String(header)];
}

function parseJson(body: string): unknown {
  try {
    return body === "" ? null : JSON.parse(body);
  } catch {
    return null;
  }
}

function errorCodeOf(response: LightMyRequestResponse): string | null {
  const body = parseJson(response.body) as { error?: { code?: unknown } } | null;
  return typeof body?.error?.code === "string" ? body.error.code : null;
}

/** Strings whose values say what happened and carry no secret: kept as they are. */
const READABLE = new Set(["code", "message", "username", "kind", "token_type"]);

/**
 * A body's shape: every string becomes `"<string>"` unless its key is in `READABLE` (the
 * roles list too); numbers, booleans and null stay, as they carry no secret.
 */
export function shapeOf(value: unknown, key = ""): unknown {
  if (typeof value === "string") return READABLE.has(key) || key === "roles" ? value : "<string>";
  if (Array.isArray(value)) return value.map((item) => shapeOf(item, key));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v, k)]));
  }
  return value;
}

/** Keys of a body whose strings are credentials or name a session. */
const SECRET_KEYS = new Set(["csrfToken", "access_token", "refresh_token", "id"]);

/** Every credential-like string of a body (shapeOf hides them all, and more). */
function collectStrings(value: unknown, onString: (value: string) => void, key = ""): void {
  if (typeof value === "string") {
    if (SECRET_KEYS.has(key)) onString(value);
  } else if (value !== null && typeof value === "object") {
    for (const [k, item] of Object.entries(value)) collectStrings(item, onString, k);
  }
}
