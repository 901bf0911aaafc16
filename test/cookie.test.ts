import { describe, expect, it } from "vitest";
import { clearedSessionCookie, MAX_COOKIE_BYTES, readCookie, sessionCookie } from "../src/cookie";
import { MAX_TOKEN_CHARS } from "../src/token";

const NAME = "__Host-session";
const TOKEN = "v1.acme.abc_DEF-123.secret.k1.tag";

describe("readCookie", () => {
  it("finds the session cookie among others", () => {
    expect(readCookie(`a=1; ${NAME}=${TOKEN}; b=2`, NAME)).toBe(TOKEN);
  });

  it("takes the first of duplicate cookies, as browsers send the most specific first", () => {
    expect(readCookie(`${NAME}=first; ${NAME}=second`, NAME)).toBe("first");
  });

  it.each([
    ["missing header", null],
    ["empty header", ""],
    ["no session cookie", "a=1; b=2"],
    ["empty value", `${NAME}=`],
    ["only separators", "=;"],
    ["percent escapes", `${NAME}=%zz`],
    ["quoted value", `${NAME}="${TOKEN}"`],
    ["CR/LF inside", `${NAME}=abc\r\ndef`],
    ["NUL inside", `${NAME}=abc\u0000def`],
    ["another name that merely contains ours", `x${NAME}=${TOKEN}`],
    ["prototype names", `__proto__=${TOKEN}; constructor=${TOKEN}`],
  ])("returns null, without throwing, for %s", (_label, header) => {
    expect(readCookie(header, NAME)).toBeNull();
  });

  it("handles 4 KiB+ values, 127 KB headers and 500 cookies without throwing", () => {
    expect(readCookie(`${NAME}=${"a".repeat(4097)}`, NAME)).toBe("a".repeat(4097));
    expect(readCookie(`x=${"b".repeat(127_000)}`, NAME)).toBeNull();
    const many = Array.from({ length: 500 }, (_, i) => `c${i}=${i}`).join("; ");
    expect(readCookie(`${many}; ${NAME}=${TOKEN}`, NAME)).toBe(TOKEN);
  });

  it("never builds an object with a prototype from cookie names", () => {
    readCookie(`__proto__=polluted; constructor=x`, "__proto__");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("sessionCookie", () => {
  it("is host-only, whole-site, Secure, HttpOnly and SameSite=Lax by default", () => {
    expect(sessionCookie(NAME, TOKEN, "Lax")).toBe(`${NAME}=${TOKEN}; Path=/; Secure; HttpOnly; SameSite=Lax`);
  });

  it("uses SameSite=Strict when the tenant says so", () => {
    expect(sessionCookie(NAME, TOKEN, "Strict")).toBe(`${NAME}=${TOKEN}; Path=/; Secure; HttpOnly; SameSite=Strict`);
  });

  it("refuses values that could inject attributes", () => {
    expect(() => sessionCookie(NAME, "a; Domain=evil.com", "Lax")).toThrow();
    expect(() => sessionCookie(NAME, "a\r\nSet-Cookie: x=y", "Lax")).toThrow();
  });

  it("keeps name plus the longest token well under the browsers' 4,096-byte limit", () => {
    expect(NAME.length + 1 + MAX_TOKEN_CHARS).toBeLessThan(MAX_COOKIE_BYTES);
  });

  it("round-trips through readCookie", () => {
    const header = sessionCookie(NAME, TOKEN, "Lax").split(";")[0]!;
    expect(readCookie(header, NAME)).toBe(TOKEN);
  });
});

describe("clearedSessionCookie", () => {
  it("expires the cookie at once with the same scope", () => {
    expect(clearedSessionCookie(NAME)).toBe(`${NAME}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`);
  });
});
