/**
 * The client: the session's state in a closure (never in storage, never on a global), the
 * requests to latchkey's routes, the refresh every tab of the origin shares, and the
 * channel that keeps the tabs in step.
 */
import { codeOf, endedOf, errorOf, LatchkeyError, SecondFactorRequired } from "./errors.js";
import { browser, type ClientOptions, settle } from "./options.js";
import { type Answer, type Message, REFRESHED, type ReauthAnswer, SAFE, SIGNED_IN, XRW } from "./protocol.js";
import { singleFlight } from "./tabs.js";
import type { Change, LatchkeyClient, Reauthentication, SecondFactorProof, SessionInfo } from "./types.js";

/** A second step's proof as latchkey's routes take it. */
function proofBody(proof: SecondFactorProof): Record<string, unknown> {
  if ("passkey" in proof) return { passkey: proof.passkey };
  return "code" in proof ? { code: proof.code } : { recoveryCode: proof.recoveryCode };
}

/** How long to wait before trying once more a refresh refused as a possible lost race. */
const RACE_MS = 250;
/** How long to wait before trying again a scheduled refresh that failed without a verdict (offline, 5xx). */
const RETRY_MS = 10_000;
/** The longest delay a browser timer keeps (beyond it, it fires at once). */
const MAX_DELAY = 2 ** 31 - 1;

/** The message of a refusal's JSON body, meant for a person; `undefined` when it has none. */
async function messageOf(response: Response): Promise<string | undefined> {
  const body = await response
    .clone()
    .json()
    .catch(() => null);
  const message = body?.error?.message;
  return typeof message === "string" ? message : undefined;
}

/**
 * Makes a client for a browser app signed in with latchkey, on the page's origin or another
 * one. The options are checked at once: a bad `baseUrl`, `prefix` or `mode` throws a
 * `TypeError` naming the option.
 *
 * @example
 * import { createClient } from "@latchkey/client";
 *
 * const client = createClient({ baseUrl: "https://auth.example.com", mode: "memory" });
 * client.onChange(({ session }) => render(session));
 * render(await client.session());
 * const answer = await client.fetch("https://auth.example.com/api/todos"); // with the bearer token
 */
export function createClient(options: ClientOptions = {}): LatchkeyClient {
  const { root, memory, origins, base, margin, keepAlive, name } = settle(options);
  // Called unbound: the browser's fetch and setTimeout refuse to run with another `this`.
  const { fetch: fetchOption, now: nowOption, setTimeout: later, clearTimeout: cancel } = options;
  const send = (input: RequestInfo | URL, init?: RequestInit) => (fetchOption ?? fetch)(input, init);
  const now = () => (nowOption ? nowOption() : Date.now());
  const wait = (ms: number) => new Promise<void>((resolve) => (later ?? setTimeout)(resolve, ms));
  const locks = options.locks === undefined ? (browser.navigator?.locks ?? null) : options.locks;
  const Channel = browser.BroadcastChannel;
  const open = options.channel === undefined ? Channel && ((n: string) => new Channel(n)) : options.channel;
  const channel = open ? open(name) : null;
  const once = singleFlight(locks, name, wait);

  // undefined: not loaded yet; null: signed out.
  let info: SessionInfo | null | undefined;
  let token: string | null = null;
  let csrf: string | null = null;
  let expiresAt: number | null = null;
  let lifetime = 0;
  // Counts every new credential or sign-out, here or in another tab: a refresh asked for
  // before the count moved has been overtaken, and is not made.
  let generation = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Whether the app made a request through the client since the last token: only then
  // does the refresh before expiry run (unless `keepAlive`), so an idle page idles out.
  let used = false;
  let closed = false;
  let loading: Promise<SessionInfo | null> | null = null;
  const listeners = new Set<(change: Change) => void>();

  const bearer = (): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
  const csrfHeader = (): Record<string, string> => (csrf ? { "x-csrf-token": csrf } : {});
  const alive = () => (memory ? token !== null : !!info);

  /** A call to one of latchkey's routes; its cookies go along, to another origin too. */
  function call(path: string, headers: Record<string, string>, body?: unknown): Promise<Response> {
    return send(`${root}${path}`, {
      method: path === "/auth/me" || path === "/auth/csrf" ? "GET" : "POST",
      credentials: "include",
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body),
    });
  }

  function expires(seconds: number | undefined): void {
    lifetime = seconds ?? 0;
    expiresAt = seconds == null ? null : now() + seconds * 1000;
  }

  const infoOf = (body: Answer): SessionInfo => ({
    user: { id: body.user.id, username: body.user.username, roles: body.user.roles ?? [] },
    sessionId: body.session.id,
    strategy: memory ? "memory" : body.session.strategy,
    accessExpiresAt: expiresAt,
  });

  /**
   * Tells this tab's listeners of a change and, when it happened here, the other tabs;
   * `words` is a forced sign-out's message, `ended` why latchkey ended the session.
   */
  function tell(reason: string, fromOtherTab = false, words?: string, ended?: string | null): void {
    if (!fromOtherTab && !closed) {
      const message: Message = { reason, session: info ?? null, expiresAt, lifetime };
      if (memory) message.token = token;
      if (words !== undefined) message.message = words;
      if (ended) message.ended = ended;
      channel?.postMessage(message);
    }
    // Nothing to tell a page that has not asked for its session yet (a reload refreshing).
    if (info === undefined) return;
    const change: Change = { session: info, reason, fromOtherTab };
    if (words !== undefined) change.message = words;
    if (ended) change.ended = ended;
    for (const listener of [...listeners]) {
      try {
        listener(change);
      } catch (error) {
        // One failing listener must neither stop the others nor the client.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /**
   * Forgets the session; `announce` when there was one, or the user asked. `words`: the
   * message latchkey ended it with, when it did; `ended`: why, when it said.
   */
  function end(reason: string, announce: boolean, fromOtherTab = false, words?: string, ended?: string | null): void {
    info = null;
    token = csrf = expiresAt = null;
    generation++;
    (cancel ?? clearTimeout)(timer);
    if (announce) tell(reason, fromOtherTab, words, ended);
  }

  /** Plans the refresh `margin` seconds (at most half the token's lifetime) before expiry. */
  function schedule(): void {
    (cancel ?? clearTimeout)(timer);
    if (closed || expiresAt === null) return;
    const seen = generation;
    const tick = (): void => {
      // Unused since the last token: let it lapse; the next request refreshes first.
      if (!used && !keepAlive) return;
      refresh(seen).catch((error: unknown) => {
        const delay = error instanceof LatchkeyError && error.retryAfter ? error.retryAfter * 1000 : RETRY_MS;
        if (generation === seen && !closed) timer = (later ?? setTimeout)(tick, delay);
      });
    };
    const delay = expiresAt - Math.min(margin, lifetime / 2) * 1000 - now();
    timer = (later ?? setTimeout)(tick, Math.min(Math.max(delay, 0), MAX_DELAY));
  }

  /**
   * Refreshes the access token unless a newer one came since `seen`: once for all of this
   * tab's callers and, with Web Locks, for all the tabs. Resolves `true` with a live
   * credential, `false` when latchkey refused (signed out); rejects on a network failure
   * or a 5xx. `hint`: why the session ended, as the 401 that led here said, for a refusal
   * that does not say (a refresh token goes with its session).
   */
  const refresh = (seen: number, hint: string | null = null): Promise<boolean> =>
    once(
      () => generation !== seen,
      alive,
      () => renew(seen, hint),
    );

  async function renew(seen: number, hint: string | null): Promise<boolean> {
    // A tab that heard another's refresh before it loaded its session has no CSRF token yet.
    if (!memory && !csrf) await csrfFromServer();
    const headers = memory ? XRW : csrfHeader();
    let response = await call("/auth/refresh", headers);
    // The first refusal may say why the session ended; a retry's never does (its cookies went with it).
    const first = endedOf(response);
    // An invalid_grant may be a duplicate that lost a race with another tab (latchkey
    // keeps the session then): once the winner's cookie is in the jar, try once more.
    // A page that is loading with Web Locks cannot have raced: it is simply signed out.
    if (response.status === 401 && (info || !locks) && (await codeOf(response)) === "invalid_grant") {
      await wait(RACE_MS);
      if (generation !== seen) return alive();
      response = await call("/auth/refresh", headers);
    }
    // Signed out or in again meanwhile: that newer state stands.
    if (generation !== seen) return alive();
    if (!response.ok) {
      const [error, words] = await Promise.all([errorOf(response, now()), messageOf(response)]);
      // Worth trying again later: no answer to judge (a 5xx), or latchkey asked to wait.
      // Any other refusal (401, a 403 for a CSRF token that no longer fits) is final.
      if (response.status >= 500 || response.status === 408 || response.status === 429) throw error;
      const ended = error.ended ?? first ?? hint;
      // A page still loading hears of it only when latchkey said why (see `load`).
      end(error.code, !!info || !!ended, false, words, ended);
      return false;
    }
    const body = (await response.json()) as Answer;
    if (memory) token = body.access_token ?? null;
    expires(body.expires_in);
    // In the in-memory mode the answer says whose session the cookie is: another page of
    // this browser (another app on this latchkey) may have signed in as someone else, and
    // the roles may have changed.
    const changed =
      memory &&
      info &&
      body.session &&
      body.user &&
      (body.session.id !== info.sessionId || body.user.id !== info.user.id);
    if (memory && info && body.session && body.user) info = infoOf(body);
    else if (info) info = { ...info, accessExpiresAt: expiresAt };
    used = false;
    generation++;
    schedule();
    tell(changed ? SIGNED_IN : REFRESHED);
    return true;
  }

  async function load(): Promise<SessionInfo | null> {
    // A reloaded page in memory mode has no token: the refresh cookie gets one back.
    if (memory && !token && !(await refresh(generation))) return info ?? null;
    let response = await call("/auth/me", memory ? bearer() : {});
    // A reload under jwt after the access cookie expired: the refresh cookie still works,
    // with the CSRF token the page lost with its memory (latchkey reflects its cookie).
    if (!memory && response.status === 401 && info === undefined && (await csrfFromServer())) {
      if (await refresh(generation, endedOf(response))) response = await call("/auth/me", {});
    }
    // A sign-in or sign-out while this was on its way stands.
    if (info !== undefined) return info;
    if (response.status === 401) {
      // A page loaded after latchkey ended its session is told why, when latchkey said:
      // the person should hear it ("your password was reset"), not a silent sign-in page.
      const ended = endedOf(response);
      end(await codeOf(response), ended !== null, false, undefined, ended);
      return null;
    }
    if (!response.ok) throw await errorOf(response, now());
    const body = (await response.json()) as Answer;
    if (!memory) {
      csrf = body.csrfToken ?? null;
      expires(body.accessExpiresIn);
    }
    info = infoOf(body);
    schedule();
    return info;
  }

  /** The CSRF token from `GET /auth/csrf` (a page of another origin cannot read the cookie). */
  async function csrfFromServer(): Promise<boolean> {
    const answer = await call("/auth/csrf", {});
    if (answer.ok) csrf = ((await answer.json()) as { csrfToken?: string }).csrfToken ?? null;
    return csrf !== null;
  }

  function session(): Promise<SessionInfo | null> {
    if (info !== undefined) return Promise.resolve(info);
    loading ??= load().finally(() => {
      loading = null;
    });
    return loading;
  }

  /** Signs out through `path`; the local sign-out stands whatever latchkey answers to a logout. */
  async function leave(path: string, reason: string): Promise<void> {
    const everywhere = path === "/auth/logout-all";
    if (memory) {
      // logout-all needs a live bearer token.
      if (everywhere && !(token && expiresAt && now() < expiresAt) && !(await refresh(generation))) {
        throw new LatchkeyError(401, "unauthenticated", "Not signed in: there is no session to end.");
      }
    } else if (!csrf && info === undefined) await session();
    const response = await call(path, memory ? { ...XRW, ...bearer() } : csrfHeader());
    if (response.ok) return end(reason, true);
    // Refused (a 403, a 5xx): the session lives on at latchkey, so this tab stays signed
    // in and says so; a sign-out that only forgot the session here would lie (in the
    // in-memory mode, the next reload would sign the page back in from the cookie).
    const [error, words] = await Promise.all([errorOf(response, now()), messageOf(response)]);
    if (response.status === 401) end(error.code, true, false, words, error.ended);
    throw error;
  }

  async function apiFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const target = new URL(input instanceof Request ? input.url : input, base);
    if (!origins.has(target.origin)) return send(input, init);
    // A Request buffers its body, so the retry after a refresh can send it again.
    const request = new Request(
      input instanceof Request ? input : target,
      memory ? init : { ...init, credentials: "include" },
    );
    const unsafe = !SAFE.test(request.method);
    used = true;
    if (info === undefined && (memory || (unsafe && !csrf))) await session();
    if (info && expiresAt !== null && now() >= expiresAt) await refresh(generation);
    const attempt = () => {
      const copy = request.clone();
      if (memory && token) copy.headers.set("authorization", `Bearer ${token}`);
      if (!memory && unsafe && csrf) copy.headers.set("x-csrf-token", csrf);
      return send(copy);
    };
    const seen = generation;
    const response = await attempt();
    if (response.status !== 401) return response;
    if (info === undefined) await session();
    if (!info) return response;
    const [code, words] = await Promise.all([codeOf(response), messageOf(response)]);
    const ended = endedOf(response);
    if (memory ? code !== "invalid_token" : info.strategy !== "jwt" || code !== "unauthenticated") {
      // Under session and hybrid, the server renews by itself: a 401 is the session's end.
      if (!memory && code === "unauthenticated") end(code, true, false, words, ended);
      return response;
    }
    if (!(await refresh(seen, ended))) return response;
    const retried = await attempt();
    if (retried.status === 401 && info) {
      const [code, words] = await Promise.all([codeOf(retried), messageOf(retried)]);
      end(code || "unauthenticated", true, false, words, endedOf(retried));
    }
    return retried;
  }

  function hear(message: Message): void {
    if (closed || !message) return;
    const { reason } = message;
    if (reason === REFRESHED) {
      // A tab signed out here is not signed back in by another's late refresh.
      if (info === null) return;
      if (memory) token = message.token ?? null;
      expiresAt = message.expiresAt;
      lifetime = message.lifetime;
      if (info) info = { ...info, accessExpiresAt: expiresAt };
    } else if (reason === SIGNED_IN) {
      if (!memory) {
        // The new session's cookies are this tab's too; its CSRF token comes with /auth/me.
        generation++;
        info = undefined;
        csrf = null;
        loading = null;
        session().then(
          (loaded) => loaded && tell(SIGNED_IN, true),
          () => {},
        );
        return;
      }
      token = message.token ?? null;
      expiresAt = message.expiresAt;
      lifetime = message.lifetime;
      info = message.session;
    } else {
      if (info !== null) end(reason, true, true, message.message, message.ended);
      return;
    }
    generation++;
    schedule();
    tell(reason, true);
  }

  /** A sign-in's answer taken in: the token or CSRF token, the timer, the other tabs told. */
  function signedIn(answer: Answer): SessionInfo {
    token = answer.access_token ?? null;
    csrf = answer.csrfToken ?? null;
    expires(memory ? answer.expires_in : answer.accessExpiresIn);
    const signed = infoOf(answer);
    info = signed;
    used = false;
    generation++;
    schedule();
    tell(SIGNED_IN);
    return signed;
  }

  /** `POST /auth/reauthenticate` with `body`, through `fetch`: either mode's credentials, an expired access token refreshed first. */
  async function reauthenticate(body: Record<string, unknown>): Promise<Reauthentication> {
    const response = await apiFetch(`${root}/auth/reauthenticate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      // A passkey's challenge is in this browser's HttpOnly cookie, in either mode.
      ...("passkey" in body && { credentials: "include" as const }),
    });

    if (!response.ok) throw await errorOf(response, now());
    const answer = (await response.json()) as ReauthAnswer;
    const lifetime = memory ? answer.expires_in : answer.accessExpiresIn;
    // A new token (or access cookie) says the new auth_time: it is this tab's and the others'.
    if (lifetime !== undefined && info) {
      if (memory) token = answer.access_token ?? null;
      expires(lifetime);
      info = { ...info, accessExpiresAt: expiresAt };
      generation++;
      schedule();
      tell(REFRESHED);
    }
    return { authTime: answer.authTime, amr: answer.amr, recentUntil: now() + answer.reauthWindow * 1000 };
  }

  if (channel) channel.onmessage = (event) => hear(event.data as Message);

  return {
    async signIn(username, password, { remember } = {}) {
      const body = { username, password, remember, mode: memory ? "memory" : undefined };
      const response = await call("/auth/login", {}, body);
      if (!response.ok) throw await errorOf(response, now());
      if (response.status === 202) {
        // The password was right; the account's second factor comes next (`completeSignIn`).
        const { secondFactor } = (await response.json()) as { secondFactor: { methods: string[]; expiresIn: number } };
        throw new SecondFactorRequired(secondFactor.methods, secondFactor.expiresIn);
      }
      return signedIn((await response.json()) as Answer);
    },
    async completeSignIn(proof) {
      const response = await call("/auth/login/second-factor", {}, proofBody(proof));
      if (!response.ok) throw await errorOf(response, now());
      return signedIn((await response.json()) as Answer);
    },
    async passkeyOptions() {
      const response = await call("/auth/passkey/options", {});
      if (!response.ok) throw await errorOf(response, now());
      return ((await response.json()) as { options: Record<string, unknown> }).options;
    },
    async signInWithPasskey(answer, { remember } = {}) {
      const body = { response: answer, remember, mode: memory ? "memory" : undefined };
      const response = await call("/auth/login/passkey", {}, body);
      if (!response.ok) throw await errorOf(response, now());
      return signedIn((await response.json()) as Answer);
    },
    signOut: () => leave("/auth/logout", "signed_out"),
    signOutEverywhere: () => leave("/auth/logout-all", "signed_out_everywhere"),
    reauthenticate: (password, proof) => reauthenticate({ password, ...(proof && proofBody(proof)) }),
    reauthenticateWithPasskey: (answer) => reauthenticate({ passkey: answer }),
    fetch: apiFetch,
    session,
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    close() {
      closed = true;
      (cancel ?? clearTimeout)(timer);
      channel?.close();
    },
  };
}
