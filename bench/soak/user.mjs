// One simulated user of the soak: a browser with cookies and a bearer client, doing what
// people and API clients do, and keeping a ledger of what the server acknowledged:
// - every to-do write the server answered 2xx (checked at each list, and at the end
//   against the database and every instance);
// - every credential that must be dead (a logged-out browser, all of a user's sessions
//   after logout-all or a password change, a bearer session ended by a replayed refresh
//   token), checked against every instance.
// A request that fails (5xx, a broken connection) makes what it did uncertain: the ledger
// accepts either outcome for that write, and the user signs in afresh.
import { routeOf } from "./recorder.mjs";

const pick = (items) => items[Math.floor(Math.random() * items.length)];

/** The cookies a browser keeps for the origin (names and values only; attributes are not needed). */
export class Jar {
  constructor() {
    this.cookies = new Map();
  }
  update(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }
}

/** The `sid` claim of an access JWT (its session), read without verifying. */
function sessionOf(jwt) {
  try {
    return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString()).sid ?? null;
  } catch {
    return null;
  }
}

/**
 * Thrown to abandon the current step: the request failed (5xx, a broken connection), or
 * was refused or answered unexpectedly (`signInAgain`: the user's browser is dropped).
 */
class Broken extends Error {
  constructor(message, { signInAgain = false, ...options } = {}) {
    super(message, options);
    this.signInAgain = signInAgain;
  }
}

export class User {
  /**
   * @param ctx {origin, recorder, ledger (the run's shared dead-credential list), options
   *   {strategy, steady, todos, replayAfterMs}, faults (to stamp when a credential was issued)}
   */
  constructor(ctx, index) {
    this.ctx = ctx;
    this.name = `soak${index.toString().padStart(4, "0")}`;
    this.passwords = [`correct horse battery ${index}`, `staple battery horse ${index}`];
    this.password = 0;
    this.passwordUncertain = false;
    this.address = `198.18.${index >> 8}.${index & 255}`;
    this.seq = 0;
    /** id → { title, done, uncertain, maybeDeleted }: what the server acknowledged. */
    this.todos = new Map();
    /** Ids the server acknowledged deleting: they must stay gone. */
    this.deleted = new Set();
    /** Titles of creates whose answer never came: each may or may not exist. */
    this.uncertainCreates = new Set();
    this.browser = null;
    this.bearer = null;
    /** Wrong answers (a lost or changed to-do seen during the run), with details. */
    this.wrong = [];
    this.unexpected = [];
    /**
     * When each successful browser login was answered (to find when everyone is back after
     * a fault: the herd's last login may wait in the hashing queue).
     */
    this.signedIn = [];
    /**
     * Each run of 5xx or unanswered requests: when its first was sent, and when this user
     * was next answered below 500 (to find when everyone is served again after a fault).
     */
    this.outages = [];
  }

  // --- HTTP ---

  #outage(t0) {
    const last = this.outages.at(-1);
    if (!last || last.servedAt !== undefined) this.outages.push({ failedAt: t0 });
  }

  async call(method, path, { body, jar, bearer, csrf, base } = {}) {
    const headers = { origin: this.ctx.origin, "x-forwarded-for": this.address };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (jar) headers.cookie = jar.header();
    if (csrf) headers["x-csrf-token"] = csrf;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const route = routeOf(method, path);
    const t0 = Date.now();
    let response;
    let text = "";
    try {
      response = await fetch(`${base ?? this.ctx.origin}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: "manual",
        signal: AbortSignal.timeout(60_000),
      });
      text = await response.text();
    } catch (error) {
      this.ctx.recorder.record(route, 0, t0, Date.now(), error.cause?.code ?? error.name);
      this.#outage(t0);
      throw new Broken(`${route}: ${error.message}`, { cause: { waitMs: 1000 } });
    }
    const t1 = Date.now();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {}
    // A 503 is a store that cannot be reached, or a full password-hashing queue ("busy").
    const busy = /busy/i.test(json?.error?.message ?? "") ? " (busy)" : "";
    const cause = response.status >= 500 ? (json?.error?.code ? json.error.code + busy : "from nginx") : undefined;
    this.ctx.recorder.record(route, response.status, t0, t1, cause);
    if (response.status >= 500) this.#outage(t0);
    else {
      const last = this.outages.at(-1);
      if (last && last.servedAt === undefined) last.servedAt = t1;
    }
    if (jar) jar.update(response);
    if (response.status >= 500) {
      // As a well-behaved client does: wait what Retry-After asks (at most 5 s), or a second.
      const wait = Math.min(5, Number(response.headers.get("retry-after")) || 1);
      throw new Broken(`${route}: ${response.status}`, { cause: { waitMs: wait * 1000 } });
    }
    return { status: response.status, json, response, route, t0, t1 };
  }

  /** A 401 on a credential the user believes live: recorded, and the step abandoned. */
  refused(result, issuedAt, sessionId = this.browser?.sessionId, kind = "cookie") {
    const why = {
      kind,
      code: result.json?.error?.code ?? null,
      ended: result.response?.headers.get("latchkey-session-ended") ?? null,
      sessionId: sessionId ?? null,
    };
    this.ctx.recorder.refused(result.route, result.t0, result.t1, issuedAt, why);
    throw new Broken(`${result.route}: 401 on a live credential`, { signInAgain: true });
  }

  unexpectedAnswer(result, expected) {
    if (this.unexpected.length < 20) {
      this.unexpected.push({ route: result.route, status: result.status, expected, body: result.json });
    }
    this.ctx.unexpected.count += 1;
    throw new Broken(`${result.route}: ${result.status}, expected ${expected}`, { signInAgain: true });
  }

  // --- signing in ---

  async register() {
    const body = { username: this.name, password: this.passwords[0] };
    const result = await this.call("POST", "/auth/register", { body });
    if (result.status !== 201) this.unexpectedAnswer(result, 201);
  }

  /** A password login for `jar` (a browser), trying the other password when a change's outcome is unknown. */
  async login(jar) {
    const order = this.passwordUncertain ? [this.password, 1 - this.password] : [this.password];
    for (const p of order) {
      const issuedAt = Date.now();
      const body = { username: this.name, password: this.passwords[p] };
      const result = await this.call("POST", "/auth/login", { body, jar });
      if (result.status === 200) {
        this.signedIn.push(result.t1);
        this.password = p;
        this.passwordUncertain = false;
        return { jar, csrf: result.json.csrfToken, sessionId: result.json.session.id, issuedAt };
      }
      if (result.status !== 401) this.unexpectedAnswer(result, 200);
    }
    this.unexpectedAnswer({ route: "POST /auth/login", status: 401, json: null }, "200 with either password");
  }

  async token() {
    const issuedAt = Date.now();
    const body = { username: this.name, password: this.passwords[this.password] };
    const result = await this.call("POST", "/auth/token", { body });
    if (result.status !== 200) this.unexpectedAnswer(result, 200);
    const { access_token: access, refresh_token: refresh } = result.json;
    return { access, refresh, sessionId: sessionOf(access), issuedAt, rotated: [] };
  }

  /** Signs in afresh after a failure: a new browser session and no bearer client. */
  async recover() {
    this.browser = await this.login(new Jar());
    this.bearer = null;
  }

  // --- the ledger ---

  /** The credentials of a browser that must now be refused everywhere. */
  browserDead(browser) {
    this.ctx.dead.push({ kind: "cookie", cookie: browser.jar.header(), sessionId: browser.sessionId, user: this.name });
  }

  bearerDead(bearer) {
    this.ctx.dead.push({ kind: "bearer", token: bearer.access, sessionId: bearer.sessionId, user: this.name });
    this.ctx.dead.push({ kind: "refresh", token: bearer.refresh, sessionId: bearer.sessionId, user: this.name });
  }

  /** Compares a list the server gave with the ledger; a difference is a lost or wrong write. */
  checkList(todos, where) {
    const seen = new Map(todos.map((t) => [t.id, t]));
    for (const [id, expected] of this.todos) {
      const actual = seen.get(id);
      if (!actual) {
        if (!expected.maybeDeleted) this.wrong.push({ where, id, problem: "lost", expected });
      } else if (!expected.uncertain && (actual.title !== expected.title || actual.done !== expected.done)) {
        this.wrong.push({ where, id, problem: "changed", expected, actual });
      }
    }
    for (const todo of todos) {
      if (this.deleted.has(todo.id)) this.wrong.push({ where, id: todo.id, problem: "deleted but present" });
      else if (!this.todos.has(todo.id) && !this.uncertainCreates.has(todo.title)) {
        this.wrong.push({ where, id: todo.id, problem: "never acknowledged", actual: todo });
      }
    }
  }

  /** Adopts what the server shows for writes whose outcome was unknown, so later checks are exact again. */
  settle(todos) {
    const seen = new Map(todos.map((t) => [t.id, t]));
    for (const [id, expected] of this.todos) {
      if (!expected.uncertain && !expected.maybeDeleted) continue;
      const actual = seen.get(id);
      if (actual) this.todos.set(id, { title: actual.title, done: actual.done });
      else {
        this.todos.delete(id);
        this.deleted.add(id);
      }
    }
    for (const todo of todos) {
      if (!this.todos.has(todo.id) && this.uncertainCreates.delete(todo.title)) {
        this.todos.set(todo.id, { title: todo.title, done: todo.done });
      }
    }
  }

  // --- what a user does ---

  async step() {
    if (!this.browser) await this.recover();
    const r = Math.random() * 100;
    if (r < 25) return this.me();
    if (r < 40) return this.listTodos();
    if (r < 68) return this.writeTodo();
    if (r < 88) return this.bearerCall();
    if (r < 93) return this.sessions();
    if (r < 97) return this.logout();
    if (r < 99) return this.logoutAll();
    return this.changePassword();
  }

  async me() {
    const result = await this.call("GET", "/auth/me", { jar: this.browser.jar });
    if (result.status === 401) this.refused(result, this.browser.issuedAt);
    if (result.status !== 200) this.unexpectedAnswer(result, 200);
  }

  async listTodos() {
    const result = await this.call("GET", "/api/todos", { jar: this.browser.jar });
    if (result.status === 401) this.refused(result, this.browser.issuedAt);
    if (result.status !== 200) this.unexpectedAnswer(result, 200);
    this.checkList(result.json.todos, "list");
    this.settle(result.json.todos);
  }

  async writeTodo() {
    const { steady, todos: target } = this.ctx.options;
    const known = [...this.todos].filter(([, t]) => !t.uncertain && !t.maybeDeleted);
    const size = this.todos.size;
    let action;
    if (steady)
      action = size < target ? "create" : size > target ? "delete" : Math.random() < 0.6 ? "update" : "delete";
    else action = Math.random() < 0.7 || known.length === 0 ? "create" : "update";
    if (action !== "create" && known.length === 0) action = "create";
    const write = { jar: this.browser.jar, csrf: this.browser.csrf };

    if (action === "create") {
      const title = `${this.name}-${++this.seq}`;
      const result = await this.todoWrite("POST", "/api/todos", { ...write, body: { title } }, 201, () =>
        this.uncertainCreates.add(title),
      );
      this.todos.set(result.json.todo.id, { title, done: false });
      return;
    }
    const [id, todo] = pick(known);
    const path = `/api/todos/${encodeURIComponent(id)}`;
    const lost = () => this.wrong.push({ where: action, id, problem: "lost", expected: todo });
    if (action === "update") {
      const patch =
        Math.random() < 0.5 ? { done: !todo.done } : { title: `${this.name}-${++this.seq}`, done: !todo.done };
      const unknown = () => this.todos.set(id, { ...todo, uncertain: true });
      await this.todoWrite("PATCH", path, { ...write, body: patch }, 200, unknown, lost);
      this.todos.set(id, { title: patch.title ?? todo.title, done: patch.done });
      return;
    }
    await this.todoWrite("DELETE", path, write, 204, () => this.todos.set(id, { ...todo, maybeDeleted: true }), lost);
    this.todos.delete(id);
    this.deleted.add(id);
  }

  /**
   * One to-do write by the browser. `unknown` marks the ledger when no answer came (the
   * write may or may not have happened); `lost` records a 404 for a to-do the ledger holds.
   */
  async todoWrite(method, path, options, expected, unknown, lost) {
    let result;
    try {
      result = await this.call(method, path, options);
    } catch (error) {
      unknown();
      throw error;
    }
    if (result.status === 401) this.refused(result, this.browser.issuedAt);
    if (result.status === 404) lost?.();
    if (result.status !== expected) this.unexpectedAnswer(result, expected);
    return result;
  }

  /** An API client: calls with its access token, rotates its refresh token, and now and then replays an old one. */
  async bearerCall() {
    if (!this.bearer) this.bearer = await this.token();
    const bearer = this.bearer;
    const r = Math.random();
    const stale = bearer.rotated.find((old) => Date.now() - old.at > this.ctx.options.replayAfterMs);
    if (r < 0.03 && stale) {
      // A stolen, already rotated token comes back: theft, so the whole session ends.
      const result = await this.call("POST", "/auth/refresh", { body: { refresh_token: stale.token } });
      if (result.status !== 401 || result.json?.error?.code !== "invalid_grant") this.unexpectedAnswer(result, 401);
      this.bearerDead(bearer);
      this.bearer = null;
      return;
    }
    if (r < 0.3) {
      const result = await this.call("POST", "/auth/refresh", { body: { refresh_token: bearer.refresh } }).catch(
        (error) => {
          this.bearer = null; // the rotation's outcome is unknown: start a new client
          throw error;
        },
      );
      if (result.status === 401) {
        this.bearer = null;
        this.refused(result, bearer.issuedAt, bearer.sessionId, "bearer");
      }
      if (result.status !== 200) this.unexpectedAnswer(result, 200);
      bearer.rotated.push({ token: bearer.refresh, at: Date.now() });
      if (bearer.rotated.length > 4) bearer.rotated.shift();
      bearer.access = result.json.access_token;
      bearer.refresh = result.json.refresh_token;
    }
    const result = await this.call("GET", "/api/todos", { bearer: bearer.access });
    if (result.status === 401) {
      this.bearer = null;
      this.refused(result, bearer.issuedAt, bearer.sessionId, "bearer");
    }
    if (result.status !== 200) this.unexpectedAnswer(result, 200);
    this.checkList(result.json.todos, "bearer list");
    this.settle(result.json.todos);
  }

  async sessions() {
    const result = await this.call("GET", "/auth/sessions", { jar: this.browser.jar });
    if (result.status === 401) this.refused(result, this.browser.issuedAt);
    if (result.status !== 200) this.unexpectedAnswer(result, 200);
  }

  async logout() {
    const browser = this.browser;
    this.browser = null;
    const before = new Jar();
    before.cookies = new Map(browser.jar.cookies);
    const result = await this.call("POST", "/auth/logout", { jar: browser.jar, csrf: browser.csrf });
    if (result.status !== 204) this.unexpectedAnswer(result, 204);
    this.browserDead({ ...browser, jar: before });
    this.browser = await this.login(new Jar());
  }

  /** Signs in on a second browser and ends every session from there. */
  async logoutAll() {
    const second = await this.login(new Jar());
    const ended = [this.browser, second];
    const bearer = this.bearer;
    this.browser = null;
    this.bearer = null;
    const result = await this.call("POST", "/auth/logout-all", { jar: second.jar, csrf: second.csrf });
    if (result.status === 401) this.refused(result, second.issuedAt, second.sessionId);
    if (result.status !== 204) this.unexpectedAnswer(result, 204);
    for (const browser of ended) this.browserDead(browser);
    if (bearer) this.bearerDead(bearer);
    this.browser = await this.login(new Jar());
  }

  /** Changes the password: every other session ends, and this browser's old session cookie with it. */
  async changePassword() {
    const browser = this.browser;
    const bearer = this.bearer;
    this.bearer = null;
    const oldSid = browser.jar.cookies.get("__Host-sid");
    const next = 1 - this.password;
    const body = { currentPassword: this.passwords[this.password], newPassword: this.passwords[next] };
    let result;
    try {
      result = await this.call("POST", "/auth/password", { jar: browser.jar, csrf: browser.csrf, body });
    } catch (error) {
      this.passwordUncertain = true;
      this.browser = null;
      throw error;
    }
    if (result.status === 401) this.refused(result, browser.issuedAt, browser.sessionId);
    if (result.status !== 204) this.unexpectedAnswer(result, 204);
    this.password = next;
    if (bearer) this.bearerDead(bearer);
    if (oldSid) {
      this.ctx.dead.push({ kind: "cookie", cookie: `__Host-sid=${oldSid}`, sessionId: null, user: this.name });
    }
  }
}

export { Broken };
