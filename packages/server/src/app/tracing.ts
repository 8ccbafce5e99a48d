/**
 * OpenTelemetry traces: a span per request, with the store calls and the password hash it
 * made as its children. Off unless the standard variables configure an exporter
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or
 * `OTEL_TRACES_EXPORTER=otlp`), and off whatever they say with `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`; then none of the OpenTelemetry SDK is loaded. The exporter
 * (OTLP over HTTP, JSON) reads its own variables: endpoint, headers, timeout, and the batch
 * processor's `OTEL_BSP_*`.
 *
 * What a span holds is chosen like the metrics' labels: the route pattern, the method, the
 * status, a store's port and method, never a path with an id, a user, an address or a
 * secret (test/cli/tracing.test.ts checks the exported spans for them).
 */
import type { FastifyInstance } from "fastify";
import type { AuthObserver } from "latchkey";

/** What `startTracing` sets up. */
export interface Tracing {
  /** Store calls and password hashes as children of the request's span. */
  observer: AuthObserver;
  /** A span per request, made the active one for the request's work. */
  instrument(app: FastifyInstance): void;
  /** Sends the spans still held, and stops. */
  shutdown(): Promise<void>;
}

/** Whether the environment asks for traces (the OpenTelemetry SDK's own variables). */
export function tracingConfigured(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === "none") return false;
  return Boolean(exporter === "otlp" || env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * @example
 * const tracing = tracingConfigured(process.env) ? await startTracing(process.env) : null;
 */
export async function startTracing(env: NodeJS.ProcessEnv): Promise<Tracing> {
  const [{ trace, context, SpanStatusCode, SpanKind }, { NodeTracerProvider, BatchSpanProcessor }, otlp, resources] =
    await Promise.all([
      import("@opentelemetry/api"),
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
    ]);
  const provider = new NodeTracerProvider({
    resource: resources.resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME?.trim() || "latchkey" }),
    spanProcessors: [new BatchSpanProcessor(new otlp.OTLPTraceExporter())],
  });
  // Registers the AsyncLocalStorage context manager: what runs for a request sees its span.
  provider.register();
  const tracer = provider.getTracer("latchkey");
  // A child that has ended: the observer is told after the work, with its duration.
  const child = (name: string, seconds: number, attributes: Record<string, string>, failed = false) => {
    const parent = context.active();
    if (!trace.getSpan(parent)) return;
    const end = Date.now();
    const span = tracer.startSpan(name, { startTime: end - seconds * 1000, attributes }, parent);
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(end);
  };
  const spans = new WeakMap<object, ReturnType<typeof tracer.startSpan>>();
  return {
    observer: {
      storeCall: (port, method, seconds, failed) =>
        child(
          `store ${port}.${method}`,
          seconds,
          { "latchkey.store.port": port, "latchkey.store.method": method },
          failed,
        ),
      passwordHashed: (operation, seconds) =>
        child(`password ${operation}`, seconds, { "latchkey.password.operation": operation }),
    },
    instrument(app) {
      app.addHook("onRequest", (request, _reply, done) => {
        const route = request.routeOptions.url ?? "unmatched";
        const span = tracer.startSpan(`${request.method} ${route}`, {
          kind: SpanKind.SERVER,
          attributes: { "http.request.method": request.method, "http.route": route },
        });
        spans.set(request, span);
        // What Fastify runs next for this request (its hooks, the handler, the store calls)
        // starts inside this call, and so runs with the span active.
        context.with(trace.setSpan(context.active(), span), done);
      });
      app.addHook("onResponse", (request, reply, done) => {
        const span = spans.get(request);
        if (span) {
          span.setAttribute("http.response.status_code", reply.statusCode);
          if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        }
        done();
      });
    },
    shutdown: () => provider.shutdown(),
  };
}
