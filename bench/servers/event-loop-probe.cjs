// Preloaded into a benchmarked server (NODE_OPTIONS=--require): on SIGUSR2, prints the
// event-loop delay percentiles since the last report (ms) and starts a new window.
const { monitorEventLoopDelay } = require("node:perf_hooks");

const histogram = monitorEventLoopDelay({ resolution: 5 });
histogram.enable();
process.on("SIGUSR2", () => {
  const ms = (ns) => Number((ns / 1e6).toFixed(2));
  process.stdout.write(
    `${JSON.stringify({ eventLoopDelay: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) } })}\n`,
  );
  histogram.reset();
});
