/**
 * The Deno side of the native boundary: `Deno.dlopen` with one typed symbol
 * table. Each parameter's C type is in the comment beside it.
 *
 * @module
 */
import type { Native } from "./native.ts";

const symbols = {
  /** uint32_t lsio_abi_version(void) */
  lsio_abi_version: { parameters: [], result: "u32" },
  /** int lsio_reader_open(const lsio_reader_opts *opts, lsio_reader **out) */
  lsio_reader_open: { parameters: ["buffer", "buffer"], result: "i32" },
  /** void lsio_reader_close(lsio_reader *reader) */
  lsio_reader_close: { parameters: ["pointer"], result: "void" },
  /** int lsio_reader_get_info(lsio_reader *reader, lsio_reader_info *info) */
  lsio_reader_get_info: { parameters: ["pointer", "buffer"], result: "i32" },
  /** int lsio_run(lsio_reader *reader, lsio_batch *batch, uint32_t ops), off the JS thread */
  lsio_run_async: {
    name: "lsio_run",
    parameters: ["pointer", "buffer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  /** int lsio_run(lsio_reader *reader, lsio_batch *batch, uint32_t ops) */
  lsio_run: { parameters: ["pointer", "buffer", "u32"], result: "i32" },
  /** int lsio_reader_set_s3(lsio_reader *reader, const lsio_s3_config *cfg) */
  lsio_reader_set_s3: { parameters: ["pointer", "buffer"], result: "i32" },
  /** int lsio_reader_set_tls(lsio_reader *reader, const lsio_tls_config *cfg) */
  lsio_reader_set_tls: { parameters: ["pointer", "buffer"], result: "i32" },
  /** int lsio_pin_thread(int32_t cpu) */
  lsio_pin_thread: { parameters: ["i32"], result: "i32" },
  /** int lsio_cache_open(const lsio_cache_opts *opts, lsio_cache **out) */
  lsio_cache_open: { parameters: ["buffer", "buffer"], result: "i32" },
  /** lsio_cache *lsio_cache_retain(lsio_cache *cache) */
  lsio_cache_retain: { parameters: ["pointer"], result: "pointer" },
  /** void lsio_cache_release(lsio_cache *cache) */
  lsio_cache_release: { parameters: ["pointer"], result: "void" },
  /** int lsio_cache_get_stats(lsio_cache *cache, lsio_cache_stats *out) */
  lsio_cache_get_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  /** void lsio_cache_clear(lsio_cache *cache) */
  lsio_cache_clear: { parameters: ["pointer"], result: "void" },
  /** int lsio_reduce(lsio_reduction *r) */
  lsio_reduce: { parameters: ["buffer"], result: "i32" },
  /** int lsio_copy_boxes(const lsio_box_copy *c) */
  lsio_copy_boxes: { parameters: ["buffer"], result: "i32" },
} as const;

/**
 * The ABI version of the library at `path`, read before anything else is
 * bound: a library of another version may lack symbols this table names.
 */
export function probeAbi(path: string): number {
  const lib = Deno.dlopen(path, { lsio_abi_version: symbols.lsio_abi_version });
  try {
    return lib.symbols.lsio_abi_version();
  } finally {
    lib.close();
  }
}

/** Opens the library under Deno. */
export function openNative(path: string): Native {
  const lib = Deno.dlopen(path, symbols);
  const s = lib.symbols;
  const ptr = (h: bigint) => Deno.UnsafePointer.create(h);
  return {
    runtime: "deno",
    path,
    abiVersion: () => s.lsio_abi_version(),
    readerOpen: (opts, out) => s.lsio_reader_open(opts, out),
    readerClose: (h) => s.lsio_reader_close(ptr(h)),
    readerInfo: (h, info) => s.lsio_reader_get_info(ptr(h), info),
    readerSetS3: (h, cfg) => s.lsio_reader_set_s3(ptr(h), cfg),
    readerSetTls: (h, cfg) => s.lsio_reader_set_tls(ptr(h), cfg),
    run: (h, batch, ops) => s.lsio_run_async(ptr(h), batch, ops),
    runSync: (h, batch, ops) => s.lsio_run(ptr(h), batch, ops),
    pinThread: (cpu) => s.lsio_pin_thread(cpu),
    cacheOpen: (opts, out) => s.lsio_cache_open(opts, out),
    cacheRetain: (h) => void s.lsio_cache_retain(ptr(h)),
    cacheRelease: (h) => s.lsio_cache_release(ptr(h)),
    cacheStats: (h, out) => s.lsio_cache_get_stats(ptr(h), out),
    cacheClear: (h) => s.lsio_cache_clear(ptr(h)),
    reduce: (r) => s.lsio_reduce(r),
    copyBoxes: (c) => s.lsio_copy_boxes(c),
    addressOf: (view) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view))),
  };
}
