/**
 * The Bun side of the native boundary: `bun:ffi` with one typed symbol
 * table. Each parameter's C type is in the comment beside it.
 *
 * Bun has no nonblocking FFI calls, so `run` hands the batch to the reader's
 * own native thread with `lsio_submit` and polls the batch's `state` word in
 * JS memory (no FFI call per poll) until C marks it done.
 *
 * Type names are strings on purpose: `FFIType.buffer` as an enum value fails
 * in `dlopen`, the string `"buffer"` works.
 *
 * @module
 */
// @ts-ignore: bun:ffi exists only under Bun; Deno never loads this file.
import { dlopen, ptr } from "bun:ffi";
import { BatchWord, type Native, STATE_DONE } from "./native.ts";

const symbols = {
  /** uint32_t lsio_abi_version(void) */
  lsio_abi_version: { args: [], returns: "u32" },
  /** int lsio_reader_open(const lsio_reader_opts *opts, lsio_reader **out) */
  lsio_reader_open: { args: ["buffer", "buffer"], returns: "i32" },
  /** void lsio_reader_close(lsio_reader *reader) */
  lsio_reader_close: { args: ["ptr"], returns: "void" },
  /** int lsio_reader_get_info(lsio_reader *reader, lsio_reader_info *info) */
  lsio_reader_get_info: { args: ["ptr", "buffer"], returns: "i32" },
  /** int lsio_submit(lsio_reader *reader, lsio_batch *batch, uint32_t ops) */
  lsio_submit: { args: ["ptr", "buffer", "u32"], returns: "i32" },
  /** int lsio_wait(lsio_reader *reader, lsio_batch *batch) */
  lsio_wait: { args: ["ptr", "buffer"], returns: "i32" },
  /** int lsio_run(lsio_reader *reader, lsio_batch *batch, uint32_t ops) */
  lsio_run: { args: ["ptr", "buffer", "u32"], returns: "i32" },
  /** int lsio_reader_set_s3(lsio_reader *reader, const lsio_s3_config *cfg) */
  lsio_reader_set_s3: { args: ["ptr", "buffer"], returns: "i32" },
  /** int lsio_reader_set_tls(lsio_reader *reader, const lsio_tls_config *cfg) */
  lsio_reader_set_tls: { args: ["ptr", "buffer"], returns: "i32" },
  /** int lsio_pin_thread(int32_t cpu) */
  lsio_pin_thread: { args: ["i32"], returns: "i32" },
  /** int lsio_cache_open(const lsio_cache_opts *opts, lsio_cache **out) */
  lsio_cache_open: { args: ["buffer", "buffer"], returns: "i32" },
  /** lsio_cache *lsio_cache_retain(lsio_cache *cache) */
  lsio_cache_retain: { args: ["ptr"], returns: "ptr" },
  /** void lsio_cache_release(lsio_cache *cache) */
  lsio_cache_release: { args: ["ptr"], returns: "void" },
  /** int lsio_cache_get_stats(lsio_cache *cache, lsio_cache_stats *out) */
  lsio_cache_get_stats: { args: ["ptr", "buffer"], returns: "i32" },
  /** void lsio_cache_clear(lsio_cache *cache) */
  lsio_cache_clear: { args: ["ptr"], returns: "void" },
  /** int lsio_reduce(lsio_reduction *r) */
  lsio_reduce: { args: ["buffer"], returns: "i32" },
  /** int lsio_copy_boxes(const lsio_box_copy *c) */
  lsio_copy_boxes: { args: ["buffer"], returns: "i32" },
} as const;

const nextTick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls by setImmediate (other tasks still run) this long before backing off to timers. */
const SPIN_MS = 2;

/**
 * The ABI version of the library at `path`, read before anything else is
 * bound: a library of another version may lack symbols this table names.
 */
export function probeAbi(path: string): number {
  const lib = dlopen(path, { lsio_abi_version: symbols.lsio_abi_version });
  try {
    return lib.symbols.lsio_abi_version();
  } finally {
    lib.close();
  }
}

/** Opens the library under Bun. */
export function openNative(path: string): Native {
  const s = dlopen(path, symbols).symbols;
  return {
    runtime: "bun",
    path,
    abiVersion: () => s.lsio_abi_version(),
    readerOpen: (opts, out) => s.lsio_reader_open(opts, out),
    readerClose: (h) => s.lsio_reader_close(Number(h)),
    readerInfo: (h, info) => s.lsio_reader_get_info(Number(h), info),
    readerSetS3: (h, cfg) => s.lsio_reader_set_s3(Number(h), cfg),
    readerSetTls: (h, cfg) => s.lsio_reader_set_tls(Number(h), cfg),
    run: async (h, batch, ops) => {
      const rc = s.lsio_submit(Number(h), batch, ops);
      if (rc < 0) return rc;
      // Short batches are polled every event-loop turn (setImmediate lets
      // timers and I/O run in between), so a small batch costs microseconds,
      // not a timer tick; long ones are then polled every millisecond.
      const t0 = performance.now();
      while (batch[BatchWord.state] !== STATE_DONE) {
        if (performance.now() - t0 < SPIN_MS) await nextTick();
        else await sleep(1);
      }
      return s.lsio_wait(Number(h), batch); // returns at once: joins C's view of the batch
    },
    runSync: (h, batch, ops) => s.lsio_run(Number(h), batch, ops),
    pinThread: (cpu) => s.lsio_pin_thread(cpu),
    cacheOpen: (opts, out) => s.lsio_cache_open(opts, out),
    cacheRetain: (h) => void s.lsio_cache_retain(Number(h)),
    cacheRelease: (h) => s.lsio_cache_release(Number(h)),
    cacheStats: (h, out) => s.lsio_cache_get_stats(Number(h), out),
    cacheClear: (h) => s.lsio_cache_clear(Number(h)),
    reduce: (r) => s.lsio_reduce(r),
    copyBoxes: (c) => s.lsio_copy_boxes(c),
    addressOf: (view) => BigInt(ptr(view)),
  };
}
