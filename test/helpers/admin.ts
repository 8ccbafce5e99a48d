/**
 * What the admin API tests share: a core whose role model has a custom `support` role
 * (declared through `createAuth`'s `access`), users made with roles as an operator makes
 * them (the CLI's `AdminContext`), and two doors to latchkey's routes, the Fastify plugin
 * (`inject`) and the fetch adapter's dispatcher (`handle(Request)`), with a browser that
 * keeps cookies and the CSRF token.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { latchkey } from "../../packages/latchkey/src/adapters/fastify.js";
import { createFetchHandler, type FetchLatchkey } from "../../packages/latchkey/src/adapters/fetch.js";
import type { AdminContext } from "../../packages/latchkey/src/core/admin.js";
import type { Auth, AuthOptions } from "../../packages/latchkey/src/core/auth.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import type { Strategy } from "../../packages/latchkey/src/http/context.js";
import type { RouteSwitches } from "../../packages/latchkey/src/http/routes/spec.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { hostCore, ORIGIN, PASSWORD, username } from "./host-app.js";

export { ORIGIN, PASSWORD };

/** An operator on the machine (the CLI): needs no role. */
export const OPERATOR: AdminContext = { actor: null, ip: "", userAgent: "latchkey-cli" };

/** The app's own role: reads users and ends sessions, nothing else. */
export const ACCESS = { roles: { support: ["users:read", "sessions:revoke"] } } as const;

/** A core with the `support` role, over memory stores unless given others. */
export function adminCore(stores: Stores = createMemoryStores(), overrides: Partial<AuthOptions> = {}): Promise<Auth> {
  return hostCore(stores, { access: { roles: { support: [...ACCESS.roles.support] } }, ...overrides });
}

/** A new user with `roles` (set by an operator), and its id. */
export async function userWith(auth: Auth, stem: string, roles: string[] = ["user"]) {
  const user = await auth.accounts.register(username(stem), PASSWORD);
  if (roles.join() !== "user") await auth.admin.setRoles(user.id, roles, OPERATOR);
  return { id: user.id, username: user.username };
}

export interface Sent {
  method: string;
  path: string;
  body?: string;
  headers: Record<string, string>;
}
export interface Got {
  status: number;
  headers: Headers;
  text: string;
  /** The body, parsed: the tests read the fields they check. */
  // biome-ignore lint/suspicious/noExplicitAny: a test reads its answers field by field, as inject's json() lets it
  json(): any;
}
/** One way into latchkey's routes. */
export type Door = (request: Sent) => Promise<Got>;

function got(status: number, headers: Headers, text: string): Got {
  return { status, headers, text, json: () => JSON.parse(text) };
}

/** The Fastify plugin, through `inject`. */
export function fastifyDoor(app: FastifyInstance, ip = "192.0.2.7"): Door {
  return async ({ method, path, body, headers }) => {
    const response = await app.inject({
      method: method as "GET",
      url: path,
      headers,
      payload: body,
      remoteAddress: ip,
    });
    const out = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) out.append(name, String(one));
    }
    return got(response.statusCode, out, response.body);
  };
}

/** The fetch adapter: the framework-free dispatcher. A path it does not serve is a 404. */
export function fetchDoor(handler: FetchLatchkey, ip = "192.0.2.7"): Door {
  return async ({ method, path, body, headers }) => {
    const request = new Request(`${ORIGIN}${path}`, { method, headers, body });
    const response = (await handler.handle(request, { ip })) ?? new Response(null, { status: 404 });
    return got(response.status, response.headers, await response.text());
  };
}

/** Both doors over one core each, for `strategy`. */
export async function openDoors(
  strategy: Strategy,
  options: { auth?: () => Promise<Auth>; routes?: RouteSwitches } = {},
): Promise<{ name: "fastify" | "fetch"; auth: Auth; door: Door; close(): Promise<void> }[]> {
  const make = options.auth ?? (() => adminCore());
  const fastifyAuth = await make();
  const app = Fastify();
  const guestOptions = { publicOrigin: ORIGIN, strategy, maintenance: false as const, routes: options.routes };
  await app.register(latchkey, { auth: fastifyAuth, ...guestOptions });
  const fetchAuth = await make();
  const handler = createFetchHandler({ auth: fetchAuth, ...guestOptions });
  return [
    { name: "fastify", auth: fastifyAuth, door: fastifyDoor(app), close: () => app.close() },
    { name: "fetch", auth: fetchAuth, door: fetchDoor(handler), close: async () => handler.close() },
  ];
}

/** A browser (cookies, CSRF token) or an API client (`bearer`) at one door. */
export class Caller {
  readonly jar = new Map<string, string>();
  csrf = "";
  bearer = "";
  refreshToken = "";
  userAgent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0";

  constructor(readonly door: Door) {}

  async send(
    method: string,
    path: string,
    options: { json?: unknown; raw?: string; headers?: Record<string, string>; csrf?: boolean } = {},
  ): Promise<Got> {
    const headers: Record<string, string> = { origin: ORIGIN, "user-agent": this.userAgent, ...options.headers };
    const body = options.raw ?? (options.json === undefined ? undefined : JSON.stringify(options.json));
    if (body !== undefined) headers["content-type"] ??= "application/json";
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    else {
      if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
      if (this.csrf && method !== "GET" && options.csrf !== false) headers["x-csrf-token"] = this.csrf;
    }
    const answer = await this.door({ method, path, body, headers });
    for (const line of answer.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, ...value] = (pair as string).split("=");
      if (/Max-Age=0/i.test(line)) this.jar.delete(name as string);
      else this.jar.set(name as string, value.join("="));
    }
    return answer;
  }

  /** Logs in with the strategy's cookies; fails the test unless it works. */
  async login(name: string): Promise<this> {
    const answer = await this.send("POST", "/auth/login", { json: { username: name, password: PASSWORD } });
    if (answer.status !== 200) throw new Error(`login ${name}: ${answer.status} ${answer.text}`);
    this.csrf = answer.json().csrfToken;
    return this;
  }

  /** Gets bearer tokens (`POST /auth/token`); fails the test unless it works. */
  async token(name: string): Promise<this> {
    const answer = await this.send("POST", "/auth/token", { json: { username: name, password: PASSWORD } });
    if (answer.status !== 200) throw new Error(`token ${name}: ${answer.status} ${answer.text}`);
    this.bearer = answer.json().access_token;
    this.refreshToken = answer.json().refresh_token;
    return this;
  }
}

/** The error code of an answer, if it is an error. */
export function codeOf(answer: Got): string | undefined {
  try {
    return (JSON.parse(answer.text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}
