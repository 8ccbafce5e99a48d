/**
 * A minimal browser over fetch for tests against real servers: a cookie jar, the Origin
 * of the site, and the CSRF token from the login response.
 */
export class HttpClient {
  readonly cookies = new Map<string, string>();
  csrf = "";

  constructor(readonly origin: string) {}

  async request(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        origin: this.origin,
        ...(body !== undefined && { "content-type": "application/json" }),
        ...(this.cookies.size > 0 && { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ") }),
        ...(this.csrf && method !== "GET" && { "x-csrf-token": this.csrf }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, ...value] = (pair as string).split("=");
      if (/Max-Age=0/i.test(line)) this.cookies.delete(name as string);
      else this.cookies.set(name as string, value.join("="));
    }
    return response;
  }

  async login(base: string, username: string, password: string, path = "/auth/login") {
    const response = await this.request(base, "POST", path, { username, password });
    if (response.ok) this.csrf = ((await response.clone().json()) as { csrfToken: string }).csrfToken;
    return response;
  }
}
