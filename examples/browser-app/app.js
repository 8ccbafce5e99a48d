/**
 * The page: signs in with latchkey in memory mode and calls the notes API, on another
 * origin, through `client.fetch`, which adds the bearer token for latchkey's origin and the
 * API's, and for no other. The token lives in the client's closure: nothing is written to
 * storage, to a cookie the page can read, or to a global. A reload gets a new one from the
 * HttpOnly refresh cookie.
 */
import { createClient, LatchkeyError } from "/client/index.js";

const { latchkeyOrigin, apiOrigin } = await (await fetch("/config.json")).json();
const client = createClient({ baseUrl: latchkeyOrigin, mode: "memory", apiOrigins: [apiOrigin] });
const notesUrl = `${apiOrigin}/notes`;
const $ = (id) => document.getElementById(id);
const say = (text) => {
  $("status").textContent = text;
};

/** Says what went wrong: latchkey's refusal, or that a server cannot be reached. */
function show(error) {
  if (error instanceof LatchkeyError) return say(error.message);
  console.error(error);
  say(error instanceof TypeError ? "latchkey or the notes API cannot be reached: are they running?" : String(error));
}

/** The API's reason for an answer that is not 2xx. */
async function failure(response) {
  const body = await response.json().catch(() => ({}));
  return body.error?.message ?? `The notes API answered ${response.status}.`;
}

async function showNotes() {
  const response = await client.fetch(notesUrl);
  // A 401 the client could not cure by refreshing has signed it out: onChange says so.
  if (response.status === 401) return;
  if (!response.ok) return say(await failure(response));
  const { notes } = await response.json();
  const items = notes.map(({ text }) => Object.assign(document.createElement("li"), { textContent: text }));
  $("notes").replaceChildren(...items);
}

async function render(session) {
  $("sign-in").hidden = session !== null;
  $("signed-in").hidden = session === null;
  $("who").textContent = session?.user.username ?? "";
  $("notes").replaceChildren();
  if (session) await showNotes();
}

const SAID = {
  signed_in: "Signed in.",
  signed_out: "Signed out.",
  signed_out_everywhere: "Signed out on every device.",
};

// Every change, in this tab or another one of this origin: a sign-out elsewhere shows here at once.
client.onChange(({ session, reason, fromOtherTab }) => {
  // A refresh changes the token, not what the page shows.
  if (reason === "refreshed") return;
  const said = SAID[reason] ?? "Your session has ended: sign in again.";
  say(fromOtherTab ? `${said} (in another tab)` : said);
  render(session).catch(show);
});

/** Runs `run` on `event`, in place of the browser's default, and says why it failed. */
function on(id, event, run) {
  $(id).addEventListener(event, (e) => {
    e.preventDefault();
    run(e.currentTarget).catch(show);
  });
}

on("sign-in", "submit", async (form) => {
  const data = new FormData(form);
  await client.signIn(String(data.get("username")), String(data.get("password")));
  form.reset();
});

on("add-note", "submit", async (form) => {
  const response = await client.fetch(notesUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: new FormData(form).get("text") }),
  });
  if (response.status === 401) return;
  if (!response.ok) return say(await failure(response));
  form.reset();
  await showNotes();
});

on("sign-out", "click", () => client.signOut());
on("sign-out-everywhere", "click", () => client.signOutEverywhere());

// A reload: the refresh cookie, if there is one, gets a new access token and the user.
try {
  await render(await client.session());
} catch (error) {
  show(error);
}
