import { newPlacedId } from "../src/core/placed-id";
import { describe, expect, it } from "vitest";
import {
  hashSecret,
  MAX_TOKEN_CHARS,
  MAX_TOKEN_GENERATION,
  newSecret,
  parseSigningKeys,
  signPayload,
  signToken,
  verifyToken,
} from "../src/core/token";
import { keysOf } from "./helpers";

const KEYS_V1 = "k1:first-signing-secret-0123456789abcdef";
const KEYS_ROTATED = "k2:second-signing-secret-0123456789abcdef,k1:first-signing-secret-0123456789abcdef";
const KEYS_K1_REMOVED = "k2:second-signing-secret-0123456789abcdef";

async function mint(config = KEYS_ROTATED, tenant = "acme") {
  const keys = keysOf(config);
  const id = newPlacedId(tenant, 0);
  const secret = newSecret();
  return { token: signToken(keys, { tenant, shard: 0, jurisdiction: null }, id, secret, 0), id, secret, keys };
}

// Every source file of the service, read at build time, to check what they may not contain.
const SOURCES = import.meta.glob(["../src/**/*.ts", "../durable-objects/**/*.ts"], {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

describe("token minting", () => {
  it("draws 256-bit secrets and 120-bit ids that never repeat over 100,000 tokens", () => {
    const secrets = new Set<string>();
    const ids = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      secrets.add(newSecret());
      ids.add(newPlacedId("acme", i % 256));
    }
    expect(secrets.size).toBe(100_000);
    expect(ids.size).toBe(100_000);
    expect(newSecret()).toMatch(/^[A-Za-z0-9_-]{43}$/); // 43 base64url chars = 256 bits
  });

  it("uses no Math.random anywhere in src/ or durable-objects/", () => {
    expect(Object.keys(SOURCES).length).toBeGreaterThan(10);
    for (const [path, text] of Object.entries(SOURCES)) expect(text.includes("Math.random"), path).toBe(false);
  });

  it("produces a versioned, cookie-safe token naming tenant, session id and key id", async () => {
    const { token, id, secret } = await mint();
    expect(token).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_CHARS);
    const [version, tenant, placement, tokenId, tokenSecret, kid] = token.split(".");
    expect([version, tenant, placement, tokenId, tokenSecret, kid]).toEqual(["v2", "acme", "0", id, secret, "k2"]);
  });

  it("hashes secrets with SHA-256 and never returns the secret itself", async () => {
    const hash = hashSecret("abc");
    expect(hash.byteLength).toBe(32);
    expect(new TextDecoder().decode(hash)).not.toContain("abc");
  });
});

describe("token verification", () => {
  it("accepts a token it minted and returns its parts", async () => {
    const { token, id, secret, keys } = await mint();
    expect(verifyToken(keys, token)).toEqual({
      tenant: "acme",
      shard: 0,
      jurisdiction: null,
      sessionId: id,
      secret,
      generation: 0,
    });
  });

  it("signs the tenant's token generation into version 3, and reads versions 1 and 2 as generation 0", () => {
    const keys = keysOf(KEYS_ROTATED);
    const [id, secret] = [newPlacedId("acme", 0), newSecret()];
    const target = { tenant: "acme", shard: 255, jurisdiction: "fedramp" as const };
    const unretired = signToken(keys, target, id, secret, 0);
    expect(unretired.startsWith("v2.")).toBe(true);
    for (const generation of [1, 42, MAX_TOKEN_GENERATION]) {
      const token = signToken(keys, target, id, secret, generation);
      expect(token.split(".").slice(0, 4)).toEqual(["v3", "acme", "fedramp-255", String(generation)]);
      expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_CHARS);
      expect(verifyToken(keys, token)).toEqual({ ...target, sessionId: id, secret, generation });
    }
    // A lower generation, written into a token of a higher one, breaks its signature.
    const second = signToken(keys, target, id, secret, 2);
    expect(verifyToken(keys, second.replace(".2.", ".1."))).toBeNull();
    // One spelling per generation, even signed: 0 is version 2's, and no leading zeros or signs.
    for (const generation of ["0", "01", "-1", "+1", "1e3", "1000000000", ""])
      expect(verifyToken(keys, signPayload(keys, `v3.acme.0.${generation}.${id}.${secret}`)), generation).toBeNull();
    // A version-2 token with a generation part, or a version 3 without, is refused.
    expect(verifyToken(keys, signPayload(keys, `v2.acme.0.1.${id}.${secret}`))).toBeNull();
    expect(verifyToken(keys, signPayload(keys, `v3.acme.0.${id}.${secret}`))).toBeNull();
  });

  it("names the shard and the jurisdiction inside the signed part, and reads tokens from before shards as shard 0", () => {
    const keys = keysOf(KEYS_ROTATED);
    const [id, secret] = [newPlacedId("acme", 0), newSecret()];
    for (const target of [
      { tenant: "acme", shard: 255, jurisdiction: null },
      { tenant: "acme", shard: 3, jurisdiction: "eu" as const },
      { tenant: "acme", shard: 0, jurisdiction: "fedramp" as const },
    ]) {
      const token = signToken(keys, target, id, secret, 0);
      expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_CHARS);
      expect(verifyToken(keys, token)).toEqual({ ...target, sessionId: id, secret, generation: 0 });
    }
    const eu = signToken(keys, { tenant: "acme", shard: 3, jurisdiction: "eu" }, id, secret, 0);
    expect(eu.split(".")[2]).toBe("eu-3");
    // Moving a token to another shard or jurisdiction breaks its signature.
    for (const placement of ["3", "eu-4", "fedramp-3"])
      expect(verifyToken(keys, eu.replace(".eu-3.", `.${placement}.`))).toBeNull();
    // A placement that is no shard, even signed, is refused.
    for (const placement of ["256", "03", "-1", "us-1", "eu-", "EU-3"])
      expect(verifyToken(keys, signPayload(keys, `v2.acme.${placement}.${id}.${secret}`)), placement).toBeNull();
    const first = signPayload(keys, `v1.acme.${id}.${secret}`);
    expect(verifyToken(keys, first)).toEqual({
      tenant: "acme",
      shard: 0,
      jurisdiction: null,
      sessionId: id,
      secret,
      generation: 0,
    });
  });

  it("rejects the token with any single character changed", async () => {
    const { token, keys } = await mint();
    for (let i = 0; i < token.length; i++) {
      const original = token[i]!;
      const replacement = original === "A" ? "B" : original === "." ? "_" : "A";
      const tampered = token.slice(0, i) + replacement + token.slice(i + 1);
      expect(verifyToken(keys, tampered), `position ${i}`).toBeNull();
    }
  });

  it("rejects truncated, extended, case-changed and look-alike tokens", async () => {
    const { token, keys } = await mint();
    const candidates = [
      token.slice(0, -1),
      token.slice(1),
      `${token}A`,
      `${token}.`,
      token.toUpperCase(),
      token.replace("v2.", "v1."),
      token.replace("v2.", "v3."),
      token.replace("acme", "аcme"), // Cyrillic a
      "",
      ".....",
      "v1.acme",
      token + "x".repeat(10_000),
    ];
    for (const candidate of candidates) expect(verifyToken(keys, candidate), candidate.slice(0, 40)).toBeNull();
  });

  it("rejects a token whose tenant was swapped for another", async () => {
    const { token, keys } = await mint(KEYS_ROTATED, "acme");
    expect(verifyToken(keys, token.replace(".acme.", ".other."))).toBeNull();
  });

  it("still accepts tokens signed with a previous key after the signing key rotates", async () => {
    const old = await mint(KEYS_V1);
    const rotated = keysOf(KEYS_ROTATED);
    expect(rotated.currentKid).toBe("k2");
    expect(verifyToken(rotated, old.token)).not.toBeNull();
  });

  it("rejects tokens whose key id was removed from the configuration", async () => {
    const old = await mint(KEYS_V1);
    expect(verifyToken(keysOf(KEYS_K1_REMOVED), old.token)).toBeNull();
  });

  it("rejects a token signed by a key with the same id but another secret", async () => {
    const forged = await mint("k1:an-attacker-chosen-secret-0123456789abcdef");
    expect(verifyToken(keysOf(KEYS_V1), forged.token)).toBeNull();
  });
});

describe("signing key configuration", () => {
  it.each([
    ["", "not set"],
    ["nokid", "kid:secret"],
    ["k1:short", "shorter than 32"],
    ["k1:first-signing-secret-0123456789abcdef,k1:first-signing-secret-0123456789abcdef", "appears twice"],
    ["bad kid:first-signing-secret-0123456789abcdef", "kid:secret"],
  ])("refuses %j", (config, message) => {
    const parsed = parseSigningKeys(config);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toContain(message);
  });
});
