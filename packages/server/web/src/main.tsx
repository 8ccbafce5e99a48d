import { render } from "preact";
import { App } from "./app.js";
import { captureLinkToken } from "./link-token.js";
import "./styles.css";
import { initTheme } from "./theme.js";

// Before anything else, so the first request already leaves from an address without it.
captureLinkToken();
initTheme();
render(<App />, document.getElementById("app") as HTMLElement);
