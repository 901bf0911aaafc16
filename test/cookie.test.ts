import { describe, expect, it } from "vitest";
import { clearedSessionCookie, MAX_COOKIE_BYTES, readCookie, sessionCookie } from "../packages/client/src/cookie";
import { MAX_TOKEN_CHARS } from "../src/core/token";

const NAME = "__Host-session";
const TOKEN = "v1.acme.abc_DEF-123.secret.k1.tag";

describe("readCookie", () => {
  it("finds the session cookie among others", () => {
    expect(readCookie(`a=1; ${NAME}=${TOKEN}; b=2`, NAME)).toBe(TOKEN);
  });

  // Review of 2026-11-30, M1: a planted second cookie of the session's name made the first one win.
  it("finds no session cookie when two of its name are sent, in either order", () => {
    expect(readCookie(`${NAME}=first; ${NAME}=second`, NAME)).toBeNull();
    expect(readCookie(`${NAME}=second; a=1; ${NAME}=first`, NAME)).toBeNull();
    expect(readCookie(`${NAME}=${TOKEN}; ${NAME}=%zz`, NAME)).toBeNull();
  });

  // Review of 2026-11-30, M1: String.prototype.trim stripped Unicode spaces, so "\u2000__Host-session"
  // (settable without Secure, from a sibling subdomain or plain http) was read as the session cookie.
  it.each(["00a0", "2000", "3000", "feff", "200b", "180e", "000b", "000c", "0085", "2028"])(
    "does not take a name padded with U+%s for the session cookie",
    (code) => {
      const pad = String.fromCodePoint(parseInt(code, 16));
      expect(readCookie(`${pad}${NAME}=${TOKEN}`, NAME)).toBeNull();
      expect(readCookie(`${NAME}${pad}=${TOKEN}`, NAME)).toBeNull();
      // The padded cookie is another cookie: the real one beside it is still read.
      expect(readCookie(`${pad}${NAME}=attacker; ${NAME}=${TOKEN}`, NAME)).toBe(TOKEN);
    },
  );

  it("trims spaces and tabs around the name and value", () => {
    expect(readCookie(`a=1;\t ${NAME} \t= ${TOKEN}\t`, NAME)).toBe(TOKEN);
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
