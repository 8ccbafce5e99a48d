/**
 * Once the to-do list's index; the to-dos have since moved out of the library into the
 * product, whose own migrations (`src/app/todo-store.ts`) make the table and this index.
 * The name stays, doing nothing: databases that ran it record it, and Kysely refuses a
 * database whose recorded migrations are missing.
 */
import type { Kysely } from "kysely";

export async function up(_db: Kysely<unknown>): Promise<void> {}

export async function down(_db: Kysely<unknown>): Promise<void> {}
