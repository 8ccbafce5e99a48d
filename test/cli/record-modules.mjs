// `node --import ./record-modules.mjs ...`: appends the URL of every module the process
// resolves to the file LOADED_MODULES_FILE names. The hook runs on a thread of its own, so
// it writes each URL synchronously, before the import it resolves goes on.
import { register } from "node:module";

register(
  `data:text/javascript,${encodeURIComponent(`
    import { appendFileSync } from "node:fs";
    let file;
    export function initialize(data) { file = data.file; }
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      appendFileSync(file, result.url + "\\n");
      return result;
    }
  `)}`,
  { data: { file: process.env.LOADED_MODULES_FILE } },
);
