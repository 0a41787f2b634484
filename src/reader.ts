/**
 * The reader: read many byte ranges of many files in one call.
 *
 * Three ways to read, all one native batch per call:
 * - {@linkcode Reader.read}: a list of `{ path, start?, end? }` → bytes or an
 *   error per request, in request order;
 * - {@linkcode Reader.readInto}: each request names its destination
 *   `Uint8Array` (views into one big array are the main use);
 * - {@linkcode Reader.readColumnar}: requests as typed arrays (10^6 and more),
 *   results in one slab plus offset/length/status arrays — no object, Promise
 *   or FFI call per chunk.
 *
 * @module
 */
import { native } from "../ffi/mod.ts";
import { Backend, BatchFlag, BatchWord, type Native, Op, OPTS_WORDS, ReaderFlag } from "../ffi/native.ts";
import { NativeBatch } from "./_batch.ts";
import {
  batchFromColumns,
  batchFromRequests,
  explicitRanges,
  fillDests,
  fillRanges,
  inSlices,
  setIntoDests,
} from "./_columns.ts";
import { HotPath } from "./_hot_path.ts";
import { FolderProfiles, ORDERED_PLAN, setPlan } from "./_plan.ts";
import {
  checkPaths,
  checkPlanOption,
  checkReadOptions,
  INTO_KEYS,
  PAST_EOF,
  READER_KEYS,
  REQUEST_KEYS,
} from "./_read_checks.ts";
import { errorFor } from "./_read_errors.ts";
import { allocAlignedWith } from "./aligned.ts";
import { LsioError } from "./errors.ts";
import { cacheOf, trusted } from "./_internal.ts";
import { type Cache, releaseCache, retainCache } from "./cache.ts";
import type { PlanThresholds } from "./profiles.ts";
import { type BatchStats, ColumnarResult, ReadPlan, takeBatch } from "./read_results.ts";
import { checkS3Options, s3Words } from "./_s3_words.ts";
import { resolveS3Config, type S3Options } from "./s3_config.ts";
import { type RemoteOptions, remoteWords, resolveCaFile } from "./remote_options.ts";
import { setReaderTls } from "./_tls_words.ts";
import { checkBoolean, checkEnum, intOption, options as checkOptions } from "./_strict.ts";

const EBADF = 9;
/** Batches the native core runs at once per reader (its lanes: LANES in csrc/reader.c). */
const LANES = 2;

/** Options of {@linkcode Reader.open}. */
export interface ReaderOptions {
  /** `"auto"` (default): io_uring where the kernel allows it, else `"threads"`. */
  backend?: "auto" | "io_uring" | "threads";
  /** Reads in flight at once (default 64, at most 4096). */
  queueDepth?: number;
  /** Open files with O_DIRECT: bypass the page cache. Padding is never seen. */
  direct?: boolean;
  /** A range past the end of its file: `"error"` (default, ERANGE) or `"truncate"`. */
  pastEof?: "error" | "truncate";
  /** Upper bound on files open at once (default: below RLIMIT_NOFILE). */
  maxOpenFiles?: number;
  /** Pool size of the `"threads"` backend (default 16). */
  threads?: number;
  /**
   * Files kept open from one batch to the next (default 0: each batch opens
   * and closes its files). Saves an `open` per file per batch when batches
   * keep returning to the same files, such as the shards of a Zarr array
   * (`ShardedArray` keeps up to 1024). A path replaced on disk
   * (renamed over) while its file is kept is still read from the old file;
   * at most half of `maxOpenFiles` is kept.
   */
  keepOpen?: number;
  /**
   * Small batches straight from the page cache (default `true`): a batch of
   * at most {@linkcode HOT_PATH_LIMITS} chunks, bytes and (when sizes must be
   * looked up) files is first run on the calling thread with a ring of its
   * own that never waits for a device (`RWF_NOWAIT`, `RESOLVE_CACHED`);
   * whatever is not cached is then read by the reader's thread, each chunk
   * once (`stats.hotChunks`). This saves the two thread hand-overs of a batch
   * (≈ 0.1–0.3 ms here), which dominate small batches such as a Zarr
   * training batch. The event loop is held for the in-memory copy of at most
   * those bytes (and a `statx` per file). Buffered io_uring readers only;
   * `false` sends every batch to the reader's thread.
   */
  hotPath?: boolean;
  /**
   * Remote objects (`http://`, `https://`, `s3://` paths, read with ranged
   * GETs through libcurl on Linux): transfers in flight, connections per
   * host, retries (see {@linkcode RemoteOptions}).
   */
  remote?: RemoteOptions;
  /**
   * How `s3://bucket/key` paths are reached: region, endpoint, credentials,
   * addressing. Each setting beats its environment variable (`AWS_REGION`,
   * `AWS_ENDPOINT_URL_S3`, `AWS_ACCESS_KEY_ID`, … and `~/.aws`); see
   * {@linkcode S3Options}.
   */
  s3?: S3Options;
  /**
   * A RAM cache of byte ranges for every batch (see {@linkcode Cache}): a
   * range it holds is copied from RAM, no I/O; one another batch is reading
   * is waited for, not read again. Remote objects only unless the cache was
   * opened with `local: true`. The reader holds the cache until it closes.
   */
  cache?: Cache;
  /**
   * Planning for every call that does not say otherwise (see
   * {@linkcode PlanOptions}). Default `"ordered"`: batches whose requests
   * already come in (file, offset) order have back-to-back and overlapping
   * requests read together (never a byte nobody asked for; no sort); `false`:
   * every request is read as asked.
   */
  plan?: PlanOptions | "ordered" | false;
}

/**
 * How the planner turns requests into reads: reads of one file whose gap is
 * at most `mergeGap` bytes become one read while it stays at most `mergeMax`
 * bytes (gap bytes are read and dropped; overlapping and duplicate requests
 * are read once); a request longer than `splitSize` is read in pieces at
 * once (remote objects: no more pieces than transfers in flight, so they may
 * be larger). Every request still gets exactly its own bytes in its own place.
 * Thresholds not given come from the storage profile (see
 * {@linkcode PROFILES}); `profile: "auto"` (the default) detects it from the
 * first file of the batch ({@linkcode detectProfile}, cached per device).
 */
export interface PlanOptions extends PlanThresholds {
  /**
   * Merged reads with gaps: `"readv"` scatters straight into the destinations
   * (gaps into a scratch sink), `"copy"` reads into a bounce buffer and copies
   * out. Default `"readv"`: faster in every case measured (bench/README.md).
   * O_DIRECT always copies.
   */
  gaps?: "readv" | "copy";
}

/** What the native core chose. */
export interface ReaderInfo {
  /** The backend in use. */
  backend: "io_uring" | "threads";
  /** Reads in flight at once. */
  queueDepth: number;
  /** IORING_SETUP_* flags the kernel accepted (0 for threads). */
  ringFlags: number;
  /** Files kept open at once. */
  maxOpenFiles: number;
  /** Pool size (threads backend). */
  threads: number;
  /** The remote-object settings in force (defaults filled in; `caFile` undefined: the system's CAs). */
  remote: Required<Omit<RemoteOptions, "caFile">> & { caFile: string | undefined };
  /** Where the native library was loaded from. */
  libraryPath: string;
}

/** Progress of a running batch. */
export interface Progress {
  /** Chunks finished (read or failed). */
  chunksDone: number;
  /** Chunks in the batch. */
  chunks: number;
  /** Bytes delivered so far. */
  bytesDone: number;
}

/** Options of each read call. */
export interface ReadOptions {
  /** Cancels the batch: in-flight reads finish, the rest get ECANCELED, the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called about every `progressIntervalMs` while the batch runs, and once at the end. */
  onProgress?: (progress: Progress) => void;
  /** Default 100. */
  progressIntervalMs?: number;
  /** Overrides the reader's `pastEof` for this batch. */
  pastEof?: "error" | "truncate";
  /** Overrides the reader's `plan` for this batch. */
  plan?: PlanOptions | "ordered" | false;
  /**
   * `false`: this batch skips the hot path and runs on the reader's thread
   * even when small and cached — for a batch read ahead (prefetched) while
   * JS works on the previous one, so the two overlap. No effect where the
   * reader has no hot path. Default: the reader's {@linkcode ReaderOptions.hotPath}.
   */
  hotPath?: boolean;
}

/** One request of {@linkcode Reader.read}. */
export interface ReadRequest {
  /** The file. */
  path: string;
  /** First byte; negative counts from the end (default 0). */
  start?: number;
  /** One past the last byte; negative counts from the end; omitted: to EOF. */
  end?: number;
}

/** One request of {@linkcode Reader.readInto}: where the bytes go. */
export interface ReadIntoRequest extends ReadRequest {
  /** Destination; at least as long as the range. */
  dest: Uint8Array;
}

/** Requests as columns, for {@linkcode Reader.readColumnar}. */
export interface ColumnarRequests {
  /** The files; `file[i]` indexes into this. */
  paths: readonly string[];
  /** File index of each request. */
  file: Uint32Array;
  /** Start of each range (negative: from the end). */
  start: Float64Array | BigInt64Array;
  /** End of each range (negative: from the end; Infinity: to EOF). Omitted: every range to EOF. */
  end?: Float64Array | BigInt64Array;
  /**
   * Where the bytes go: chunk i lands at `dest.buffer[dest.offsets[i]]`.
   * Omitted: LSIO lays the chunks out in one 4096-aligned slab.
   */
  dest?: { buffer: Uint8Array; offsets: Float64Array | BigUint64Array };
}

/**
 * For the worker pool (module-internal, not part of the public API): the
 * requests resolved against their files' sizes in a batch whose arrays are
 * shared with the workers; `trustRanges` skips the sizes for explicit ranges,
 * `withDest` takes requests that name their destinations.
 */
export let resolveSharedBatch: (
  reader: Reader,
  requests: ColumnarRequests | readonly ReadRequest[],
  options?: ReadOptions,
  trustRanges?: boolean,
  withDest?: boolean,
) => Promise<NativeBatch>;

const readers = new FinalizationRegistry<{ lib: Native; handle: bigint; cache?: { lib: Native; handle: bigint } }>(
  ({ lib, handle, cache }) => {
    lib.readerClose(handle);
    releaseCache(cache);
  },
);

/**
 * Which batches {@linkcode ReaderOptions.hotPath} runs on the calling thread
 * first: at most `chunks` requests, `bytes` bytes (known before the read:
 * explicit ranges) and, when file sizes must be looked up (statx, which a
 * file whose inode is not in memory makes wait for the disk), `files` files.
 * The bounds keep the event loop's hold short: copying 1 MiB from the page
 * cache takes ≈ 0.1–0.3 ms here, a cached-only open ≈ 2–3 µs.
 *
 * @example
 * ```ts
 * import { HOT_PATH_LIMITS, Reader } from "../mod.ts";
 * await Deno.writeFile("/tmp/lsio_hot.bin", new Uint8Array(8192).fill(7));
 * await using reader = await Reader.open(); // hotPath: true
 * const [a] = await reader.read([{ path: "/tmp/lsio_hot.bin", start: 0, end: 4096 }]); // cached: on this thread
 * console.log((a as Uint8Array)[0], HOT_PATH_LIMITS.chunks >= 1); // 7 true
 * ```
 */
export const HOT_PATH_LIMITS: { readonly chunks: number; readonly bytes: number; readonly files: number } = {
  chunks: 2048,
  bytes: 4 * 2 ** 20,
  files: 16,
};

/**
 * A reader: one native I/O thread with its own io_uring ring (or thread pool),
 * fed one batch at a time; a batch of remote objects only (URLs, s3:// paths)
 * may also run on a second native thread beside it, so a batch read ahead over
 * the network has its transfers in flight while the one before it finishes.
 * Batches given while two run wait their turn, in order.
 *
 * @example
 * ```ts
 * import { Reader } from "../mod.ts";
 * await Deno.writeTextFile("/tmp/lsio_example.txt", "hello, world");
 * await using reader = await Reader.open();
 * const [head, tail] = await reader.read([
 *   { path: "/tmp/lsio_example.txt", start: 0, end: 5 },
 *   { path: "/tmp/lsio_example.txt", start: -5 },
 * ]);
 * console.log(new TextDecoder().decode(head as Uint8Array)); // hello
 * console.log(new TextDecoder().decode(tail as Uint8Array)); // world
 * ```
 */
export class Reader implements Disposable, AsyncDisposable {
  readonly #lib: Native;
  #handle: bigint;
  readonly #pastEof: "error" | "truncate";
  readonly #plan: PlanOptions | "ordered" | false;
  readonly #info: ReaderInfo;
  /** Native calls this reader may have at once (the core's lanes, csrc/reader.c); more wait here, in order. */
  #slots = LANES;
  readonly #waiting: (() => void)[] = [];
  #running = 0;
  /** Resolves close() once the last batch in flight has finished. */
  #drained: (() => void) | undefined;
  readonly #current = new Set<NativeBatch>();
  #closed: Promise<void> | undefined;
  readonly #token = {};
  /** Profiles `plan: { profile: "auto" }` detected, by folder of a batch's first file. */
  readonly #profiles = new FolderProfiles();
  /** The hot path (see {@linkcode ReaderOptions.hotPath}); undefined where the reader has none. */
  readonly #hot: HotPath | undefined;
  /** The cache every batch goes through (a reference held until close), if any. */
  readonly #cache: { lib: Native; handle: bigint } | undefined;

  private constructor(
    lib: Native,
    handle: bigint,
    options: ReaderOptions,
    opts: Uint32Array,
    cache: { lib: Native; handle: bigint } | undefined,
    /** The CA bundle open() set (resolved there once). */
    caFile: string | undefined,
  ) {
    this.#lib = lib;
    this.#handle = handle;
    this.#cache = cache;
    this.#pastEof = options.pastEof ?? "error";
    this.#plan = options.plan ?? "ordered";
    const info = new Uint32Array(new ArrayBuffer(OPTS_WORDS * 4));
    lib.readerInfo(handle, info);
    this.#info = {
      backend: info[0] === Backend.io_uring ? "io_uring" : "threads",
      queueDepth: info[1],
      ringFlags: info[2],
      maxOpenFiles: info[3],
      threads: info[4],
      remote: {
        inflight: info[6],
        connections: info[7],
        retries: info[8],
        stallMs: info[9],
        retryMs: info[10],
        caFile,
      },
      libraryPath: lib.path,
    };
    readers.register(this, { lib, handle, cache }, this.#token);
    if (options.hotPath !== false && this.#info.backend === "io_uring" && !options.direct) {
      this.#hot = new HotPath(lib, opts, HOT_PATH_LIMITS);
    }
  }

  /**
   * Opens a reader. Throws {@linkcode LsioError} when the backend asked for
   * cannot start (e.g. `backend: "io_uring"` where io_uring is disabled).
   */
  static async open(options: ReaderOptions = {}): Promise<Reader> {
    checkOptions(options, READER_KEYS, "Reader.open options");
    const lib = await native();
    const opts = new Uint32Array(new ArrayBuffer(OPTS_WORDS * 4));
    const backend = checkEnum(options.backend, ["auto", "io_uring", "threads"] as const, "backend") ?? "auto";
    opts[0] = Backend[backend];
    opts[1] = intOption(options.queueDepth, "queueDepth", 1, 4096) ?? 0;
    opts[2] = checkBoolean(options.direct, "direct") ? ReaderFlag.direct : 0;
    opts[3] = intOption(options.threads, "threads", 1, 4096) ?? 0;
    opts[4] = intOption(options.maxOpenFiles, "maxOpenFiles", 1, 0xffffffff) ?? 0;
    opts[5] = intOption(options.keepOpen, "keepOpen", 0, 0xffffffff) ?? 0;
    remoteWords(options.remote, opts);
    checkEnum(options.pastEof, PAST_EOF, "pastEof");
    checkPlanOption(options.plan);
    checkBoolean(options.hotPath, "hotPath");
    const s3 = resolveS3Config(checkS3Options(options.s3));
    const cache = options.cache === undefined ? undefined : retainCache(options.cache);
    const out = new BigUint64Array(new ArrayBuffer(8));
    const rc = lib.readerOpen(opts, out);
    if (rc < 0) {
      releaseCache(cache);
      throw new LsioError(rc, { op: `open reader (backend ${backend})` });
    }
    const set = lib.readerSetS3(out[0], s3Words(lib, s3));
    if (set < 0) {
      lib.readerClose(out[0]);
      releaseCache(cache);
      throw new LsioError(set, { op: "set the reader's S3 settings" });
    }
    const ca = resolveCaFile(options.remote);
    const tls = setReaderTls(lib, out[0], ca?.file);
    if (tls < 0) {
      lib.readerClose(out[0]);
      releaseCache(cache);
      throw new LsioError(tls, { path: ca?.file, op: `read the CA file (${ca?.from})` });
    }
    return new Reader(lib, out[0], options, opts, cache, ca?.file);
  }

  /** What the native core chose: backend, queue depth, ring flags. */
  get info(): ReaderInfo {
    return { ...this.#info };
  }

  /** True once {@linkcode Reader.close} was called. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Resolves every range against its file's size (one statx per file, no
   * read): the lengths are known before anything is read or allocated. Pass
   * the plan to {@linkcode Reader.read} to read it (once).
   */
  async plan(requests: readonly ReadRequest[], options: ReadOptions = {}): Promise<ReadPlan> {
    checkReadOptions(options, "Reader.plan options");
    return await this.#resolvePlan(requests, options, 0);
  }

  /** RESOLVE + LAYOUT; `flags`: BatchFlag.lazySuffix when the caller reads the plan at once. */
  async #resolvePlan(requests: readonly ReadRequest[], options: ReadOptions, flags: number): Promise<ReadPlan> {
    const batch = batchFromRequests(this.#lib, requests);
    batch.unlimitedCapacity();
    batch.layoutAlign = 64;
    await this.#run(batch, Op.resolve | Op.layout, options, flags);
    return new ReadPlan(requests, batch);
  }

  /**
   * Reads every range; each result is its bytes (views into one 4096-aligned
   * slab, each chunk 64-byte aligned) or an {@linkcode LsioError}. One failed
   * chunk never fails the batch.
   */
  async read(
    requests: readonly ReadRequest[] | ReadPlan,
    options: ReadOptions = {},
  ): Promise<(Uint8Array | LsioError)[]> {
    checkReadOptions(options, "Reader.read options");
    // Read at once: a pure suffix of a remote object needs no HEAD (its GET asks `bytes=-N`).
    const plan = requests instanceof ReadPlan
      ? requests
      : await this.#resolvePlan(requests, options, BatchFlag.lazySuffix);
    const batch = takeBatch(plan);
    const { data } = await this.#readPlanned(batch, options);
    const list = plan.requests;
    const out: (Uint8Array | LsioError)[] = new Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const st = batch.status[i];
      if (st !== 0) {
        out[i] = errorFor(list[i], st, batch, i);
      } else {
        const off = batch.destOf(i);
        out[i] = data.subarray(off, off + batch.lengthOf(i));
      }
    }
    return out;
  }

  /**
   * Reads every range straight into its `dest` (no intermediate copy). Each
   * result is the number of bytes written, or an {@linkcode LsioError}.
   */
  async readInto(requests: readonly ReadIntoRequest[], options: ReadOptions = {}): Promise<(number | LsioError)[]> {
    checkReadOptions(options, "Reader.readInto options");
    const batch = batchFromRequests(this.#lib, requests, false, INTO_KEYS);
    setIntoDests(this.#lib, batch, requests);
    await this.#run(batch, Op.resolve | Op.read, options);
    const out: (number | LsioError)[] = new Array(requests.length);
    for (let i = 0; i < requests.length; i++) {
      const st = batch.status[i];
      out[i] = st === 0 ? batch.lengthOf(i) : errorFor(requests[i], st, batch, i);
    }
    return out;
  }

  /**
   * Reads a columnar batch: one native call, no per-chunk objects. Results
   * land in one 4096-aligned slab (64-byte aligned chunks) or in
   * `requests.dest`.
   */
  async readColumnar(requests: ColumnarRequests, options: ReadOptions = {}): Promise<ColumnarResult> {
    checkReadOptions(options, "Reader.readColumnar options");
    const batch = batchFromColumns(this.#lib, requests, false);
    const { dest } = requests;
    const n = batch.count;
    if (dest && dest.offsets.length !== n) {
      throw new RangeError(`dest.offsets has ${dest.offsets.length} entries, not ${n}`);
    }
    const buf = dest?.buffer;
    const base = buf ? Number(this.#lib.addressOf(buf)) : 0;
    const offs = dest?.offsets;
    // The columns are copied into the native batch in slices, the event loop served in between:
    // 2^20 requests take 25-40 ms to copy here, too long to hold timers and I/O callbacks back.
    const filling = inSlices(n, (lo, hi) => {
      fillRanges(batch, requests.start, requests.end, lo, hi);
      if (buf && offs) fillDests(batch, buf, base, offs, lo, hi);
    });
    if (filling) await filling;
    if (!buf) {
      const slab = await this.#readIntoSlab(batch, options);
      return new ColumnarResult(batch, slab.data, 0, slab.stats);
    }
    batch.pin(buf);
    // Trusted explicit ranges: no statx round (see TRUSTED_RANGES); capacities still checked.
    const skip = trusted(options) && explicitRanges(batch, { bytes: buf.byteLength, base });
    const stats = await this.#run(batch, skip ? Op.read : Op.resolve | Op.read, options);
    return new ColumnarResult(batch, buf, base, stats);
  }

  /**
   * Sizes of files in bytes (statx, no open): a number, or an
   * {@linkcode LsioError} per path.
   */
  async fileSizes(paths: readonly string[], options: ReadOptions = {}): Promise<(number | LsioError)[]> {
    checkReadOptions(options, "Reader.fileSizes options");
    checkPaths(paths);
    const batch = new NativeBatch(this.#lib, paths, 0);
    await this.#run(batch, Op.stat, options);
    return paths.map((path, f) => {
      const v = Number(batch.fileSize[f]);
      return v < 0 ? new LsioError(v, { path, op: "stat" }) : v;
    });
  }

  /**
   * Closes the reader. Idempotent. A batch still running is cancelled and
   * the native reader is freed once it has finished; `await` the returned
   * promise (or use `await using`) to know it is gone.
   */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    readers.unregister(this.#token);
    for (const b of this.#current) b.cancel();
    const handle = this.#handle;
    this.#handle = 0n;
    this.#hot?.close();
    const cache = this.#cache;
    if (this.#running === 0) {
      this.#lib.readerClose(handle);
      releaseCache(cache);
      this.#closed = Promise.resolve();
    } else {
      this.#closed = new Promise<void>((r) => (this.#drained = r)).then(() => {
        this.#lib.readerClose(handle);
        releaseCache(cache);
      });
    }
    return this.#closed;
  }

  /** Same as {@linkcode Reader.close}. */
  [Symbol.dispose](): void {
    void this.close();
  }

  /** Closes and waits until the native reader is gone. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  static {
    resolveSharedBatch = (reader, ...args) => reader.#resolveShared(...args);
  }

  /**
   * For the worker pool: the requests (a list or columns) resolved against
   * their files' sizes (RESOLVE, no read) in a batch whose arrays are shared
   * with the workers.
   */
  async #resolveShared(
    requests: ColumnarRequests | readonly ReadRequest[],
    options: ReadOptions = {},
    trustRanges = false,
    withDest = false,
  ): Promise<NativeBatch> {
    let batch: NativeBatch;
    if (Array.isArray(requests)) {
      const keys = withDest ? INTO_KEYS : REQUEST_KEYS;
      batch = batchFromRequests(this.#lib, requests as readonly ReadRequest[], true, keys);
    } else {
      const columns = requests as ColumnarRequests;
      if (!withDest && columns?.dest !== undefined) {
        throw new TypeError('Columnar requests: "dest" is taken by readInto only (this call has its own destination)');
      }
      batch = batchFromColumns(this.#lib, columns, true);
      const filling = inSlices(batch.count, (lo, hi) => fillRanges(batch, columns.start, columns.end, lo, hi));
      if (filling) await filling;
    }
    batch.unlimitedCapacity();
    // Ranges known to lie inside their files (a shard index says so): no statx
    // round trip; a range that is not after all fails when read (ENODATA).
    if (trustRanges && explicitRanges(batch)) return batch;
    await this.#run(batch, Op.resolve, { ...options, onProgress: undefined, plan: false });
    return batch;
  }

  /** After RESOLVE+LAYOUT: allocate the slab, READ. */
  async #readPlanned(batch: NativeBatch, options: ReadOptions): Promise<{ data: Uint8Array; stats: BatchStats }> {
    const data = allocAlignedWith(this.#lib, batch.word(BatchWord.layoutBytes), { align: 4096 });
    batch.setDestBase(this.#lib.addressOf(data), data);
    const stats = await this.#run(batch, Op.read, options);
    return { data, stats };
  }

  /** RESOLVE+LAYOUT, allocate the slab, READ. */
  async #readIntoSlab(batch: NativeBatch, options: ReadOptions): Promise<{ data: Uint8Array; stats: BatchStats }> {
    batch.unlimitedCapacity();
    batch.layoutAlign = 64;
    await this.#run(batch, Op.resolve | Op.layout, options, BatchFlag.lazySuffix); // read next: no HEAD for suffixes
    return this.#readPlanned(batch, options);
  }

  /**
   * Runs ops on the reader's threads, with progress and abort. The core runs
   * batches of local files one at a time, and a batch of remote objects only
   * beside another (its second lane): a batch read ahead over the network has
   * its transfers in flight while the one before it waits for its last bytes.
   */
  async #run(batch: NativeBatch, ops: number, options: ReadOptions, flags = 0): Promise<BatchStats> {
    const { signal, onProgress } = options;
    const pastEof = options.pastEof ?? this.#pastEof;
    batch.flags = (pastEof === "truncate" ? BatchFlag.truncateEof : 0) | flags;
    batch.struct[BatchWord.cache] = cacheOf(options, this.#cache?.handle ?? 0n);
    const asked = options.plan ?? this.#plan;
    checkPlanOption(asked);
    // "ordered": adjacent and overlapping requests only, and only when no sort is needed.
    const plan = asked === "ordered" ? ORDERED_PLAN : asked;
    if (plan && (ops & Op.read)) {
      ops |= Op.plan;
      const auto = (plan.profile ?? "auto") === "auto";
      const detected = auto && batch.paths.length ? await this.#profiles.detect(batch.paths[0]) : undefined;
      setPlan(batch, plan, detected, asked === "ordered");
    }
    signal?.throwIfAborted();
    this.#running++;
    let holds = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    const onAbort = () => batch.cancel();
    const report = () =>
      onProgress?.({
        chunksDone: batch.word(BatchWord.chunksDone),
        chunks: batch.count,
        bytesDone: batch.word(BatchWord.bytesDone),
      });
    try {
      if (this.#slots > 0) this.#slots--;
      else await new Promise<void>((r) => this.#waiting.push(r));
      holds = true;
      if (this.#handle === 0n) throw new LsioError(-EBADF, { op: "the reader is closed" });
      signal?.throwIfAborted();
      signal?.addEventListener("abort", onAbort, { once: true });
      if (onProgress) timer = setInterval(report, options.progressIntervalMs ?? 100);
      this.#current.add(batch);
      const t0 = performance.now();
      // The hot path first where it may serve the batch; the thread reads what it left (or all of it).
      const hot = options.hotPath !== false ? this.#hot : undefined;
      const notCached = hot?.eligible(batch, ops) ? hot.run(batch, ops) : -1;
      let rc = notCached < -1 ? notCached : 0;
      if (notCached === -1) rc = await this.#lib.run(this.#handle, batch.struct, ops);
      else if (notCached > 0) {
        batch.flags = batch.flags | BatchFlag.redoEagain;
        rc = await this.#lib.run(this.#handle, batch.struct, ops & (Op.read | Op.plan));
        batch.flags = batch.flags & ~BatchFlag.redoEagain;
      }
      const hotChunks = notCached < 0 ? 0 : batch.count - notCached;
      const seconds = (performance.now() - t0) / 1000;
      if (rc < 0) throw new LsioError(rc, { op: "batch" });
      report();
      signal?.throwIfAborted();
      return {
        chunks: batch.count,
        bytes: batch.word(BatchWord.bytesDone),
        failed: batch.word(BatchWord.failed),
        readsIssued: batch.word(BatchWord.readsIssued),
        misaligned: batch.word(BatchWord.misaligned),
        seconds,
        hotChunks,
        ...(ops & Op.plan && batch.word(BatchWord.planReads) > 0
          ? {
            profile: batch.profile,
            plannedReads: batch.word(BatchWord.planReads),
            plannedBytes: batch.word(BatchWord.planBytes),
            planSeconds: batch.word(BatchWord.planNs) / 1e9,
          }
          : {}),
      };
    } finally {
      this.#current.delete(batch);
      if (timer !== undefined) clearInterval(timer);
      signal?.removeEventListener("abort", onAbort);
      if (holds) {
        const next = this.#waiting.shift(); // the slot passes to the next waiting batch, in order
        if (next) next();
        else this.#slots++;
      }
      if (--this.#running === 0) this.#drained?.();
    }
  }
}
