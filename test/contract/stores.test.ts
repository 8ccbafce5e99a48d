/**
 * The store contract (`latchkey/testing`, src/testing.ts) run against every backend in
 * `BACKENDS`, unchanged: the suite latchkey publishes for other backends' authors; and
 * issue 32's passkey cases (./passkeys.ts), written to join it.
 */
import { expect, it } from "vitest";
import { describeStoreContract } from "../../packages/latchkey/src/testing.js";
import { describeWith } from "../helpers/services.js";
import { BACKENDS } from "./backends.js";
import { describePasskeyStoreContract } from "./passkeys.js";

for (const backend of BACKENDS) {
  describeWith(backend.service?.name ?? "", backend.service?.available ?? true)(`backend: ${backend.name}`, () => {
    describeStoreContract(backend);
    describePasskeyStoreContract(backend);
    if (backend.name === "sqlite" || backend.name === "postgres") {
      it("lends its SQL database to the host", async () => {
        const opened = await backend.open();
        try {
          expect(opened.stores.database?.dialect).toBe(backend.name);
        } finally {
          await opened.cleanup();
        }
      });
    }
  });
}
