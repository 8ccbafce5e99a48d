import { LatchkeyError } from "../../api.js";

/** What an admin action's failure says to the administrator: the API's own message. */
export function problem(error: unknown): string {
  if (!(error instanceof LatchkeyError)) return "The server could not be reached.";
  // The code says which permission is missing; say plainly that it is a refusal.
  if (error.status === 403) return `Not allowed: ${error.message}`;
  return error.message;
}
