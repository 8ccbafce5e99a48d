// The soak's targets, read off a report. Correctness holds for a run of any length;
// the steady-state targets (throughput, heap, Redis memory) need a long run and are only
// judged from 10 minutes on.

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)];
};

/** "Flat within noise": the median of the later half is within 10% (and 1 MB) of the earlier half's. */
export function flatness(points) {
  if (points.length < 4) return { flat: null, first: null, second: null };
  const half = Math.floor(points.length / 2);
  const first = median(points.slice(0, half));
  const second = median(points.slice(half));
  return { flat: second <= first * 1.1 + 1, first: +first.toFixed(2), second: +second.toFixed(2) };
}

/** EVENT_RETENTION's value in seconds (`3min`, `36h`, `90d`, `90`: days; as the server reads it); 0 when unknown. */
function retentionSeconds(value) {
  const match = /^(\d+)(d|h|min)?$/.exec(String(value ?? ""));
  if (!match) return 0;
  return Number(match[1]) * { d: 86_400, h: 3600, min: 60 }[match[2] ?? "d"];
}

/** Each check: { name, ok (true, false, or null when not judged), figure }. */
export function judge(report, { warmUpSeconds = 120 } = {}) {
  const s = report.summary;
  const checks = [
    { name: "acknowledged to-dos lost or wrong", ok: s.lost === 0, figure: s.lost },
    {
      name: "ended sessions accepted (revived)",
      ok: s.revived === 0,
      figure: `${s.revived} of ${s.endedSessions} sessions (${s.endedCredentials} credentials)`,
    },
    {
      name: "5xx outside a fault's window",
      ok: Object.keys(s.failuresOutsideWindows).length === 0,
      figure: Object.values(s.failuresOutsideWindows).reduce((a, b) => a + b, 0),
    },
    {
      name: "live sessions refused outside a Redis restart",
      ok: s.refusedLiveUnexpected === 0,
      figure: s.refusedLiveUnexpected,
    },
    { name: "answers other than the contract's", ok: s.unexpectedAnswers === 0, figure: s.unexpectedAnswers },
    {
      name: "ended access tokens a service following the feed still accepted 5 s on (missed)",
      ok: report.service ? report.service.missed === 0 : null,
      figure: report.service
        ? `${report.service.missed} of ${report.service.presented} (refused at the first check, 1 s after its end: ${report.service.refusedWithin1s}; later: ${report.service.refusedLater}; unconfirmed in a fault: ${report.service.unconfirmed})`
        : "no service in this run",
    },
    {
      name: "instances that crashed (out of memory, say)",
      ok: report.crashes.length === 0,
      figure: report.crashes.length,
    },
  ];
  const long = report.durationSeconds >= 600;
  const minutes = s.perMinute;
  const lastFull = Math.floor(report.durationSeconds / 60) - 1;
  const ratio = long ? minutes[lastFull] / minutes[1] : null;
  checks.push({
    name: "last minute's throughput / second minute's (>= 0.9)",
    ok: long ? ratio >= 0.9 : null,
    figure: long ? `${minutes[lastFull]} / ${minutes[1]} = ${ratio.toFixed(3)}` : "not judged under 10 min",
  });
  const steady = report.samples.filter((f) => f.atSeconds >= warmUpSeconds);
  report.instanceCount = report.samples[0]?.instances.length ?? 0;
  for (let i = 0; i < report.instanceCount; i++) {
    // An instance's own series, from a minute after its last start (a killed one restarts).
    const series = steady.map((f) => f.instances[i]).filter((x) => x);
    const lastStart = series.at(-1)?.startedAt;
    const since = series.filter((x) => x.startedAt === lastStart && x.upSeconds >= 60);
    const f = flatness(since.map((x) => x.heapUsedMb));
    checks.push({
      name: `instance ${i} heap used flat (MB, medians of halves)`,
      ok: long ? f.flat : null,
      figure: `${f.first} → ${f.second}`,
    });
    // What the RSS holds beyond V8's heap (as reserved): the binary, libraries, malloc's
    // arenas (SQLite's page cache, argon2's 19 MiB blocks). A native leak grows it; V8
    // sizing its heap up after a start grows the RSS but not this.
    const native = since.filter((x) => typeof x.heapTotalMb === "number").map((x) => x.rssMb - x.heapTotalMb);
    if (native.length > 0) {
      const n = flatness(native);
      checks.push({
        name: `instance ${i} memory outside V8's heap flat (RSS − heap total, MB, medians of halves)`,
        ok: long ? n.flat : null,
        figure: `${n.first} → ${n.second}`,
      });
    }
  }
  const wal = steady.filter((f) => typeof f.walBytes === "number").map((f) => f.walBytes / (1024 * 1024));
  if (wal.length > 0) {
    // journal_size_limit: each checkpoint that starts the log over cuts it back to 4 MiB,
    // so under steady writes it stays near that, whatever the run's length.
    const f = flatness(wal);
    checks.push({
      name: "SQLite write-ahead log flat and at most 8 MB (MB, medians of halves; largest)",
      ok: long ? f.flat && Math.max(...wal) <= 8 : null,
      figure: `${f.first} → ${f.second}; ${Math.max(...wal).toFixed(1)}`,
    });
  }
  // Every login, logout and refused sign-in is an event, kept EVENT_RETENTION (the soak
  // keeps 3 minutes): a retention and a sweep (a minute) after the start, the log holds
  // one retention's events, and each sweep deletes about what a minute adds.
  const plateau = retentionSeconds(report.options?.eventRetention) + 60;
  const events = report.samples
    .filter((f) => f.atSeconds >= Math.max(warmUpSeconds, plateau) && typeof f.events === "number")
    .map((f) => f.events);
  if (events.length >= 4) {
    // A sawtooth (up a minute's events between sweeps, down at each), which samples every
    // 30 s catch at either end: the halves' highest, not their medians, say whether it grows.
    const half = Math.floor(events.length / 2);
    const [first, second] = [Math.max(...events.slice(0, half)), Math.max(...events.slice(half))];
    checks.push({
      name: `security log rows flat (kept ${report.options?.eventRetention ?? "EVENT_RETENTION"}; largest of each half)`,
      ok: long ? second <= first * 1.1 : null,
      figure: `${first} → ${second}`,
    });
  }
  if (report.samples.some((f) => f.redis)) {
    const restart = report.windows.find((w) => w.kind.startsWith("Redis"));
    const before = steady.filter((f) => f.redis && (!restart || f.atSeconds * 1000 < restart.start));
    const memory = flatness(before.map((f) => f.redis.usedMemory / (1024 * 1024)));
    const keys = flatness(before.map((f) => f.redis.keys));
    checks.push({
      name: "Redis used_memory flat before its restart (MB)",
      ok: long ? memory.flat : null,
      figure: `${memory.first} → ${memory.second}`,
    });
    checks.push({
      name: "Redis keys flat before its restart",
      ok: long ? keys.flat : null,
      figure: `${keys.first} → ${keys.second}`,
    });
  }
  return checks;
}
