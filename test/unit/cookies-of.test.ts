import { describe, expect, it } from "vitest";
import { cookiesOf } from "../../packages/latchkey/src/http/request.js";

describe("cookiesOf", () => {
  it("reads each cookie by name, the first of a repeated name, undecodable values as sent", () => {
    const cookies = cookiesOf({ cookie: "__Host-sid=abc; theme=dark; theme=light; bad=%E0%A4%A" });
    expect({ ...cookies }).toEqual({ "__Host-sid": "abc", theme: "dark", bad: "%E0%A4%A" });
    expect(cookiesOf({ cookie: ["a=1", "b=2"] }).b).toBe("2");
  });

  it("has no prototype: a cookie named __proto__ is kept, and a name not sent reads undefined", () => {
    const cookies = cookiesOf({ cookie: "__proto__=x; a=1" });
    expect(Object.getOwnPropertyDescriptor(cookies, "__proto__")?.value).toBe("x");
    for (const none of [cookies, cookiesOf({}), cookiesOf({ cookie: "" })]) {
      expect([none.constructor, none.toString, none.hasOwnProperty]).toEqual([undefined, undefined, undefined]);
    }
  });
});
