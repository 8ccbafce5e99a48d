/**
 * Each request's logger, made when the request first logs. Fastify gives every request a
 * pino child bound to its request id; making one costs more than some whole handlers
 * (measured with --cpu-prof on `GET /auth/me`), and at `LOG_LEVEL=warn` almost no request
 * logs anything. This stand-in answers the level checks from its parent and makes the
 * real child, with the same bindings, the first time a line is written at an enabled
 * level, so a line's `reqId` is exactly what it was.
 */
import type { FastifyBaseLogger, FastifyServerOptions } from "fastify";
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from "pino";

type Level = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

/** A logger that answers level checks, as pino's loggers and their children do. */
type LevelAware = FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

const isLevelAware = (logger: FastifyBaseLogger): logger is LevelAware =>
  typeof (logger as Partial<LevelAware>).isLevelEnabled === "function";

class LazyChildLogger implements FastifyBaseLogger {
  readonly #parent: LevelAware;
  readonly #bindings: Bindings;
  #child: LevelAware | undefined;

  constructor(parent: LevelAware, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #real(): LevelAware {
    this.#child ??= this.#parent.child(this.#bindings) as LevelAware;
    return this.#child;
  }

  #write(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    (this.#real()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): LevelWithSilentOrString {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#real().level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level);
  }

  // Methods on the prototype: a request makes one small object, no closures.
  fatal(...args: unknown[]): void {
    this.#write("fatal", args);
  }
  error(...args: unknown[]): void {
    this.#write("error", args);
  }
  warn(...args: unknown[]): void {
    this.#write("warn", args);
  }
  info(...args: unknown[]): void {
    this.#write("info", args);
  }
  debug(...args: unknown[]): void {
    this.#write("debug", args);
  }
  trace(...args: unknown[]): void {
    this.#write("trace", args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options);
  }
}

/**
 * Fastify's `childLoggerFactory`: a lazy child, unless the route changes the level or the
 * serializers (then the child is not the parent's to answer for, and is made at once).
 *
 * @example
 * Fastify({ logger: loggerOptions("warn"), childLoggerFactory: lazyChildLogger });
 */
export const lazyChildLogger: NonNullable<FastifyServerOptions["childLoggerFactory"]> = (logger, bindings, options) => {
  if (options.level !== undefined || options.serializers !== undefined || !isLevelAware(logger)) {
    return logger.child(bindings, options);
  }
  return new LazyChildLogger(logger, bindings);
};
