// A resource service on @latchkey/verify alone, with node:http: it trusts the tokens of
// the latchkey at LATCHKEY_URL, and follows its revocation feed with the credentials
// `npx latchkey services create` printed.
import { createServer } from "node:http";
import { createVerifier, VerifyError } from "@latchkey/verify";

const verifier = createVerifier({
  issuer: "http://localhost:3000",
  baseUrl: process.env.LATCHKEY_URL,
  credentials: { clientId: process.env.CLIENT_ID ?? "", clientSecret: process.env.CLIENT_SECRET ?? "" },
});
await verifier.ready();

const server = createServer(async (req, res) => {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
  try {
    const who = await verifier.verify(token);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ report: "ok", user: who.userId }));
  } catch (error) {
    if (!(error instanceof VerifyError)) throw error;
    res
      .writeHead(error.statusCode, { "content-type": "application/json" })
      .end(JSON.stringify({ refused: error.reason }));
  }
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.once("SIGTERM", () => {
  server.close();
  verifier.close();
});
