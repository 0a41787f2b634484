// What LSIO's own modules pass each other that is not part of the public API:
// a symbol-keyed option (invisible to key checks, absent from the public
// option types) that says a batch's ranges are trusted.

/**
 * Every range is explicit and inside its file (from a shard index): skip the
 * files' sizes (no statx round); a range past EOF then fails with ENODATA
 * when read, instead of ERANGE up front. Reader.readColumnar with `dest`, and
 * every pool call, honour it.
 */
export const TRUSTED_RANGES: unique symbol = Symbol("lsio.trustedRanges");

/** Options that may carry {@linkcode TRUSTED_RANGES}. */
export interface Trusted {
  [TRUSTED_RANGES]?: boolean;
}

/** Whether `options` carries {@linkcode TRUSTED_RANGES}. */
export function trusted(options: object | undefined): boolean {
  return (options as Trusted | undefined)?.[TRUSTED_RANGES] === true;
}
