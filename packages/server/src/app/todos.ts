/**
 * The to-do API: the resource the demo app protects. Written as a library user would
 * write it, against the plugin's public surface only: `fastify.requireAuth`,
 * `fastify.requirePermission` and `request.auth`. Each user reaches only their own
 * to-dos; the app's own permission, `todos:read-any`, shows how many each user has, never
 * what they are.
 */
import type {} from "@fastify/swagger";
import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AuthError, errorResponses, uuidv7 } from "latchkey";
import { isoTime, SECURITY } from "latchkey/internal";
import { TODOS_READ_ANY } from "./auth-options.js";
import type { TodoRecord, TodoStore } from "./todo-store.js";

const Todo = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    done: Type.Boolean(),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  {
    $id: "Todo",
    examples: [
      {
        id: "0195a0b2-7c1e-7000-8000-00000000000a",
        title: "buy milk",
        done: false,
        createdAt: "2026-03-01T12:00:00.000Z",
        updatedAt: "2026-03-01T12:00:00.000Z",
      },
    ],
  },
);
type Todo = Static<typeof Todo>;

const Title = Type.String({ minLength: 1, maxLength: 500 });
const CreateBody = Type.Object({ title: Title }, { additionalProperties: false, examples: [{ title: "buy milk" }] });
const PatchBody = Type.Object(
  { title: Type.Optional(Title), done: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, examples: [{ done: true }] },
);
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
/** The most users `GET /api/todos/stats` lists. */
export const TODO_STATS_MAX = 100;
const TodoStats = Type.Object(
  {
    users: Type.Array(
      Type.Object({
        id: Type.String(),
        username: Type.String(),
        count: Type.Integer({ minimum: 1, description: "How many to-dos the user has." }),
      }),
      { maxItems: TODO_STATS_MAX },
    ),
  },
  {
    examples: [{ users: [{ id: "0195a0b2-7c1e-7000-8000-000000000001", username: "alice", count: 3 }] }],
  },
);
const TodoRef = Type.Unsafe<Todo>({ $ref: "Todo#" });

function todoView(todo: TodoRecord): Todo {
  return {
    id: todo.id,
    title: todo.title,
    done: todo.done,
    // Memoised: a list shows the same times on every request.
    createdAt: isoTime(todo.createdAt),
    updatedAt: isoTime(todo.updatedAt),
  };
}

function userId(request: FastifyRequest): string {
  if (!request.auth) throw new AuthError("unauthenticated", "Sign in to continue.");
  return request.auth.userId;
}

const notFound = () => new AuthError("not_found", "No such to-do.");

/**
 * @example
 * await app.register(todoRoutes, { todos: stores.todos, now: () => Date.now() });
 */
export async function todoRoutes(
  fastify: FastifyInstance,
  options: { todos: TodoStore; now: () => number },
): Promise<void> {
  const { todos, now } = options;
  fastify.addSchema(Todo);
  const tags = ["todos"];
  // Each route names its check: the caller's own to-dos need a credential, the counts
  // need the permission too (one authentication either way).
  const preHandler = fastify.requireAuth;

  fastify.get(
    "/api/todos",
    {
      preHandler,
      schema: {
        tags,
        summary: "The caller's to-dos, oldest first",
        operationId: "listTodos",
        description: "The caller's to-dos, oldest first. Any credential of the strategy in force, or a bearer token.",
        security: SECURITY.caller,
        response: { 200: Type.Object({ todos: Type.Array(TodoRef) }), ...errorResponses(401) },
      },
    },
    async (request) => ({ todos: (await todos.list(userId(request))).map(todoView) }),
  );

  fastify.post<{ Body: Static<typeof CreateBody> }>(
    "/api/todos",
    {
      preHandler,
      schema: {
        tags,
        summary: "Add a to-do",
        operationId: "createTodo",
        description: "Adds a to-do to the caller's list (a cookie caller sends the CSRF header).",
        security: SECURITY.callerUnsafe,
        body: CreateBody,
        response: { 201: Type.Object({ todo: TodoRef }), ...errorResponses(400, 401, 403, 413, 415) },
      },
    },
    async (request, reply) => {
      const at = now();
      const todo: TodoRecord = {
        id: uuidv7(at),
        userId: userId(request),
        title: request.body.title,
        done: false,
        createdAt: at,
        updatedAt: at,
      };
      await todos.create(todo);
      return reply.code(201).send({ todo: todoView(todo) });
    },
  );

  fastify.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof PatchBody> }>(
    "/api/todos/:id",
    {
      preHandler,
      schema: {
        tags,
        summary: "Change a to-do's title or state",
        operationId: "updateTodo",
        description:
          "Changes the title, the done state, or both, of one of the caller's to-dos; another user's is `not_found`.",
        security: SECURITY.callerUnsafe,
        params: IdParams,
        body: PatchBody,
        response: { 200: Type.Object({ todo: TodoRef }), ...errorResponses(400, 401, 403, 404, 413, 415) },
      },
    },
    async (request) => {
      const { title, done } = request.body;
      const todo = await todos.update(userId(request), request.params.id, { title, done, updatedAt: now() });
      if (!todo) throw notFound();
      return { todo: todoView(todo) };
    },
  );

  fastify.delete<{ Params: Static<typeof IdParams> }>(
    "/api/todos/:id",
    {
      preHandler,
      schema: {
        tags,
        summary: "Delete a to-do",
        operationId: "deleteTodo",
        description: "Deletes one of the caller's to-dos; another user's is `not_found`.",
        security: SECURITY.callerUnsafe,
        params: IdParams,
        response: { 204: Type.Null({ description: "No content" }), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      if (!(await todos.delete(userId(request), request.params.id))) throw notFound();
      return reply.code(204).send();
    },
  );

  fastify.get(
    "/api/todos/stats",
    {
      preHandler: fastify.requirePermission(TODOS_READ_ANY),
      schema: {
        tags,
        summary: "How many to-dos each user has (todos:read-any)",
        operationId: "getTodoStats",
        description: `The users who have to-dos and how many each has, most first, at most ${TODO_STATS_MAX}; never a title. Needs the permission \`${TODOS_READ_ANY}\` (the \`admin\` role has it): \`403 forbidden\` without it.`,
        security: SECURITY.caller,
        response: { 200: TodoStats, ...errorResponses(401, 403) },
      },
    },
    async () => ({
      users: (await todos.countByUser(TODO_STATS_MAX)).map(({ userId, username, count }) => ({
        id: userId,
        username,
        count,
      })),
    }),
  );
}
