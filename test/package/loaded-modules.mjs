// Prints, as JSON, the packages a fresh process loads to import the module named by
// argv[2] (a specifier such as "latchkey"): a module hook records every resolved URL.
import { register } from "node:module";

const { port1, port2 } = new MessageChannel();
const loaded = new Set();
port1.on("message", (url) => loaded.add(url));
port1.unref();
register(
  `data:text/javascript,${encodeURIComponent(`
    let port;
    export function initialize(data) { port = data.port; }
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      port.postMessage(result.url);
      return result;
    }
  `)}`,
  { data: { port: port2 }, transferList: [port2] },
);
await import(process.argv[2]);
// Let the hook thread's last messages arrive.
await new Promise((resolve) => setTimeout(resolve, 100));
const packages = new Set();
for (const url of loaded) {
  const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (match) packages.add(match[1]);
}
process.stdout.write(`${JSON.stringify([...packages].sort())}\n`);
