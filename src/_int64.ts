// Fast int64 <-> number through 32-bit halves: no BigInt per element, so a
// 10^6-entry batch is filled and read in a few milliseconds. Integers up to
// 2^53 in magnitude (every file offset there is) round-trip exactly.
// Little-endian layout, as on every platform LSIO builds for.

const TWO32 = 4294967296;

/** Writes the integer `x` (|x| < 2^53) as int64 at index `i` of a 32-bit view. */
export function setInt64(words: Uint32Array, i: number, x: number): void {
  words[2 * i] = x >>> 0;
  words[2 * i + 1] = Math.floor(x / TWO32) >>> 0;
}

/** Reads the uint64 at index `i` of a 32-bit view as a number. */
export function getUint64(words: Uint32Array, i: number): number {
  return words[2 * i] + words[2 * i + 1] * TWO32;
}

/** Writes INT64_MAX (LSIO_OPEN_END) at index `i`. */
export function setOpenEnd(words: Uint32Array, i: number): void {
  words[2 * i] = 0xffffffff;
  words[2 * i + 1] = 0x7fffffff;
}
