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
import { setImmediate } from "node:timers";
import { native } from "../ffi/mod.ts";
import { Backend, BatchFlag, BatchWord, type Native, Op, OPTS_WORDS, ReaderFlag } from "../ffi/native.ts";
import { NativeBatch } from "./_batch.ts";
import { isRemotePath } from "./_paths.ts";
import { allocAlignedWith } from "./aligned.ts";
import { type ByteRange, LsioError } from "./errors.ts";
import { setInt64, setOpenEnd } from "./_int64.ts";
import { cacheOf, trusted } from "./_internal.ts";
import { type Cache, releaseCache, retainCache } from "./cache.ts";
import { detectProfile, type PlanThresholds, type ProfileName, resolvePlanOptions } from "./profiles.ts";
import { checkS3Options, s3Words } from "./_s3_words.ts";
import { resolveS3Config, type S3Options } from "./s3_config.ts";
import { type RemoteOptions, remoteWords } from "./remote_options.ts";
import {
  checkBoolean,
  checkEnum,
  checkFunction,
  checkKeys,
  describe,
  intOption,
  options as checkOptions,
} from "./_strict.ts";

const EBADF = 9;
const EAGAIN = 11;
const EINVAL = 22;

const READER_KEYS = [
  "backend",
  "queueDepth",
  "direct",
  "pastEof",
  "maxOpenFiles",
  "threads",
  "keepOpen",
  "hotPath",
  "plan",
  "remote",
  "s3",
  "cache",
] as const;
/** The keys of {@linkcode ReadOptions}. */
export const READ_KEYS = ["signal", "onProgress", "progressIntervalMs", "pastEof", "plan", "hotPath"] as const;
const PLAN_KEYS = ["profile", "mergeGap", "mergeMax", "splitSize", "gaps"] as const;
const REQUEST_KEYS = ["path", "start", "end"] as const;
const INTO_KEYS = ["path", "start", "end", "dest"] as const;
const COLUMN_KEYS = ["paths", "file", "start", "end", "dest"] as const;
const DEST_KEYS = ["buffer", "offsets"] as const;
const PAST_EOF = ["error", "truncate"] as const;

/** ReadPlan's batch, handed to a read once (set by ReadPlan's static block; module-internal). */
let takeBatch: (plan: ReadPlan) => NativeBatch;

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
 * once. Every request still gets exactly its own bytes in its own place.
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
  /** The remote-object settings in force (defaults filled in). */
  remote: Required<RemoteOptions>;
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

/** Statistics of a finished batch. */
export interface BatchStats {
  /** Requests in the batch. */
  chunks: number;
  /** Bytes delivered. */
  bytes: number;
  /** Chunks that failed. */
  failed: number;
  /** Read syscalls or io_uring SQEs issued. */
  readsIssued: number;
  /** Destinations not aligned to 64 bytes (slower: see README). */
  misaligned: number;
  /** Wall time of the batch in seconds. */
  seconds: number;
  /**
   * Requests settled on the calling thread by the hot path (see
   * {@linkcode ReaderOptions.hotPath}): all of them when everything was
   * cached, 0 when the batch went to the reader's thread.
   */
  hotChunks: number;
  /** The storage profile the plan's thresholds came from (undefined when not planned). */
  profile?: string;
  /** Reads the planner made of the requests (undefined when not planned). */
  plannedReads?: number;
  /** Bytes those reads cover, gaps included (undefined when not planned). */
  plannedBytes?: number;
  /** Time spent planning, in seconds (undefined when not planned). */
  planSeconds?: number;
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
 * The outcome of {@linkcode Reader.readColumnar}: every chunk in `data`,
 * found through `offsetOf(i)`/`lengthOf(i)`, or failed with `status[i] < 0`.
 *
 * @example
 * ```ts
 * import { Reader } from "../mod.ts";
 * await Deno.writeFile("/tmp/lsio_columnar_example.bin", new Uint8Array(8192).fill(7));
 * await using reader = await Reader.open();
 * const res = await reader.readColumnar({
 *   paths: ["/tmp/lsio_columnar_example.bin"],
 *   file: new Uint32Array([0, 0]),
 *   start: new Float64Array([0, 4096]),
 *   end: new Float64Array([4096, 8192]),
 * });
 * console.log(res.length, res.lengthOf(1), res.status[1], (res.chunk(1) as Uint8Array)[0]); // 2 4096 0 7
 * ```
 */
export class ColumnarResult {
  /** Every chunk's bytes: LSIO's slab, or the caller's `dest.buffer`. */
  readonly data: Uint8Array;
  /** 0, or the negative errno of each chunk. */
  readonly status: Int32Array;
  /** Batch statistics. */
  readonly stats: BatchStats;
  readonly #batch: NativeBatch;
  readonly #destBase: number;

  /** @internal */
  constructor(batch: NativeBatch, data: Uint8Array, destBase: number, stats: BatchStats) {
    this.#batch = batch;
    this.data = data;
    this.status = batch.status;
    this.stats = stats;
    this.#destBase = destBase;
  }

  /** Number of chunks. */
  get length(): number {
    return this.#batch.count;
  }
  /** Where chunk i starts in `data`. */
  offsetOf(i: number): number {
    return this.#batch.destOf(i) - this.#destBase;
  }
  /** Bytes of chunk i (0 when it failed). */
  lengthOf(i: number): number {
    return this.#batch.lengthOf(i);
  }
  /** File offset chunk i was read from. */
  fileOffsetOf(i: number): number {
    return this.#batch.offsetOf(i);
  }
  /** Chunk i's bytes (a view into `data`), or its error. */
  chunk(i: number): Uint8Array | LsioError {
    const st = this.status[i];
    if (st !== 0) return chunkError(this.#batch, i, st, this.#ranges);
    const off = this.offsetOf(i);
    return this.data.subarray(off, off + this.lengthOf(i));
  }
  /** The error of chunk i, or undefined. */
  error(i: number): LsioError | undefined {
    const st = this.status[i];
    return st === 0 ? undefined : chunkError(this.#batch, i, st, this.#ranges);
  }
  #ranges = (i: number): ByteRange => {
    const s = this.#batch.start32, e = this.#batch.end32;
    const start = int64At(s, i);
    const open = e[2 * i] === 0xffffffff && e[2 * i + 1] === 0x7fffffff;
    return open ? { start } : { start, end: int64At(e, i) };
  };
}

function chunkError(
  batch: NativeBatch,
  i: number,
  status: number,
  range: (i: number) => ByteRange,
): LsioError {
  return requestError(batch, i, status, range(i));
}

/**
 * The error of request i of a batch: with its path, or — when its file index
 * lies outside the batch's paths — saying so.
 */
export function requestError(batch: NativeBatch, i: number, status: number, range: ByteRange): LsioError {
  const f = batch.file[i], files = batch.paths.length;
  if (status === -EINVAL && f >= files) {
    return new LsioError(status, {
      op: `file index ${f} outside paths, which has ${files} path${files === 1 ? "" : "s"}`,
      range,
    });
  }
  const remote = batch.remoteDetail(i);
  return new LsioError(status, { path: batch.paths[f], range, ...(remote ? { remote } : {}) });
}

/**
 * Ranges resolved against their files' sizes, not read yet: from
 * {@linkcode Reader.plan}, read once by {@linkcode Reader.read}.
 *
 * @example
 * ```ts
 * import { Reader } from "../mod.ts";
 * await Deno.writeTextFile("/tmp/lsio_plan_example.txt", "abcdef");
 * await using reader = await Reader.open();
 * const plan = await reader.plan([{ path: "/tmp/lsio_plan_example.txt", start: -4 }]);
 * console.log(plan.lengthOf(0), plan.totalBytes); // 4 4
 * const [bytes] = await reader.read(plan);
 * console.log(new TextDecoder().decode(bytes as Uint8Array)); // cdef
 * ```
 */
export class ReadPlan {
  /** The requests, in order. */
  readonly requests: readonly ReadRequest[];
  #batch: NativeBatch | undefined;

  /** @internal */
  constructor(requests: readonly ReadRequest[], batch: NativeBatch) {
    this.requests = requests;
    this.#batch = batch;
  }

  #get(): NativeBatch {
    if (!this.#batch) throw new TypeError("This plan was already read; plan again to read again");
    return this.#batch;
  }
  /** Bytes request i will deliver (0 when it fails). */
  lengthOf(i: number): number {
    return this.#get().lengthOf(i);
  }
  /** File offset request i starts at. */
  fileOffsetOf(i: number): number {
    return this.#get().offsetOf(i);
  }
  /** Why request i will fail, or undefined. */
  error(i: number): LsioError | undefined {
    const b = this.#get();
    const st = b.status[i];
    return st === 0 ? undefined : errorFor(this.requests[i], st, b, i);
  }
  /** Sum of the resolved lengths. */
  get totalBytes(): number {
    const b = this.#get();
    let sum = 0;
    for (let i = 0; i < b.count; i++) sum += b.lengthOf(i);
    return sum;
  }
  static {
    // Hands the batch to a read, once (module-internal: see takePlanBatch).
    takeBatch = (plan) => {
      const b = plan.#get();
      plan.#batch = undefined;
      return b;
    };
  }
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

function checkPath(path: unknown): string {
  if (typeof path !== "string") throw new TypeError(`A path is a string, got ${typeof path}`);
  if (path.length === 0) throw new TypeError("A path is a non-empty string");
  if (path.includes("\0")) throw new TypeError(`Path ${JSON.stringify(path)} contains a NUL byte`);
  return path;
}

function checkRange(start: unknown, end: unknown, what: string): void {
  if (typeof start !== "number") throw new TypeError(`${what}: start is a number, got ${describe(start)}`);
  if (end !== undefined && typeof end !== "number") {
    throw new TypeError(`${what}: end is a number (or omitted: to EOF), got ${describe(end)}`);
  }
  if (!Number.isSafeInteger(start)) {
    throw new TypeError(`${what}: start ${String(start)} is not a safe integer`);
  }
  if (end !== undefined && !Number.isSafeInteger(end)) {
    throw new TypeError(`${what}: end ${String(end)} is not a safe integer`);
  }
  if ((start as number) >= 0 && end !== undefined && (end as number) >= 0 && (end as number) < (start as number)) {
    throw new RangeError(`${what}: range ${start}..${end} ends before it starts`);
  }
}

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
 * fed one batch at a time. Batches given while one runs wait their turn.
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
  #queue: Promise<void> = Promise.resolve();
  #running = 0;
  #current: NativeBatch | undefined;
  #closed: Promise<void> | undefined;
  readonly #token = {};
  /** Profiles `plan: { profile: "auto" }` detected, by folder of a batch's first file (bounded). */
  readonly #profiles = new Map<string, ProfileName>();
  /** The hot path's ring, on the thread that opened the reader (0n: not opened yet; -1n: unavailable). */
  #hot = 0n;
  readonly #hotToken = {};
  readonly #hotOpts: Uint32Array | undefined;
  /** Eligible batches to send straight to the thread after the hot path found data not cached. */
  #hotSkip = 0;
  #hotBackoff = 0;
  /** The cache every batch goes through (a reference held until close), if any. */
  readonly #cache: { lib: Native; handle: bigint } | undefined;

  private constructor(
    lib: Native,
    handle: bigint,
    options: ReaderOptions,
    opts: Uint32Array,
    cache: { lib: Native; handle: bigint } | undefined,
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
      remote: { inflight: info[6], connections: info[7], retries: info[8], stallMs: info[9], retryMs: info[10] },
      libraryPath: lib.path,
    };
    readers.register(this, { lib, handle, cache }, this.#token);
    if (options.hotPath !== false && this.#info.backend === "io_uring" && !options.direct) {
      const o = opts.slice();
      o[0] = Backend.io_uring;
      o[2] = ReaderFlag.inline;
      this.#hotOpts = o;
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
    return new Reader(lib, out[0], options, opts, cache);
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
    const batch = this.#fromRequests(requests);
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
    const batch = this.#fromRequests(requests, false, INTO_KEYS);
    const bases = new Map<ArrayBufferLike, number>();
    for (let i = 0; i < requests.length; i++) {
      const { dest, start = 0, end } = requests[i];
      if (!(dest instanceof Uint8Array)) throw new TypeError(`Request ${i}: dest is not a Uint8Array`);
      if (start >= 0 && end !== undefined && end >= 0 && end - start > dest.byteLength) {
        throw new RangeError(
          `Request ${i}: range ${start}..${end} (${end - start} bytes) does not fit dest of ${dest.byteLength} bytes`,
        );
      }
      let base = bases.get(dest.buffer);
      if (base === undefined) {
        base = Number(this.#lib.addressOf(new Uint8Array(dest.buffer)));
        bases.set(dest.buffer, base);
        batch.pin(dest.buffer);
      }
      batch.setDest(i, base + dest.byteOffset);
      batch.setCapacity(i, dest.byteLength);
    }
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
    const batch = this.#fromColumnar(requests, false);
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
      if (!buf || !offs) return;
      for (let i = lo; i < hi; i++) {
        const o = Number(offs[i]);
        if (!(o >= 0 && o <= buf.byteLength) || !Number.isInteger(o)) {
          throw new RangeError(`dest.offsets[${i}] = ${o} lies outside dest.buffer (${buf.byteLength} bytes)`);
        }
        batch.setDest(i, base + o);
        batch.setCapacity(i, buf.byteLength - o); // C refuses (ENOBUFS) anything longer
      }
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
    if (!Array.isArray(paths)) throw new TypeError(`paths is an array of strings, got ${describe(paths)}`);
    paths.forEach(checkPath);
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
    this.#current?.cancel();
    const handle = this.#handle;
    this.#handle = 0n;
    if (this.#hot > 0n) {
      readers.unregister(this.#hotToken);
      this.#lib.readerClose(this.#hot); // never busy: the hot path runs synchronously
    }
    this.#hot = -1n;
    const cache = this.#cache;
    if (this.#running === 0) {
      this.#lib.readerClose(handle);
      releaseCache(cache);
      this.#closed = Promise.resolve();
    } else {
      this.#closed = this.#queue.then(() => {
        this.#lib.readerClose(handle);
        releaseCache(cache);
      });
    }
    return this.#closed;
  }

  /** A read batch small enough, and known to be, for the hot path (see {@linkcode ReaderOptions.hotPath}). */
  #hotEligible(batch: NativeBatch, ops: number): boolean {
    if (!this.#hotOpts || this.#hot < 0n || batch.hasRemote) return false;
    const resolving = (ops & (Op.resolve | Op.stat)) !== 0;
    if (batch.count > HOT_PATH_LIMITS.chunks || (resolving && batch.paths.length > HOT_PATH_LIMITS.files)) return false;
    const reading = (ops & Op.read) !== 0;
    if (reading && boundedBytes(batch, !resolving, HOT_PATH_LIMITS.bytes) > HOT_PATH_LIMITS.bytes) return false;
    if (reading && this.#hotSkip > 0) { // file sizes and layouts never wait for data: always hot
      this.#hotSkip--;
      return false;
    }
    return true;
  }

  /**
   * Runs a batch on this thread's own ring, page cache only. Returns how many
   * requests were not cached (-EAGAIN: the reader's thread reads just those,
   * REDO_EAGAIN), -1 when the hot ring cannot be had (the thread runs it
   * all), or the run's -errno below -1.
   */
  #runHot(batch: NativeBatch, ops: number): number {
    if (this.#hot === 0n) {
      const out = new BigUint64Array(new ArrayBuffer(8));
      if (this.#lib.readerOpen(this.#hotOpts!, out) < 0) {
        this.#hot = -1n;
        return -1;
      }
      this.#hot = out[0];
      readers.register(this, { lib: this.#lib, handle: this.#hot }, this.#hotToken);
    }
    const flags = batch.flags;
    batch.flags = flags | BatchFlag.nowait;
    const rc = this.#lib.runSync(this.#hot, batch.struct, ops);
    batch.flags = flags;
    if (rc < 0) return rc < -1 ? rc : -5; // (-1 is EPERM: never from an owned ring; report it as EIO)
    let again = 0;
    if (batch.word(BatchWord.failed) > 0) {
      const st = batch.status;
      for (let i = 0; i < batch.count; i++) again += st[i] === -EAGAIN ? 1 : 0;
    }
    if (again > 0) { // a cold working set: skip the hot path for a while (1, 2, 4, … 64 batches)
      this.#hotBackoff = Math.min(64, Math.max(1, 2 * this.#hotBackoff));
      this.#hotSkip = this.#hotBackoff;
    } else {
      this.#hotBackoff = 0;
    }
    return again;
  }

  /**
   * The detected profile of `path`'s storage, remembered per folder (a
   * detection costs ≈ 0.5 ms; a reader planning batch after batch of the same
   * files asks once).
   */
  async #detect(path: string): Promise<{ profile: ProfileName }> {
    if (isRemotePath(path)) return { profile: "cloud" };
    const slash = path.lastIndexOf("/");
    const folder = slash > 0 ? path.slice(0, slash) : path;
    let profile = this.#profiles.get(folder);
    if (profile === undefined) {
      profile = (await detectProfile(path, { measure: false, pageCache: false })).profile;
      if (this.#profiles.size >= 256) this.#profiles.delete(this.#profiles.keys().next().value!);
      this.#profiles.set(folder, profile);
    }
    return { profile };
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
      batch = this.#fromRequests(requests as readonly ReadRequest[], true, withDest ? INTO_KEYS : REQUEST_KEYS);
    } else {
      const columns = requests as ColumnarRequests;
      if (!withDest && columns?.dest !== undefined) {
        throw new TypeError('Columnar requests: "dest" is taken by readInto only (this call has its own destination)');
      }
      batch = this.#fromColumnar(columns, true);
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

  /** The native batch for columnar requests, checked; the caller fills the ranges (fillRanges, in slices). */
  #fromColumnar(requests: ColumnarRequests, shared: boolean): NativeBatch {
    if (requests === null || typeof requests !== "object" || Array.isArray(requests)) {
      throw new TypeError(`Columnar requests are an object of columns, got ${describe(requests)}`);
    }
    checkKeys(requests, COLUMN_KEYS, "Columnar requests");
    const { paths, file, start, end, dest } = requests;
    if (!(file instanceof Uint32Array)) throw new TypeError(`file is a Uint32Array, got ${describe(file)}`);
    const n = file.length;
    const isColumn = (c: unknown) => c instanceof Float64Array || c instanceof BigInt64Array;
    if (!isColumn(start)) throw new TypeError(`start is a Float64Array or BigInt64Array, got ${describe(start)}`);
    if (end !== undefined && !isColumn(end)) {
      throw new TypeError(`end is a Float64Array or BigInt64Array (or omitted: to EOF), got ${describe(end)}`);
    }
    if (start.length !== n || (end && end.length !== n)) {
      throw new RangeError(`file, start and end differ in length (${n}, ${start?.length}, ${end?.length})`);
    }
    if (dest !== undefined) {
      if (dest === null || typeof dest !== "object") {
        throw new TypeError(`dest is { buffer, offsets }, got ${describe(dest)}`);
      }
      checkKeys(dest, DEST_KEYS, "dest");
      if (!(dest.buffer instanceof Uint8Array)) {
        throw new TypeError(`dest.buffer is a Uint8Array, got ${describe(dest.buffer)}`);
      }
      if (!(dest.offsets instanceof Float64Array || dest.offsets instanceof BigUint64Array)) {
        throw new TypeError(`dest.offsets is a Float64Array or BigUint64Array, got ${describe(dest.offsets)}`);
      }
    }
    if (!Array.isArray(paths)) throw new TypeError(`paths is an array of strings, got ${describe(paths)}`);
    paths.forEach(checkPath);
    const batch = new NativeBatch(this.#lib, paths, n, shared);
    batch.file.set(file);
    return batch;
  }

  #fromRequests(requests: readonly ReadRequest[], shared = false, keys: readonly string[] = REQUEST_KEYS): NativeBatch {
    if (!Array.isArray(requests)) throw new TypeError(`requests are an array, got ${describe(requests)}`);
    const index = new Map<string, number>();
    const paths: string[] = [];
    const files = new Uint32Array(requests.length);
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i];
      if (r === null || typeof r !== "object") throw new TypeError(`Request ${i} is not an object`);
      checkKeys(r, keys, `Request ${i}`);
      const path = checkPath(r.path);
      checkRange(r.start ?? 0, r.end, `Request ${i} (${path})`);
      let f = index.get(path);
      if (f === undefined) {
        f = paths.length;
        paths.push(path);
        index.set(path, f);
      }
      files[i] = f;
    }
    const batch = new NativeBatch(this.#lib, paths, requests.length, shared);
    batch.file.set(files);
    for (let i = 0; i < requests.length; i++) batch.setRange(i, requests[i].start ?? 0, requests[i].end);
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

  /** Runs ops on the reader's thread, one batch at a time, with progress and abort. */
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
      const detected = auto && batch.paths.length ? await this.#detect(batch.paths[0]) : undefined;
      const t = resolvePlanOptions(plan, detected);
      batch.setPlan(t);
      batch.profile = t.profile;
      if (plan.gaps === "copy") batch.flags = batch.flags | BatchFlag.planCopy;
      if (asked === "ordered") batch.flags = batch.flags | BatchFlag.planIfOrdered;
    }
    signal?.throwIfAborted();
    const previous = this.#queue;
    let release!: () => void;
    this.#queue = new Promise((r) => (release = r));
    this.#running++;
    let timer: ReturnType<typeof setInterval> | undefined;
    const onAbort = () => batch.cancel();
    const report = () =>
      onProgress?.({
        chunksDone: batch.word(BatchWord.chunksDone),
        chunks: batch.count,
        bytesDone: batch.word(BatchWord.bytesDone),
      });
    try {
      await previous;
      if (this.#handle === 0n) throw new LsioError(-EBADF, { op: "the reader is closed" });
      signal?.throwIfAborted();
      signal?.addEventListener("abort", onAbort, { once: true });
      if (onProgress) timer = setInterval(report, options.progressIntervalMs ?? 100);
      this.#current = batch;
      const t0 = performance.now();
      // The hot path first where it may serve the batch; the thread reads what it left (or all of it).
      const notCached = options.hotPath !== false && this.#hotEligible(batch, ops) ? this.#runHot(batch, ops) : -1;
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
      this.#current = undefined;
      if (timer !== undefined) clearInterval(timer);
      signal?.removeEventListener("abort", onAbort);
      this.#running--;
      release();
    }
  }
}

/** Checks read options before any I/O: keys, types and enum values. */
export function checkReadOptions(o: ReadOptions, what: string, keys: readonly string[] = READ_KEYS): void {
  checkOptions(o, keys, what);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(`signal is an AbortSignal, got ${describe(o.signal)}`);
  }
  checkFunction(o.onProgress, "onProgress");
  intOption(o.progressIntervalMs, "progressIntervalMs", 1, 2 ** 31);
  checkEnum(o.pastEof, PAST_EOF, "pastEof");
  checkPlanOption(o.plan);
  checkBoolean(o.hotPath, "hotPath");
}

/** `plan`: false, "ordered" or plan options (checked). */
function checkPlanOption(p: unknown): void {
  if (p === undefined || p === false || p === "ordered") return;
  if (p === null || typeof p !== "object") {
    throw new TypeError(
      `plan is false, "ordered" or { profile?, mergeGap?, mergeMax?, splitSize?, gaps? }, got ${describe(p)}`,
    );
  }
  checkPlan(p as PlanOptions);
}

/** The i-th int64 of a column seen as 32-bit words (little-endian; exact below 2^53). */
function int64At(words: Uint32Array, i: number): number {
  return words[2 * i] + (words[2 * i + 1] | 0) * 4294967296;
}

/** Reads of at most `limit` bytes in all, known before reading; else Infinity. */
function boundedBytes(batch: NativeBatch, resolved: boolean, limit: number): number {
  const n = batch.count;
  let total = 0;
  if (resolved) { // lengths are known (READ without RESOLVE)
    const l = batch.length32;
    for (let i = 0; i < n && total <= limit; i++) total += int64At(l, i);
    return total;
  }
  const s = batch.start32, e = batch.end32;
  for (let i = 0; i < n && total <= limit; i++) {
    if (e[2 * i + 1] === 0x7fffffff) return Infinity; // open end: the file's size decides
    const a = int64At(s, i), b = int64At(e, i);
    if ((a < 0) !== (b < 0) && b !== 0) return Infinity; // from the start to the end's offset: size decides
    total += Math.max(0, b - a);
  }
  return total;
}

/** The default plan: merge only what touches or overlaps, up to 256 KiB reads. */
const ORDERED_PLAN: PlanOptions = { profile: "ram", mergeGap: 0, mergeMax: 256 * 1024, splitSize: 0 };

/** Checks plan options before any I/O (the profile may be resolved later). */
function checkPlan(p: PlanOptions): void {
  checkKeys(p, PLAN_KEYS, "plan");
  checkEnum(p.gaps, ["readv", "copy"] as const, "plan.gaps");
  resolvePlanOptions(p, { profile: "ssd" }); // throws TypeError/RangeError for bad profiles and thresholds
}

function errorFor(r: ReadRequest, status: number, batch?: NativeBatch, i = 0): LsioError {
  const range: ByteRange = { start: r.start ?? 0 };
  if (r.end !== undefined) range.end = r.end;
  const remote = batch?.remoteDetail(i);
  return new LsioError(status, { path: r.path, range, ...(remote ? { remote } : {}) });
}

/**
 * Resolves a batch whose ranges are all explicit and non-negative without the
 * files' sizes: offset = start, length = end - start. Returns false, changing
 * nothing, when some range counts from the end, runs to EOF, or (with
 * `dest`) does not fit its destination — RESOLVE must handle those.
 */
function explicitRanges(batch: NativeBatch, dest?: { bytes: number; base: number }): boolean {
  const s = batch.start32, e = batch.end32, n = batch.count, files = batch.paths.length;
  for (let i = 0; i < n; i++) {
    const a = int64At(s, i), b = int64At(e, i);
    if (a < 0 || b < 0 || e[2 * i + 1] === 0x7fffffff) return false;
    if (b < a) return false;
    if (dest && batch.destOf(i) - dest.base + (b - a) > dest.bytes) return false;
  }
  const o = batch.offset32, l = batch.length32;
  for (let i = 0; i < n; i++) {
    const a = int64At(s, i), b = int64At(e, i);
    o[2 * i] = s[2 * i], o[2 * i + 1] = s[2 * i + 1];
    setInt64(l, i, b - a);
    batch.status[i] = batch.file[i] < files ? 0 : -22; // EINVAL, as RESOLVE says
  }
  return true;
}

/** Requests per slice of work done between two looks at the clock. */
const SLICE = 65536;
/** Longest the event loop waits while a batch's columns are copied (ms). */
const SLICE_BUDGET_MS = 4;

/**
 * Runs fn over [0, n) in slices, letting the event loop run whenever
 * SLICE_BUDGET_MS has gone by. A batch of one slice runs at once, with no
 * await (the hot path's round trip stays as short as it was).
 */
function inSlices(n: number, fn: (lo: number, hi: number) => void): Promise<void> | undefined {
  if (n <= SLICE) {
    fn(0, n);
    return undefined;
  }
  return (async () => {
    let since = performance.now();
    for (let lo = 0; lo < n; lo += SLICE) {
      const hi = Math.min(n, lo + SLICE);
      fn(lo, hi);
      if (hi < n && performance.now() - since > SLICE_BUDGET_MS) {
        await new Promise((r) => setImmediate(r)); // a macrotask: timers and I/O callbacks run first
        since = performance.now();
      }
    }
  })();
}

/** Requests [lo, hi) of the start and end columns into the batch. */
function fillRanges(
  batch: NativeBatch,
  start: Float64Array | BigInt64Array,
  end: Float64Array | BigInt64Array | undefined,
  lo: number,
  hi: number,
): void {
  fillColumn(batch.start32, start, lo, hi, "start", false);
  if (end === undefined) { for (let i = lo; i < hi; i++) setOpenEnd(batch.end32, i); }
  else fillColumn(batch.end32, end, lo, hi, "end", true);
}

/** Copies elements [lo, hi) of one int64 column from numbers (Infinity: open end) or BigInts. */
function fillColumn(
  words: Uint32Array,
  column: Float64Array | BigInt64Array,
  lo: number,
  hi: number,
  name: string,
  infinityIsOpen: boolean,
): void {
  if (column instanceof BigInt64Array) {
    new BigInt64Array(words.buffer, words.byteOffset + 8 * lo, hi - lo).set(column.subarray(lo, hi));
    return;
  }
  for (let i = lo; i < hi; i++) {
    const x = column[i];
    if (Number.isSafeInteger(x)) setInt64(words, i, x);
    else if (infinityIsOpen && x === Infinity) setOpenEnd(words, i);
    else throw new TypeError(`${name}[${i}] = ${x} is not a safe integer${infinityIsOpen ? " or Infinity" : ""}`);
  }
}
