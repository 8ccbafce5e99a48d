import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../helpers/harness.js";

describe("smoke", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("registers, logs in, adds a to-do", async () => {
    const c = h.client();
    await c.signUpAndLogIn("alice");
    const added = await c.post("/api/todos", { title: "milk" });
    expect(added.statusCode).toBe(201);
    const list = await c.get("/api/todos");
    expect(list.json().todos).toHaveLength(1);
  });
});
