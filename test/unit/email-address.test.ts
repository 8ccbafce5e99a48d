/**
 * Email addresses in one normal form (issue 31): one owner however an address is typed.
 */
import { describe, expect, it } from "vitest";
import { parseEmail } from "../../packages/latchkey/src/core/email.js";

describe("parseEmail", () => {
  it("gives one form to every spelling of an address: trimmed, lower-cased, the domain in ASCII", () => {
    expect(parseEmail("  Alice@Example.COM ")).toBe("alice@example.com");
    expect(parseEmail("alice@example.com")).toBe("alice@example.com");
    // Full-width letters in the domain map to ASCII (IDNA/UTS 46); an IDN becomes punycode.
    expect(parseEmail("alice@ＥＸＡＭＰＬＥ.com")).toBe("alice@example.com");
    expect(parseEmail("bob@bücher.example")).toBe("bob@xn--bcher-kva.example");
    // The local part is NFC: a decomposed é is the precomposed one.
    expect(parseEmail("e\u0301lise@example.com")).toBe(parseEmail("\u00e9lise@example.com"));
    // A trailing dot of the domain (the DNS root) is the same domain.
    expect(parseEmail("alice@example.com.")).toBe("alice@example.com");
  });

  it("keeps what is part of an address everywhere: dots and +tags", () => {
    expect(parseEmail("a.lice+news@example.com")).toBe("a.lice+news@example.com");
    expect(parseEmail("alice@example.com")).not.toBe(parseEmail("a.lice@example.com"));
  });

  it.each([
    "",
    "   ",
    "alice",
    "@example.com",
    "alice@",
    "alice@@example.com",
    "al@ice@example.com",
    "alice@localhost",
    "alice@example",
    "alice@-example.com",
    "alice@example-.com",
    "alice@exa mple.com",
    "al ice@example.com",
    '"alice"@example.com',
    "alice<x>@example.com",
    ".alice@example.com",
    "alice.@example.com",
    "al..ice@example.com",
    "alice\u0000@example.com",
    // Invisible characters: two addresses that look alike, or a notice that reads otherwise.
    "ali\u200bce@example.com",
    "ali\u202ece@example.com",
    "ali\u00adce@example.com",
    "alice@127.0.0.1",
    `${"a".repeat(65)}@example.com`,
    `alice@${"a".repeat(250)}.com`,
    `${"a".repeat(64)}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.com`,
  ])("refuses %j", (input) => {
    expect(parseEmail(input)).toBeNull();
  });

  it("refuses what is not a string (a JSON body's other types)", () => {
    expect(parseEmail(42 as unknown as string)).toBeNull();
    expect(parseEmail(null as unknown as string)).toBeNull();
  });
});
