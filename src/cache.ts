/**
 * A RAM cache of raw (still compressed) byte ranges, shared by the readers,
 * worker pools, stores and arrays it is given to — the native `lsio_cache`.
 *
 * @module
 */
import {
  CACHE_LOCAL,
  CACHE_OPTS_WORDS,
  CACHE_STATS_WORDS,
  CacheOptsWord,
  CachePolicy,
  CacheStatsWord,
  type Native,
} from "../ffi/native.ts";
import { native } from "../ffi/mod.ts";
import { LsioError } from "./errors.ts";
import { checkBoolean, checkEnum, checkKeys, describe, intOption } from "./_strict.ts";

/** Options of {@linkcode Cache.open}. */
export interface CacheOptions {
  /** The budget: bytes held at most, bookkeeping included (≈ 100 bytes and the path per range). */
  bytes: number;
  /**
   * What goes when the budget is reached: `"s3fifo"` (default) — ranges
   * enter a small FIFO and only those read again while there move on, so a
   * one-pass scan cannot flush what is read over and over — or `"lru"`.
   * Measured on zarr-crops in bench/README.md.
   */
  policy?: "s3fifo" | "lru";
  /**
   * Cache local files' ranges too (default `false`: only remote objects —
   * for local files the kernel's page cache already is one).
   */
  local?: boolean;
  /** Ranges longer than this are read but not kept (default: an eighth of `bytes`). */
  maxEntryBytes?: number;
}

/** Counters of a {@linkcode Cache} since it was opened, and what it holds now. */
export interface CacheStats {
  /** Requests served from the cache (no I/O). */
  hits: number;
  /** Bytes those hits copied from the cache. */
  hitBytes: number;
  /** Cacheable requests that were read. */
  misses: number;
  /** Bytes those misses read. */
  missBytes: number;
  /** Requests that waited for another batch's read of the same range instead of reading it again (counted in hits). */
  waits: number;
  /** Ranges kept. */
  inserts: number;
  /** Ranges dropped to make room. */
  evictions: number;
  /** Bytes of the ranges dropped to make room. */
  evictedBytes: number;
  /** Ranges dropped because their object changed (size or modification time). */
  stale: number;
  /** Bytes held now, bookkeeping included. */
  bytes: number;
  /** Ranges held now. */
  entries: number;
  /** The budget. */
  budget: number;
}

const OPTION_KEYS = ["bytes", "policy", "local", "maxEntryBytes"] as const;

const caches = new FinalizationRegistry<{ lib: Native; handle: bigint }>(
  ({ lib, handle }) => lib.cacheRelease(handle),
);

/** The native handle of an open cache, with a reference for the caller (module-internal; release it with {@linkcode releaseCache}). */
export let retainCache: (cache: Cache) => { lib: Native; handle: bigint };

/** Drops a reference taken with {@linkcode retainCache}. */
export function releaseCache(ref: { lib: Native; handle: bigint } | undefined): void {
  if (ref) ref.lib.cacheRelease(ref.handle);
}

/**
 * A RAM cache of byte ranges under a byte budget. Give it to
 * {@linkcode Reader.open}, {@linkcode WorkerPool.open},
 * `LsioStore.open` or `ShardedArray.open` (`{ cache }`): their reads of a
 * range it holds make no I/O, and concurrent reads of one range — from any of
 * them, on any thread — read it once. Entries are exact ranges of an object,
 * keyed by its path or URL and, where known, its size and modification time
 * (a local file that changed misses); remote objects are taken as unchanging
 * while cached unless a size query sees another size.
 *
 * The cache lives while anything given it is open: {@linkcode Cache.close}
 * drops the caller's hold only.
 *
 * @example
 * ```ts
 * import { Cache, Reader } from "../mod.ts";
 * await Deno.writeTextFile("/tmp/lsio_cache_example.txt", "0123456789");
 * await using cache = await Cache.open({ bytes: 64 * 2 ** 20, local: true });
 * await using reader = await Reader.open({ cache });
 * const req = [{ path: "/tmp/lsio_cache_example.txt", start: 2, end: 6 }];
 * await reader.read(req);
 * await reader.read(req); // served from RAM
 * console.log(cache.stats().hits); // 1
 * ```
 */
export class Cache implements Disposable, AsyncDisposable {
  readonly #lib: Native;
  #handle: bigint;
  readonly #token = {};
  readonly #words = new BigUint64Array(new ArrayBuffer(CACHE_STATS_WORDS * 8));

  private constructor(lib: Native, handle: bigint) {
    this.#lib = lib;
    this.#handle = handle;
    caches.register(this, { lib, handle }, this.#token);
  }

  /** Opens a cache with a budget of `options.bytes`. */
  static async open(options: CacheOptions): Promise<Cache> {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`Cache.open options are { bytes, … }, got ${describe(options)}`);
    }
    checkKeys(options, OPTION_KEYS, "Cache.open options");
    const bytes = intOption(options.bytes, "bytes", 1, Number.MAX_SAFE_INTEGER);
    if (bytes === undefined) throw new TypeError("Cache.open: bytes (the budget) is required");
    const policy = checkEnum(options.policy, ["s3fifo", "lru"] as const, "policy") ?? "s3fifo";
    const local = checkBoolean(options.local, "local") ?? false;
    const maxEntry = intOption(options.maxEntryBytes, "maxEntryBytes", 1, Number.MAX_SAFE_INTEGER) ?? 0;
    const lib = await native();
    const words = new BigUint64Array(new ArrayBuffer(CACHE_OPTS_WORDS * 8));
    words[CacheOptsWord.budget] = BigInt(bytes);
    words[CacheOptsWord.policy] = BigInt(CachePolicy[policy]);
    words[CacheOptsWord.flags] = local ? CACHE_LOCAL : 0n;
    words[CacheOptsWord.maxEntry] = BigInt(maxEntry);
    const out = new BigUint64Array(new ArrayBuffer(8));
    const rc = lib.cacheOpen(words, out);
    if (rc < 0) throw new LsioError(rc, { op: "open cache" });
    return new Cache(lib, out[0]);
  }

  /** True once {@linkcode Cache.close} was called. */
  get closed(): boolean {
    return this.#handle === 0n;
  }

  /** Counters since the cache was opened, and what it holds now. */
  stats(): CacheStats {
    this.#check("stats");
    const w = this.#words;
    const rc = this.#lib.cacheStats(this.#handle, w);
    if (rc < 0) throw new LsioError(rc, { op: "cache stats" });
    const n = (k: keyof typeof CacheStatsWord) => Number(w[CacheStatsWord[k]]);
    return {
      hits: n("hits"),
      hitBytes: n("hitBytes"),
      misses: n("misses"),
      missBytes: n("missBytes"),
      waits: n("waits"),
      inserts: n("inserts"),
      evictions: n("evictions"),
      evictedBytes: n("evictedBytes"),
      stale: n("stale"),
      bytes: n("bytes"),
      entries: n("entries"),
      budget: n("budget"),
    };
  }

  /** Drops every range held (ranges being read are kept when their read ends). */
  clear(): void {
    this.#check("clear");
    this.#lib.cacheClear(this.#handle);
  }

  /**
   * Drops this handle's hold. Readers, pools, stores and arrays it was given
   * to keep using it until they close; then its memory is freed. Idempotent.
   */
  close(): void {
    if (this.#handle === 0n) return;
    caches.unregister(this.#token);
    this.#lib.cacheRelease(this.#handle);
    this.#handle = 0n;
  }

  /** Same as {@linkcode Cache.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Same as {@linkcode Cache.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #check(what: string): void {
    if (this.#handle === 0n) throw new LsioError(-9, { op: `cache ${what}: the cache is closed` });
  }

  static {
    retainCache = (cache) => {
      if (!(cache instanceof Cache)) throw new TypeError(`cache is a Cache (Cache.open), got ${describe(cache)}`);
      cache.#check("use");
      cache.#lib.cacheRetain(cache.#handle);
      return { lib: cache.#lib, handle: cache.#handle };
    };
  }
}
