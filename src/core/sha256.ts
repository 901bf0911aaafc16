// SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), synchronous, with one 32-byte array
// per digest as their only allocation (and the UTF-8 copy of non-ASCII input). Why not
// WebCrypto or node:crypto, measured: beside `compress`. Messages are "byte strings": one
// character per byte, each below 256 (see `byteString`). test/crypto.test.ts checks this file
// against FIPS 180-4 and every RFC 4231 case, and against WebCrypto on thousands of generated inputs.

const ROUND_CONSTANTS = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const INITIAL_STATE = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;

/**
 * W and the working state are module scratch: filled and read within one synchronous call,
 * so no request ever sees another's values.
 */
const W = new Int32Array(64);
const working = new Int32Array(8);

/**
 * One compression of the block in W[0..15] into `state`.
 *
 * Why not WebCrypto: on workerd each call costs a promise, a key object and fresh
 * ArrayBuffers, and every runtime-backed object survives young-generation GC, which makes
 * the collector's pauses grow with traffic. Every forged token costs one HMAC, every
 * validation one HMAC and one hash, so they must cost microseconds.
 * Why not node:crypto (synchronous, native, available at this compatibility date): measured
 * side by side on 2026-11-30 (`npm run bench -- --against <a branch using it> --rounds 5`,
 * bench/runs/2026-11-30-node-crypto.md), createHash/createHmac cost validation 11% more CPU
 * per request (286 -> 318 us) and a forged token 14% more (95 -> 108 us): a call into the
 * runtime and a Buffer per digest outweigh the native speed on 60-byte inputs.
 */
function compress(state: Int32Array): void {
  for (let t = 16; t < 64; t++) {
    const w15 = W[t - 15]!;
    const w2 = W[t - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[t] = (W[t - 16]! + s0 + W[t - 7]! + s1) | 0;
  }
  let a = state[0]!,
    b = state[1]!,
    c = state[2]!,
    d = state[3]!,
    e = state[4]!,
    f = state[5]!,
    g = state[6]!,
    h = state[7]!;
  for (let t = 0; t < 64; t++) {
    const sigma1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const choose = (e & f) ^ (~e & g);
    const t1 = (h + sigma1 + choose + ROUND_CONSTANTS[t]! + W[t]!) | 0;
    const sigma0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const majority = (a & b) ^ (a & c) ^ (b & c);
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + sigma0 + majority) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/**
 * Absorbs `message` and the padding into `state`, which has already absorbed `absorbed`
 * bytes (a whole number of blocks). Afterwards `state` holds the digest.
 */
function absorbAndPad(state: Int32Array, message: string, absorbed: number): void {
  const length = message.length;
  const blocks = ((length + 8) >> 6) + 1; // room for the 0x80 byte and the 64-bit length
  for (let block = 0; block < blocks; block++) {
    for (let word = 0; word < 16; word++) {
      let value = 0;
      for (let k = 0, i = block * BLOCK_BYTES + word * 4; k < 4; k++, i++) {
        value = (value << 8) | (i < length ? message.charCodeAt(i) : i === length ? 0x80 : 0);
      }
      W[word] = value;
    }
    if (block === blocks - 1) {
      const bits = (absorbed + length) * 8;
      W[14] = Math.floor(bits / 2 ** 32);
      W[15] = bits | 0;
    }
    compress(state);
  }
}

function digestBytes(state: Int32Array): Uint8Array {
  const bytes = new Uint8Array(DIGEST_BYTES);
  for (let i = 0; i < DIGEST_BYTES; i++) bytes[i] = state[i >> 2]! >>> (24 - 8 * (i & 3));
  return bytes;
}

/** `text` as UTF-8, one character per byte. ASCII text, as tokens and keys are, is itself. */
export function byteString(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the whole ASCII range, controls included
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  let bytes = "";
  for (const byte of new TextEncoder().encode(text)) bytes += String.fromCharCode(byte);
  return bytes;
}

/** SHA-256 of a byte string. */
export function sha256Digest(message: string): Uint8Array {
  working.set(INITIAL_STATE);
  absorbAndPad(working, message, 0);
  return digestBytes(working);
}

/** An HMAC-SHA-256 key: the states after its inner and outer padded blocks, computed once. */
export interface HmacKey {
  readonly inner: Int32Array;
  readonly outer: Int32Array;
}

export function hmacKey(secret: string): HmacKey {
  return hmacKeyOfBytes(byteString(secret));
}

/** The key of a byte string: keys of any bytes, as RFC 4231's test cases use. */
export function hmacKeyOfBytes(bytes: string): HmacKey {
  let key = bytes;
  if (key.length > BLOCK_BYTES) key = String.fromCharCode(...sha256Digest(key));
  const padded = (pad: number): Int32Array => {
    const state = Int32Array.from(INITIAL_STATE);
    for (let word = 0; word < 16; word++) {
      let value = 0;
      for (let k = 0, i = word * 4; k < 4; k++, i++)
        value = (value << 8) | ((i < key.length ? key.charCodeAt(i) : 0) ^ pad);
      W[word] = value;
    }
    compress(state);
    return state;
  };
  return { inner: padded(0x36), outer: padded(0x5c) };
}

/** HMAC-SHA-256 of a byte string: the inner hash resumes from the key's state, then the outer. */
export function hmacDigest(key: HmacKey, message: string): Uint8Array {
  working.set(key.inner);
  absorbAndPad(working, message, BLOCK_BYTES);
  W.set(working);
  W[8] = 0x80000000 | 0;
  W.fill(0, 9, 15);
  W[15] = (BLOCK_BYTES + DIGEST_BYTES) * 8;
  working.set(key.outer);
  compress(working);
  return digestBytes(working);
}
