import { render } from "preact";
import { App } from "./app.js";
import "./styles.css";
import { initTheme } from "./theme.js";

initTheme();
render(<App />, document.getElementById("app") as HTMLElement);
