// What the soak's users saw: every request's route, status and time, kept as per-window
// counts and latencies (the 30 s report), per-minute throughput, and each 5xx, network
// error and unexpected refusal with its time, so the end can tell which fell inside a
// fault's window.

/** `/api/todos/3f…` → `/api/todos/:id`, so a route's latencies are one series. */
export function routeOf(method, path) {
  const bare = path.split("?")[0];
  const templated = bare
    .replace(/^\/api\/todos\/[^/]+$/, "/api/todos/:id")
    .replace(/^\/auth\/sessions\/[^/]+$/, "/auth/sessions/:id");
  return `${method} ${templated}`;
}

const percentile = (sorted, p) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

export class Recorder {
  constructor(windowMs) {
    this.windowMs = windowMs;
    this.start = Date.now();
    this.perMinute = [];
    /** Every 5xx and network error: { t0, t1, route, status, cause }. */
    this.failures = [];
    /**
     * 401s on a credential that should have been live: { t0, t1, route, issuedAt, code,
     * ended (the Latchkey-Session-Ended header), sessionId }.
     */
    this.refusals = [];
    this.total = 0;
    this.resetWindow();
  }

  resetWindow() {
    this.window = { routes: new Map(), count: 0, failures: 0, causes: {}, started: Date.now() };
  }

  /** One finished request. `status` 0 is a network error. */
  record(route, status, t0, t1, cause) {
    const ms = t1 - t0;
    let series = this.window.routes.get(route);
    if (!series) {
      series = { latencies: [], statuses: {} };
      this.window.routes.set(route, series);
    }
    series.latencies.push(ms);
    series.statuses[status] = (series.statuses[status] ?? 0) + 1;
    this.window.count += 1;
    this.total += 1;
    const minute = Math.floor((t1 - this.start) / 60_000);
    this.perMinute[minute] = (this.perMinute[minute] ?? 0) + 1;
    if (status === 0 || status >= 500) {
      this.window.failures += 1;
      const key = `${status || "network"} ${cause}`;
      this.window.causes[key] = (this.window.causes[key] ?? 0) + 1;
      this.failures.push({ t0, t1, route, status, cause });
    }
  }

  refused(route, t0, t1, issuedAt, why = {}) {
    this.refusals.push({ t0, t1, route, issuedAt, ...why });
  }

  /** The window's figures, then a new window. */
  closeWindow() {
    const seconds = (Date.now() - this.window.started) / 1000;
    const routes = {};
    for (const [route, series] of [...this.window.routes].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = series.latencies.sort((a, b) => a - b);
      routes[route] = {
        count: sorted.length,
        p50: Math.round(percentile(sorted, 50)),
        p99: Math.round(percentile(sorted, 99)),
        statuses: series.statuses,
      };
    }
    const figures = {
      atSeconds: Math.round((Date.now() - this.start) / 1000),
      requestsPerSecond: Math.round(this.window.count / seconds),
      failures: this.window.failures,
      failureCauses: this.window.causes,
      routes,
    };
    this.resetWindow();
    return figures;
  }
}
