// The synchronous hashes the service signs and stores with (@noble/hashes, through
// src/core/sha256.ts) must be exactly SHA-256 and HMAC-SHA-256 as we call them: published test
// vectors, and agreement with the runtime's WebCrypto on thousands of generated inputs. base64url must be the standard unpadded alphabet.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64url, digestsEqual, hmacBase64url, hmacKey, sha256, tagsEqual } from "../src/core/crypto";
import { hmacDigest, hmacKeyOfBytes } from "../src/core/sha256";

const SEED = 20261123;
const settings = { seed: SEED, numRuns: 1000 };

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function webCryptoHmac(secret: string, text: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return base64url(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
}

function webCryptoBase64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

describe("sha256", () => {
  it("matches the FIPS 180-4 examples", () => {
    expect(hex(sha256(""))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hex(sha256("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("returns a buffer of exactly 32 bytes", () => {
    expect(sha256("a secret").byteLength).toBe(32);
  });

  it("agrees with WebCrypto on any text, across block boundaries", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 300 }), async (text) => {
        expect(hex(sha256(text))).toBe(hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
      }),
      settings,
    );
  });
});

describe("hmacBase64url", () => {
  it("matches RFC 4231 test case 2 through the text API", () => {
    const tag = hmacBase64url(hmacKey("Jefe"), "what do ya want for nothing?");
    expect(tag).toBe(
      webCryptoBase64url(
        Uint8Array.from("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843".match(/../g)!, (h) =>
          parseInt(h, 16),
        ),
      ),
    );
  });

  // RFC 4231 section 4: keys and data as bytes (one character per byte), HMAC-SHA-256 in hex.
  const bytes = (byte: number, count: number) => String.fromCharCode(...new Array<number>(count).fill(byte));
  const RFC_4231: [string, string, string, string][] = [
    ["1", bytes(0x0b, 20), "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
    ["2", "Jefe", "what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"],
    ["3", bytes(0xaa, 20), bytes(0xdd, 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"],
    [
      "4",
      String.fromCharCode(...Array.from({ length: 25 }, (_, i) => i + 1)),
      bytes(0xcd, 50),
      "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ],
    ["5 (truncated to 128 bits)", bytes(0x0c, 20), "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"],
    [
      "6",
      bytes(0xaa, 131),
      "Test Using Larger Than Block-Size Key - Hash Key First",
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ],
    [
      "7",
      bytes(0xaa, 131),
      "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ],
  ];

  it.each(RFC_4231)("matches RFC 4231 test case %s", (_case, key, data, expected) => {
    const bytesOf = (text: string) => Uint8Array.from(text, (character) => character.charCodeAt(0));
    const digest = hex(hmacDigest(hmacKeyOfBytes(bytesOf(key)), bytesOf(data)).buffer as ArrayBuffer);
    expect(digest.slice(0, expected.length)).toBe(expected);
  });

  it("agrees with WebCrypto for any key and text, and the same key gives the same tag twice", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 100 }),
        fc.string({ unit: "grapheme", maxLength: 300 }),
        async (secret, text) => {
          const key = hmacKey(secret);
          const tag = hmacBase64url(key, text);
          expect(tag).toBe(await webCryptoHmac(secret, text));
          expect(hmacBase64url(key, text)).toBe(tag);
        },
      ),
      settings,
    );
  });
});

describe("base64url", () => {
  it("is standard base64 with - and _ and no padding, for every length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        expect(base64url(bytes)).toBe(webCryptoBase64url(bytes));
      }),
      settings,
    );
  });
});

describe("tagsEqual", () => {
  it("is true only for identical text", () => {
    expect(tagsEqual("abc", "abc")).toBe(true);
    expect(tagsEqual("abc", "abd")).toBe(false);
    expect(tagsEqual("abc", "abcd")).toBe(false);
    expect(tagsEqual("", "")).toBe(true);
  });
});

describe("digestsEqual", () => {
  it("is true only for the same bytes, and false for buffers of other lengths", () => {
    expect(digestsEqual(sha256("a"), sha256("a"))).toBe(true);
    expect(digestsEqual(sha256("a"), sha256("b"))).toBe(false);
    const last = new Uint8Array(sha256("a"));
    last[31] = last[31]! ^ 1;
    expect(digestsEqual(sha256("a"), last.buffer)).toBe(false);
    expect(digestsEqual(sha256("a"), sha256("a").slice(0, 31))).toBe(false);
  });
});
