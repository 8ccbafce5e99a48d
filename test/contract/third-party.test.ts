/**
 * The published store contract (`latchkey/testing`) run on stores that are not latchkey's
 * and not named like any of its backends, as a third party's would be (issue 25 item 14):
 * the suite judges what a store does, never what it is called, and a store written before
 * `Stores.services` existed (it is optional) still runs it, its services cases skipped.
 */
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { describeStoreContract } from "../../packages/latchkey/src/testing.js";

/** Another author's store: latchkey's memory stores behind an object of its own. */
function acmeStores(): Stores {
  const inner = createMemoryStores();
  return { ...inner, close: () => inner.close() };
}

/** The same, as written for a release before service credentials: no `services`. */
function acmeStoresWithoutServices(): Stores {
  const { services: _services, ...rest } = createMemoryStores();
  return rest;
}

describeStoreContract({
  name: "acme-kv",
  async open() {
    const stores = acmeStores();
    return { stores, cleanup: () => stores.close() };
  },
});

describeStoreContract({
  name: "acme-kv without services",
  async open() {
    const stores = acmeStoresWithoutServices();
    return { stores, cleanup: () => stores.close() };
  },
});
