/**
 * Closing without waiting on keep-alive connections. Node's `server.close()` stops
 * accepting and closes the connections idle at that moment; a connection whose request is
 * in flight stays open after its answer, idle, until its keep-alive timeout (72 s by
 * default), and a stopping server waits on it. So, once the app starts closing, every
 * answer says `Connection: close` (the client does not reuse the connection, and Node ends
 * it after the answer), a connection that goes idle after an answer begun earlier (a
 * file still being sent) is closed at once, and a connection that never sent a request (a
 * browser's pre-connect) is closed when closing starts.
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { type IncomingMessage, type Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * Node publishes every answer's end here (a documented built-in channel, Node 16.17 on,
 * still marked experimental: test/cli/shutdown.test.ts would see it change).
 */
const RESPONSE_FINISH = "http.server.response.finish";

/** What `connectionDrain` returns. */
export interface ConnectionDrain {
  /** The response class for the server (`http.createServer`'s `ServerResponse` option). */
  ServerResponse: typeof ServerResponse;
  /**
   * Follows the server's connections from now on, to know those that have not sent a
   * request yet (a browser's pre-connect, a client that connected and went quiet). Node's
   * `closeIdleConnections` never closes those: a stopping server would wait on each until
   * its idle timeout.
   */
  watch(server: Server): void;
  /** From now on, answers close their connection, and connections left idle are closed. */
  start(server: Server): void;
}

/**
 * @example
 * const drain = connectionDrain();
 * const app = Fastify({ http: { ServerResponse: drain.ServerResponse } });
 * drain.watch(app.server);
 * app.addHook("preClose", async () => drain.start(app.server));
 */
export function connectionDrain(): ConnectionDrain {
  let closing = false;
  /** Connections that have not sent a whole request yet. */
  const unused = new Set<Socket>();
  class ClosingAwareResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
    override writeHead(statusCode: number, ...rest: unknown[]): this {
      if (closing) this.setHeader("connection", "close");
      return super.writeHead(statusCode, ...(rest as [string]));
    }
  }
  return {
    ServerResponse: ClosingAwareResponse,
    watch(server) {
      server.on("connection", (socket: Socket) => {
        if (closing) {
          socket.destroy();
          return;
        }
        unused.add(socket);
        socket.once("close", () => unused.delete(socket));
      });
      server.on("request", (request: IncomingMessage) => unused.delete(request.socket));
    },
    start(server) {
      if (closing) return;
      closing = true;
      // No request on them, none answered: nothing is lost by closing them now.
      for (const socket of unused) socket.destroy();
      unused.clear();
      const onFinish = (message: unknown) => {
        // After the answer Node hands the connection back (idle) in the same tick: close it next.
        if ((message as { server?: unknown }).server === server) setImmediate(() => server.closeIdleConnections());
      };
      subscribe(RESPONSE_FINISH, onFinish);
      server.once("close", () => unsubscribe(RESPONSE_FINISH, onFinish));
    },
  };
}
