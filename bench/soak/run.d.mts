// Types of bench/soak/run.mjs for the TypeScript test that runs the short soak.
export interface SoakOptions {
  combination: "postgres-redis" | "postgres" | "sqlite-redis";
  seconds: number;
  users: number;
  windowSeconds: number;
  steady: boolean;
  todos: number;
  strategy: "session" | "jwt" | "hybrid";
  faults: boolean;
  oldSpaceMb: number;
  thinkMs: number;
  /** ACCESS_TOKEN_TTL in seconds (default 120). */
  accessTtl?: number;
  /** EVENT_RETENTION of every instance (default `3min`). */
  eventRetention?: string;
  log?: (line: string) => void;
}

export interface SoakWindow {
  kind: string;
  start: number;
  recovered: number;
  end: number;
}

export interface SoakSample {
  atSeconds: number;
  requestsPerSecond: number;
  failures: number;
  routes: Record<string, { count: number; p50: number; p99: number; statuses: Record<string, number> }>;
  instances: ({ rssMb: number; heapUsedMb: number; loopP99: number; upSeconds: number; startedAt: number } | null)[];
  tables: Record<string, { tableBytes: number; indexBytes: number }> | null;
  redis: { usedMemory: number; keys: number; bytes: Record<string, number> } | null;
  /** SQLite only: the write-ahead log's bytes. */
  walBytes: number | null;
  /** The security log's rows. */
  events: number | null;
  deadSoFar: number;
}

export interface SoakReport {
  combination: string;
  name: string;
  durationSeconds: number;
  samples: SoakSample[];
  /** When the load started (ms since the epoch): `windows` and refusals are relative to it. */
  startedAt: number;
  windows: SoakWindow[];
  errors: string[];
  crashes: { instance: number; code: number | null; signal: string | null; tail: string }[];
  /** A service following the feed: every ended access token presented to its verifier. */
  service: {
    presented: number;
    refusedWithin1s: number;
    refusedLater: number;
    missed: number;
    unconfirmed: number;
    missedDetails: { sessionId: string; ageMs: number }[];
  };
  summary: {
    requests: number;
    perMinute: number[];
    acknowledgedTodos: number;
    todosPerUser: number;
    endedCredentials: number;
    endedSessions: number;
    lost: number;
    revived: number;
    failuresInWindows: Record<string, number>;
    failuresOutsideWindows: Record<string, number>;
    refusedLiveExpected: number;
    refusedLiveUnexpected: number;
    unexpectedAnswers: number;
    loadGeneratorErrors: number;
    [detail: string]: unknown;
  };
}

export const COMBINATIONS: Record<
  SoakOptions["combination"],
  { name: string; postgres: boolean; redis: boolean; instances: number }
>;
export function runSoak(options: SoakOptions): Promise<SoakReport>;
