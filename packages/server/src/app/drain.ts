/**
 * Closing without waiting on keep-alive connections. Node's `server.close()` stops
 * accepting and closes the connections idle at that moment; a connection whose request is
 * in flight stays open after its answer, idle, until its keep-alive timeout (72 s by
 * default), and a stopping server waits on it. So, once the app starts closing, every
 * answer says `Connection: close` (the client does not reuse the connection, and Node ends
 * it after the answer), and a connection that goes idle after an answer begun earlier (a
 * file still being sent) is closed at once.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { type IncomingMessage, type Server, ServerResponse } from "node:http";

/**
 * Node publishes every answer's end here (a documented built-in channel, Node 16.17 on,
 * still marked experimental: test/cli/shutdown.test.ts would see it change).
 */
const RESPONSE_FINISH = "http.server.response.finish";

/** What `connectionDrain` returns. */
export interface ConnectionDrain {
  /** The response class for the server (`http.createServer`'s `ServerResponse` option). */
  ServerResponse: typeof ServerResponse;
  /** From now on, answers close their connection, and connections left idle are closed. */
  start(server: Server): void;
}

/**
 * @example
 * const drain = connectionDrain();
 * const app = Fastify({ http: { ServerResponse: drain.ServerResponse } });
 * app.addHook("preClose", async () => drain.start(app.server));
 */
export function connectionDrain(): ConnectionDrain {
  let closing = false;
  class ClosingAwareResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
    override writeHead(statusCode: number, ...rest: unknown[]): this {
      if (closing) this.setHeader("connection", "close");
      return super.writeHead(statusCode, ...(rest as [string]));
    }
  }
  return {
    ServerResponse: ClosingAwareResponse,
    start(server) {
      if (closing) return;
      closing = true;
      const onFinish = (message: unknown) => {
        // After the answer Node hands the connection back (idle) in the same tick: close it next.
        if ((message as { server?: unknown }).server === server) setImmediate(() => server.closeIdleConnections());
      };
      subscribe(RESPONSE_FINISH, onFinish);
      server.once("close", () => unsubscribe(RESPONSE_FINISH, onFinish));
    },
  };
}
