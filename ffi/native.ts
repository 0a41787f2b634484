/**
 * The runtime-neutral view of the native library. `deno.ts` and `bun.ts`
 * implement it; nothing outside `ffi/` knows which runtime it runs on.
 *
 * Handles and addresses are `bigint`s. Structs are plain 64-bit words in a
 * `BigUint64Array` the caller owns (see {@linkcode BatchWord}).
 *
 * @module
 */

/** What `ffi/deno.ts` and `ffi/bun.ts` provide. */
export interface Native {
  /** `"deno"` or `"bun"`. */
  readonly runtime: string;
  /** Where the shared library was loaded from. */
  readonly path: string;
  /** `lsio_abi_version()`. */
  abiVersion(): number;
  /** `lsio_reader_open(opts, out)`; `out[0]` receives the handle. */
  readerOpen(opts: Uint32Array, out: BigUint64Array): number;
  /** `lsio_reader_close(handle)`. */
  readerClose(handle: bigint): void;
  /** `lsio_reader_set_s3(handle, cfg)`: `cfg` holds {@linkcode S3_CONFIG_WORDS} words (C copies the strings). */
  readerSetS3(handle: bigint, cfg: BigUint64Array): number;
  /** `lsio_reader_set_tls(handle, cfg)`: `cfg` holds {@linkcode TLS_CONFIG_WORDS} words (C copies the string). */
  readerSetTls(handle: bigint, cfg: BigUint64Array): number;
  /** `lsio_reader_get_info(handle, info)`. */
  readerInfo(handle: bigint, info: Uint32Array): number;
  /** Runs `lsio_run(handle, batch, ops)` without blocking the JS thread. */
  run(handle: bigint, batch: BigUint64Array, ops: number): Promise<number>;
  /** `lsio_run(handle, batch, ops)` on the calling thread (blocks it). */
  runSync(handle: bigint, batch: BigUint64Array, ops: number): number;
  /** `lsio_pin_thread(cpu)`. */
  pinThread(cpu: number): number;
  /** `lsio_cache_open(opts, out)`: `opts` holds {@linkcode CACHE_OPTS_WORDS} words; `out[0]` receives the handle. */
  cacheOpen(opts: BigUint64Array, out: BigUint64Array): number;
  /** `lsio_cache_retain(handle)`. */
  cacheRetain(handle: bigint): void;
  /** `lsio_cache_release(handle)`. */
  cacheRelease(handle: bigint): void;
  /** `lsio_cache_get_stats(handle, out)`: `out` holds {@linkcode CACHE_STATS_WORDS} words. */
  cacheStats(handle: bigint, out: BigUint64Array): number;
  /** `lsio_cache_clear(handle)`. */
  cacheClear(handle: bigint): void;
  /** `lsio_reduce(reduction)` on the calling thread (see {@linkcode ReductionWord}). */
  reduce(reduction: BigUint64Array): number;
  /** `lsio_copy_boxes(copy)` on the calling thread (see {@linkcode BoxCopyWord}). */
  copyBoxes(copy: BigUint64Array): number;
  /** Address of the first byte of `view` (its byteOffset included). */
  addressOf(view: ArrayBufferView): bigint;
}

/** Word indices of `lsio_batch` (csrc/include/lsio.h), one uint64 each. */
export const BatchWord = {
  count: 0,
  fileCount: 1,
  paths: 2,
  pathOffsets: 3,
  file: 4,
  start: 5,
  end: 6,
  destBase: 7,
  dest: 8,
  offset: 9,
  length: 10,
  status: 11,
  fileSize: 12,
  flags: 13,
  layoutAlign: 14,
  layoutBytes: 15,
  chunksDone: 16,
  bytesDone: 17,
  misaligned: 18,
  failed: 19,
  readsIssued: 20,
  cancel: 21,
  state: 22,
  result: 23,
  mergeGap: 24,
  mergeMax: 25,
  splitSize: 26,
  planReads: 27,
  planBytes: 28,
  planNs: 29,
  remoteErrors: 30,
  remoteErrorsCap: 31,
  remoteErrorsCount: 32,
  cache: 33,
} as const;
/** Number of words in `lsio_batch`. */
export const BATCH_WORDS = 34;

/** `LSIO_OP_*`. */
export const Op = { stat: 1, resolve: 2, layout: 4, read: 8, plan: 16 } as const;
/** `LSIO_BACKEND_*`. */
export const Backend = { auto: 0, io_uring: 1, threads: 2 } as const;
/** `LSIO_READER_*` flags. */
export const ReaderFlag = { direct: 1, inline: 2 } as const;
/** `LSIO_BATCH_*` flags. */
export const BatchFlag = {
  truncateEof: 1,
  planCopy: 2,
  planIfOrdered: 4,
  nowait: 8,
  redoEagain: 16,
  lazySuffix: 32,
} as const;
/** `LSIO_STATE_DONE`. */
export const STATE_DONE = 2n;
/** `LSIO_OPEN_END`: a range end meaning "to the end of the file". */
export const OPEN_END = 0x7fffffffffffffffn;
/** `lsio_reader_opts` is 6 uint32 words; `lsio_reader_info` too. */
export const OPTS_WORDS = 11;

/** Word indices of `lsio_cache_opts` (csrc/include/lsio.h). */
export const CacheOptsWord = { budget: 0, policy: 1, flags: 2, maxEntry: 3 } as const;
/** Words in `lsio_cache_opts`. */
export const CACHE_OPTS_WORDS = 4;
/** `LSIO_CACHE_S3FIFO`, `LSIO_CACHE_LRU`. */
export const CachePolicy = { s3fifo: 0, lru: 1 } as const;
/** `LSIO_CACHE_LOCAL`. */
export const CACHE_LOCAL = 1n;
/** Word indices of `lsio_cache_stats` (csrc/include/lsio.h). */
export const CacheStatsWord = {
  hits: 0,
  hitBytes: 1,
  misses: 2,
  missBytes: 3,
  waits: 4,
  inserts: 5,
  evictions: 6,
  evictedBytes: 7,
  stale: 8,
  bytes: 9,
  entries: 10,
  budget: 11,
} as const;
/** Words in `lsio_cache_stats`. */
export const CACHE_STATS_WORDS = 12;

/** Word indices of `lsio_s3_config` (csrc/include/lsio.h): string pointers, then flags. */
export const S3ConfigWord = {
  endpoint: 0,
  region: 1,
  accessKeyId: 2,
  secretAccessKey: 3,
  sessionToken: 4,
  flags: 5,
} as const;
/** Words in `lsio_s3_config`. */
export const S3_CONFIG_WORDS = 6;
/** `LSIO_S3_PATH_STYLE`. */
export const S3_PATH_STYLE = 1n;
/** Word indices of `lsio_tls_config` (csrc/include/lsio.h): the CA bundle's path, then flags. */
export const TlsConfigWord = {
  caFile: 0,
  flags: 1,
} as const;
/** Words in `lsio_tls_config`. */
export const TLS_CONFIG_WORDS = 2;
/** The ABI version this TypeScript code speaks. */
export const ABI_VERSION = 7;

/**
 * Word indices of `lsio_reduction` (csrc/include/lsio.h), one 64-bit word
 * each: integers and addresses as uint64, the `double` fields as float64
 * (read them through a `Float64Array` over the same memory).
 */
export const ReductionWord = {
  count: 0,
  base: 1,
  offset: 2,
  length: 3,
  status: 4,
  dtype: 5,
  ops: 6,
  chunkSum: 7,
  histLo: 8, // double
  histHi: 9, // double
  bins: 10,
  hist: 11,
  sum: 12, // double
  min: 13, // double
  max: 14, // double
  elements: 15,
  nans: 16,
  below: 17,
  above: 18,
  chunks: 19,
} as const;
/** Number of words in `lsio_reduction`. */
export const REDUCTION_WORDS = 20;
/** Word indices of `lsio_box_copy` (csrc/include/lsio.h); `scale` and `shift` are float64. */
export const BoxCopyWord = {
  count: 0,
  ndim: 1,
  base: 2,
  offset: 3,
  status: 4,
  request: 5,
  first: 6,
  inner: 7,
  extent: 8,
  origins: 9,
  los: 10,
  bases: 11,
  out: 12,
  dtype: 13,
  outDtype: 14,
  scale: 15, // double
  shift: 16, // double
  codec: 17,
  length: 18,
  failed: 19,
} as const;
/** Number of words in `lsio_box_copy`. */
export const BOX_COPY_WORDS = 20;
/** `LSIO_CHUNK_*` (lsio_box_copy.codec). */
export const ChunkCodec = { raw: 0, zstd: 1 } as const;
/** `LSIO_DTYPE_*`. */
export const DtypeCode = {
  int8: 1,
  uint8: 2,
  int16: 3,
  uint16: 4,
  int32: 5,
  uint32: 6,
  int64: 7,
  uint64: 8,
  float32: 9,
  float64: 10,
} as const;
/** `LSIO_REDUCE_*`. */
export const ReduceOp = { sum: 1, minmax: 2, hist: 4 } as const;
