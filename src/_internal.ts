// What LSIO's own modules pass each other that is not part of the public API:
// symbol-keyed options (invisible to key checks, absent from the public
// option types): a batch's ranges are trusted; the cache a batch goes through.

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

/**
 * The native cache handle this call's batches go through, instead of the
 * reader's or pool's own (0n: none). The caller holds a reference while the
 * call runs (a ShardedArray or LsioStore given `cache`).
 */
export const CACHE: unique symbol = Symbol("lsio.cache");

/** Options that may carry {@linkcode CACHE}. */
export interface CacheOverride {
  [CACHE]?: bigint;
}

/** The cache handle `options` names, or `fallback`. */
export function cacheOf(options: object | undefined, fallback: bigint): bigint {
  const h = (options as CacheOverride | undefined)?.[CACHE];
  return typeof h === "bigint" ? h : fallback;
}
