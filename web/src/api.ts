/**
 * The HTTP client of the web app. Credentials live only in cookies the browser manages
 * (HttpOnly: scripts never see the session, access or refresh token); the CSRF token is
 * kept in memory and read back from the readable csrf cookie after a reload. Nothing
 * auth-related goes to localStorage.
 *
 * Under the `jwt` strategy an expired access cookie is renewed transparently: the first
 * 401 takes a Web Lock shared by every tab of this origin, so two tabs never spend one
 * refresh token at once; a tab that waited for the lock finds fresh cookies and retries.
 */

export interface User {
  id: string;
  username: string;
  createdAt: string;
}

export interface Session {
  id: string;
  strategy: "session" | "jwt" | "hybrid" | "bearer";
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  idleExpiresAt: string;
  ip: string;
  userAgent: string;
  device: { browser: string; os: string; type: string };
  current: boolean;
}

export interface Todo {
  id: string;
  title: string;
  done: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface SecurityEvent {
  id: string;
  type: string;
  at: string;
  sessionId?: string;
  ip: string;
  userAgent: string;
}

export interface Policy {
  strategy: "session" | "jwt" | "hybrid";
  revocation: "immediate" | "expiry";
  accessTokenTtl: number;
  sessionIdleTimeout: number;
  sessionAbsoluteTimeout: number;
  rememberIdleTimeout: number;
  rememberAbsoluteTimeout: number;
  refreshReuseLeeway: number;
}

export interface Me {
  user: User;
  session: Session;
  csrfToken?: string;
}

/** An error answer of the API, with its stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let strategy: Policy["strategy"] = "session";

/** Told when the user turns out to be signed out (a 401 that renewal cannot fix). */
let onSignedOut: () => void = () => {};

export function configure(options: { strategy: Policy["strategy"]; onSignedOut: () => void }): void {
  strategy = options.strategy;
  onSignedOut = options.onSignedOut;
}

export function rememberCsrf(token: string | undefined | null): void {
  if (token) csrfToken = token;
}

function csrfFromCookie(): string | null {
  for (const part of document.cookie.split(";")) {
    const [name, value] = part.trim().split("=");
    if ((name === "__Host-csrf" || name === "csrf") && value) return decodeURIComponent(value);
  }
  return null;
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);
// Routes that never renew: they sign in or out, or are the renewal itself.
const NO_RENEW = ["/auth/login", "/auth/register", "/auth/refresh", "/auth/logout"];

/** Whether a 401 means "no valid credential" (renewable), not "wrong password". */
async function isUnauthenticated(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  const body = (await response
    .clone()
    .json()
    .catch(() => ({}))) as { error?: { code?: string } };
  return body.error?.code === "unauthenticated" || body.error?.code === "invalid_token";
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (UNSAFE.has(method)) {
    const token = csrfToken ?? csrfFromCookie();
    if (token) headers["x-csrf-token"] = token;
  }
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
}

/** Renews the access cookie once for every tab (jwt strategy). `true` when signed in. */
export async function renewAccess(): Promise<boolean> {
  const run = async () => {
    // Another tab may have refreshed while this one waited for the lock.
    const probe = await send("GET", "/auth/me");
    if (probe.ok) {
      rememberCsrf(((await probe.json()) as Me).csrfToken);
      return true;
    }
    const refreshed = await send("POST", "/auth/refresh");
    return refreshed.ok;
  };
  if ("locks" in navigator) return navigator.locks.request("latchkey-refresh", run);
  return run();
}

/**
 * Calls the API and returns its JSON (or `undefined` for 204); throws `ApiError`.
 *
 * @example
 * const { todos } = await api<{ todos: Todo[] }>("GET", "/api/todos");
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response = await send(method, path, body);
  if (!NO_RENEW.includes(path) && (await isUnauthenticated(response))) {
    if (strategy === "jwt" && (await renewAccess())) response = await send(method, path, body);
    if (await isUnauthenticated(response)) onSignedOut();
  }
  if (response.status === 204) return undefined as T;
  const data = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const error = (data.error ?? {}) as { code?: string; message?: string };
    const retry = response.headers.get("retry-after");
    throw new ApiError(
      response.status,
      error.code ?? "unknown",
      error.message ?? `The server answered ${response.status}.`,
      retry ? Number(retry) : null,
    );
  }
  if (typeof data.csrfToken === "string") rememberCsrf(data.csrfToken);
  return data as T;
}

/** Tells the other tabs of this origin that the user signed in or out. */
export const tabs = "BroadcastChannel" in window ? new BroadcastChannel("latchkey") : null;
