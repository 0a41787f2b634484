/**
 * Transforms on every core: a pool of Web Workers, one per core by default,
 * each pinned to its core (`sched_setaffinity` on the worker's own thread)
 * and owning its own io_uring ring. A batch is resolved once (sizes, negative
 * ranges), grouped by file, cut into tasks of neighbouring chunks
 * and shared out by locality; idle workers steal (SharedArrayBuffer +
 * Atomics). Each worker reads a task's chunks into its own reused buffer with
 * one FFI call and runs the transform on them while they are in its cache.
 *
 * Read modes, one method each: {@linkcode WorkerPool.map} (a value per chunk),
 * {@linkcode WorkerPool.transformInto} (the transform writes into one shared
 * final array), {@linkcode WorkerPool.readInto} (no transform: chunks land in
 * the final array straight from the kernel), {@linkcode WorkerPool.reduce}
 * (sum, mean, min/max, histogram, natively in C per task) and
 * {@linkcode WorkerPool.stream} (chunks in request order, bounded memory).
 *
 * @module
 */
import { native } from "../ffi/mod.ts";
import { Backend, DtypeCode, type Native, OPTS_WORDS, ReduceOp, ReductionWord } from "../ffi/native.ts";
import type { NativeBatch } from "./_batch.ts";
import { type Dtype, DTYPES, TYPED_ARRAYS } from "./dtype.ts";
import { type ByteRange, LsioError } from "./errors.ts";
import {
  checkBoolean,
  checkEnum,
  checkFunction,
  checkKeys,
  describe,
  finiteOption,
  intOption,
  options as checkOptions,
} from "./_strict.ts";
import {
  type BatchMessage,
  type DoneMessage,
  fillShares,
  type PoolMode,
  type ReduceSpec,
  type TransformSpec,
  type WorkColumns,
} from "./_pool_shared.ts";
import type { InitMessage } from "./_pool_worker.ts";
import type { BoxCopySpec } from "./_boxcopy.ts";
import {
  type ColumnarRequests,
  type Progress,
  Reader,
  type ReadIntoRequest,
  type ReadOptions,
  type ReadRequest,
  resolveSharedBatch,
} from "./reader.ts";
import type { BatchStats } from "./read_results.ts";
import { checkReadOptions } from "./_read_checks.ts";
import { requestError } from "./_read_errors.ts";
import { cacheOf, trusted } from "./_internal.ts";
import { type Cache, releaseCache, retainCache } from "./cache.ts";
import { checkS3Options } from "./_s3_words.ts";
import { PROFILES } from "./profiles.ts";
import type { Storage } from "./_storage.ts";
import { type ResolvedS3, resolveS3Config, type S3Options } from "./s3_config.ts";
import { type RemoteOptions, remoteWords, resolveCaFile } from "./remote_options.ts";

/** The remote words of lsio_reader_opts (6..10) a worker's reader takes, checked once here. */
function remoteOpts(remote: RemoteOptions | undefined): Uint32Array {
  const opts = new Uint32Array(OPTS_WORDS);
  remoteWords(remote, opts);
  return opts.slice(6, 11);
}

/**
 * The Zarr reader's raw path (module-internal, not part of the public API):
 * each chunk's part of its box copied (or converted) natively into `dest`,
 * one call per task.
 */
export let copyBoxesInto: (
  pool: WorkerPool,
  requests: PoolRequests,
  dest: ArrayBufferView,
  spec: BoxCopySpec,
  options: PoolCallOptions,
) => Promise<PoolResult>;
/** A worker died: fail what it was doing and start a replacement (set by WorkerPool's static block). */
let replaceWorker: (pool: WorkerPool, k: number, why: string) => Promise<void>;

const ECANCELED = 125;
const EMSGSIZE = 90;
const ENOBUFS = 105;

const POOL_KEYS = [
  "workers",
  "pin",
  "backend",
  "queueDepth",
  "direct",
  "keepOpen",
  "pastEof",
  "bufferBytes",
  "taskChunks",
  "mergeMax",
  "scratchBytes",
  "remote",
  "s3",
  "cache",
] as const;
const CALL_KEYS = ["signal", "onProgress", "progressIntervalMs", "pastEof"] as const;
const TRANSFORM_KEYS = [...CALL_KEYS, "transform", "dtype", "args"] as const;
const INTO_KEYS = [...TRANSFORM_KEYS, "dest", "stride"] as const;
const REDUCE_KEYS = [...CALL_KEYS, "dtype", "bins", "range", "minmax"] as const;
const STREAM_KEYS = [...CALL_KEYS, "window"] as const;
/** Element types a reduction takes (bool: its bytes are uint8). */
const REDUCE_DTYPES = [
  "int8",
  "uint8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "float32",
  "float64",
] as const;

type PoolConfig = Required<Omit<WorkerPoolOptions, "backend" | "pastEof" | "s3" | "remote" | "cache">> & {
  remote: Uint32Array;
  caFile: string | undefined;
  backend: "auto" | "io_uring" | "threads";
  pastEof: "error" | "truncate";
  s3: ResolvedS3;
};

/** Lets a worker's error handler reach the pool that owns it (set once the pool exists). */
interface PoolRef {
  pool?: WorkerPool;
}
const KiB = 1024;
/**
 * Batches handed to the workers at once: the next batch is prepared and queued
 * behind the current one (a worker reads its messages in order), so the
 * workers go from one batch to the next without waiting for the main thread.
 */
const MAX_INFLIGHT = 2;

/** Options of {@linkcode WorkerPool.open}. */
export interface WorkerPoolOptions {
  /** Workers (default: one per core, `navigator.hardwareConcurrency`). */
  workers?: number;
  /** Pin worker i to core i mod cores (default true). */
  pin?: boolean;
  /** Each worker's backend (default `"auto"`). */
  backend?: "auto" | "io_uring" | "threads";
  /** Reads in flight per worker ring (default 128). */
  queueDepth?: number;
  /** O_DIRECT reads. */
  direct?: boolean;
  /**
   * Files each worker keeps open from one task to the next (default 0), as
   * the reader option `keepOpen`: for batches that keep returning to
   * the same files, such as the shards of a Zarr array.
   */
  keepOpen?: number;
  /** A range past the end of its file: `"error"` (default) or `"truncate"`. */
  pastEof?: "error" | "truncate";
  /** Remote objects: each worker's transfers in flight and retries, as the reader option {@linkcode ReaderOptions.remote}. */
  remote?: RemoteOptions;
  /** How `s3://` paths are reached, as the reader option {@linkcode ReaderOptions.s3}; the workers sign alike. */
  s3?: S3Options;
  /**
   * A RAM cache of byte ranges the workers' reads go through (see
   * {@linkcode Cache}): shared by all workers (and whatever else it is given
   * to), so a range one worker read is not read again by another. Held by
   * the pool until it closes.
   */
  cache?: Cache;
  /**
   * Bytes of each worker's reused read buffer; a task is as many neighbouring
   * chunks as fit (default 2 MiB). A chunk larger than this gets a task of
   * its own.
   */
  bufferBytes?: number;
  /**
   * At most this many chunks per task (default 256). A batch too small to give
   * every worker 4 such tasks is cut finer (down to 16 chunks a task), so the
   * workers can steal from each other and finish together.
   */
  taskChunks?: number;
  /** Merge adjacent chunks into reads of up to this many bytes (default 256 KiB; 0: never). */
  mergeMax?: number;
  /** Bytes of `ctx.scratch` per worker (default 64 KiB). */
  scratchBytes?: number;
}

/**
 * A transform: a module and the name of its export (functions cannot be sent
 * to a worker), or a plain function that is sent as source text — it must be
 * self-contained: no closure variables, no imports, not a method shorthand.
 * It may return a Promise (e.g. a WASM codec): a task's promises are settled
 * before its buffer is reused; read `ctx` before the first `await` (the
 * context object is reused for the next chunk).
 */
export type Transform<T = unknown> =
  | { module: string | URL; name?: string }
  // deno-lint-ignore no-explicit-any
  | ((chunk: never, ctx: ChunkContext<any>) => T);

/**
 * What a transform gets besides the chunk. One object per worker, reused for
 * every chunk: read its fields, do not keep it.
 */
// deno-lint-ignore no-explicit-any
export interface ChunkContext<A = any> {
  /** The request's index in the batch. */
  index: number;
  /** The worker running the transform (0-based). */
  worker: number;
  /** The request's file, as an index into the batch's paths. */
  fileIndex: number;
  /** The file offset the chunk was read from. */
  fileOffset: number;
  /** {@linkcode WorkerPool.transformInto}: the caller's destination array. */
  dest: unknown;
  /** {@linkcode WorkerPool.transformInto}: this request's part of `dest` starts here (elements). */
  destStart: number;
  /** {@linkcode WorkerPool.transformInto}: and ends here (exclusive; `destStart + stride`). */
  destEnd: number;
  /** Per-worker scratch memory, reused (64-byte aligned). */
  scratch: Uint8Array;
  /** The call's `args`. */
  args: A;
}

/**
 * Requests: a list of `{ path, start?, end? }` or columns (see
 * {@linkcode ColumnarRequests}). Up to two calls are handed to the workers at
 * once (each worker takes them in order, so it goes from one batch to the next
 * without waiting for the main thread); more wait their turn. A call reads its
 * requests when its turn comes: keep them unchanged until its promise settles.
 */
export type PoolRequests = readonly ReadRequest[] | Omit<ColumnarRequests, "dest">;

/**
 * Requests of {@linkcode WorkerPool.readInto}: each names its destination, as
 * for {@linkcode Reader.readInto} (a list, each `dest` a view of one
 * SharedArrayBuffer) or {@linkcode Reader.readColumnar} (columns with
 * `dest: { buffer, offsets }`, `buffer` SharedArrayBuffer-backed).
 */
export type PoolReadIntoRequests =
  | readonly ReadIntoRequest[]
  | (Omit<ColumnarRequests, "dest"> & Required<Pick<ColumnarRequests, "dest">>);

/** Options of every pool call. */
export interface PoolCallOptions
  extends Pick<ReadOptions, "signal" | "onProgress" | "progressIntervalMs" | "pastEof"> {}

/** Options of {@linkcode WorkerPool.map} and {@linkcode WorkerPool.transformInto}. */
export interface TransformOptions<T = unknown> extends PoolCallOptions {
  /** The transform, run on every chunk in a worker. */
  transform: Transform<T>;
  /**
   * The element type the transform sees each chunk as (default `"uint8"`:
   * its bytes; 64-byte aligned). A chunk whose length is not a whole number
   * of elements fails with `EMSGSIZE` (no bytes are dropped).
   */
  dtype?: Dtype;
  /**
   * Parameters for the transform, sent once per batch to each worker
   * (structured clone; SharedArrayBuffers are shared) and seen as `ctx.args`.
   */
  args?: unknown;
}

/** Options of {@linkcode WorkerPool.transformInto}. */
export interface TransformIntoOptions extends TransformOptions {
  /** The final array, backed by a SharedArrayBuffer; the transform writes into it. */
  dest: ArrayBufferView;
  /** Elements of `dest` per request: `ctx.destStart = index * stride` (default `dest.length / requests`). */
  stride?: number;
}

/** A native reduction: sum, mean, min/max and/or a histogram over all chunks. */
export interface ReduceOptions extends PoolCallOptions {
  /**
   * Element type of the chunks (little-endian; not `bool`). A chunk whose
   * length is not a whole number of elements fails with `EMSGSIZE` and is
   * not reduced.
   */
  dtype: Exclude<Dtype, "bool">;
  /** Histogram over `[range[0], range[1])` with this many bins (omitted: no histogram). */
  bins?: number;
  /** The histogram's `[lo, hi)` (with `bins`). */
  range?: [number, number];
  /** Compute min/max (default true). */
  minmax?: boolean;
}

/** The result of {@linkcode WorkerPool.reduce}. */
export interface Reduction {
  /** Sum of every element (NaN if any element is NaN). */
  sum: number;
  /** sum / elements (NaN when there are none). */
  mean: number;
  /** Smallest non-NaN element (Infinity when there are none). */
  min: number;
  /** Largest non-NaN element (-Infinity when there are none). */
  max: number;
  /** Elements seen (NaNs included). */
  elements: number;
  /** NaN elements. */
  nans: number;
  /** Histogram counts, with the elements below and at/above the range. */
  histogram?: { counts: number[]; below: number; above: number; range: [number, number] };
  /** Chunks reduced (failed chunks are not). */
  chunks: number;
  /** Chunks that failed to read, by request index. */
  errors: Map<number, LsioError>;
  /** Batch statistics. */
  stats: PoolStats;
}

/** Statistics of a pool batch. */
export interface PoolStats extends BatchStats {
  /** Per worker: tasks run, steals, chunks. */
  workers: { tasks: number; stolen: number; chunks: number }[];
  /** Tasks the batch was cut into. */
  tasks: number;
  /** Time spent resolving and ordering the batch on the main thread, in seconds. */
  prepareSeconds: number;
}

/** What every pool call but map returns. */
export interface PoolResult {
  /** Per-chunk failures (read errors and transforms that threw), by request index. */
  errors: Map<number, LsioError | TransformError>;
  /** Batch statistics. */
  stats: PoolStats;
}

/**
 * A transform threw for one chunk: only that chunk fails.
 *
 * @example
 * ```ts
 * import { TransformError } from "./pool.ts";
 * const e = new TransformError("boom", { path: "/data/a.bin", range: { start: 0, end: 4096 }, index: 3 });
 * console.log(e.message); // Transform failed on /data/a.bin, bytes 0..4096 (request 3): boom
 * ```
 */
export class TransformError extends Error {
  /** The file of the chunk. */
  readonly path: string;
  /** The range as requested. */
  readonly range: ByteRange;
  /** The request's index. */
  readonly index: number;
  /** The name of what the transform threw (e.g. "TypeError"). */
  readonly causeName: string;

  /** The transform's message, and which chunk it failed on. */
  constructor(message: string, where: { path: string; range: ByteRange; index: number; causeName?: string }) {
    super(
      `Transform failed on ${where.path}, bytes ${where.range.start}..${
        where.range.end ?? "EOF"
      } (request ${where.index}): ${message}`,
    );
    this.name = "TransformError";
    this.path = where.path;
    this.range = where.range;
    this.index = where.index;
    this.causeName = where.causeName ?? "Error";
  }
}

/** One chunk from {@linkcode WorkerPool.stream}. */
export interface StreamChunk {
  /** The request's index. */
  index: number;
  /** The bytes (valid until the stream has moved two windows on: copy to keep), or undefined on error. */
  bytes?: Uint8Array;
  /** The chunk's error, if it failed. */
  error?: LsioError;
}

/** Options of {@linkcode WorkerPool.stream}. */
export interface StreamOptions extends PoolCallOptions {
  /** Requests read per window (default 4096); at most two windows are in memory. */
  window?: number;
}

interface Slot {
  worker: Worker;
  pinned: number;
  backend: number;
}

interface Prepared {
  batch: NativeBatch;
  columns: WorkColumns;
  tasks: Uint32Array;
  taskBytes: Float64Array;
  seconds: number;
}

/** Typed arrays whose elements a transformInto output can be. */
function isShared(view: ArrayBufferView): boolean {
  return typeof SharedArrayBuffer !== "undefined" && view.buffer instanceof SharedArrayBuffer;
}

/**
 * A pool of pinned workers, each with its own ring.
 *
 * @example
 * ```ts
 * import { WorkerPool } from "../mod.ts";
 * const path = "/tmp/lsio_pool_example.bin";
 * await Deno.writeFile(path, new Uint8Array(4 * 4096).map((_, i) => i >> 12));
 * await using pool = await WorkerPool.open({ workers: 2 });
 * const requests = [0, 1, 2, 3].map((k) => ({ path, start: k * 4096, end: (k + 1) * 4096 }));
 * const firsts = await pool.map(requests, { transform: (chunk: Uint8Array) => chunk[0] });
 * console.log(firsts); // [ 0, 1, 2, 3 ]
 * const { sum } = await pool.reduce(requests, { dtype: "uint8" });
 * console.log(sum); // 24576
 * ```
 */
export class WorkerPool implements AsyncDisposable {
  readonly #lib: Native;
  readonly #options: PoolConfig;
  readonly #reader: Reader;
  /** The cache the workers' reads go through (a reference held until close), if any. */
  #cache: { lib: Native; handle: bigint } | undefined;
  readonly #slots: (Slot | undefined)[];
  #batchId = 0;
  #closed: Promise<void> | undefined;
  /** Batches dispatched and not yet done, by id: their cancel word and what fails them when a worker dies. */
  readonly #inflight = new Map<number, { control: Int32Array; dying(k: number, e: Error): void }>();
  /** Calls running (waiting, prepared, dispatched or gathering), each settled when it ends: close() waits for them. */
  readonly #calls = new Set<Promise<void>>();
  /** Free places among the MAX_INFLIGHT batches, and the calls waiting for one. */
  #free = MAX_INFLIGHT;
  readonly #waiting: (() => void)[] = [];

  private constructor(lib: Native, reader: Reader, options: PoolConfig, slots: Slot[]) {
    this.#lib = lib;
    this.#reader = reader;
    this.#options = options;
    this.#slots = slots;
  }

  /** Starts the workers (each pins itself and opens its ring) and waits until all are ready. */
  static async open(options: WorkerPoolOptions = {}): Promise<WorkerPool> {
    checkOptions(options, POOL_KEYS, "WorkerPool.open options");
    const lib = await native();
    const cores = Math.max(1, navigator.hardwareConcurrency || 1);
    const o = {
      workers: intOption(options.workers, "workers", 1, 1024) ?? cores,
      pin: checkBoolean(options.pin, "pin") ?? true,
      backend: checkEnum(options.backend, ["auto", "io_uring", "threads"] as const, "backend") ?? "auto",
      queueDepth: intOption(options.queueDepth, "queueDepth", 1, 4096) ?? 0,
      direct: checkBoolean(options.direct, "direct") ?? false,
      keepOpen: intOption(options.keepOpen, "keepOpen", 0, 2 ** 31) ?? 0,
      pastEof: checkEnum(options.pastEof, ["error", "truncate"] as const, "pastEof") ?? "error",
      bufferBytes: intOption(options.bufferBytes, "bufferBytes", 4096, 2 ** 31) ?? 2048 * KiB,
      taskChunks: intOption(options.taskChunks, "taskChunks", 1, 2 ** 20) ?? 256,
      mergeMax: intOption(options.mergeMax, "mergeMax", 0, 2 ** 30) ?? 256 * KiB,
      scratchBytes: intOption(options.scratchBytes, "scratchBytes", 0, 2 ** 30) ?? 64 * KiB,
      remote: remoteOpts(options.remote),
      caFile: resolveCaFile(options.remote)?.file,
      s3: resolveS3Config(checkS3Options(options.s3)),
    };
    const cache = options.cache === undefined ? undefined : retainCache(options.cache);
    const reader = await Reader.open({
      backend: o.backend,
      pastEof: o.pastEof,
      plan: false,
      s3: options.s3,
      remote: options.remote,
    });
    const ref: PoolRef = {};
    let slots: Slot[] = [];
    try {
      slots = await Promise.all(Array.from({ length: o.workers }, (_, w) => spawn(w, o, cores, ref)));
    } catch (e) {
      for (const s of slots) s.worker.terminate();
      await reader.close();
      releaseCache(cache);
      throw e;
    }
    const pool = new WorkerPool(lib, reader, o, slots);
    pool.#cache = cache;
    ref.pool = pool;
    return pool;
  }

  /** Number of workers. */
  get size(): number {
    return this.#slots.length;
  }

  /** Per worker: the CPU it is pinned to (or -errno / -1 when not pinned) and its backend. */
  get workers(): { pinnedCpu: number; backend: "io_uring" | "threads" }[] {
    return this.#slots.map((s) => ({
      pinnedCpu: s?.pinned ?? -1,
      backend: s?.backend === Backend.io_uring ? "io_uring" : "threads",
    }));
  }

  /** True once {@linkcode WorkerPool.close} was called. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Read and map: `transform(chunk, ctx)` runs on every chunk in a worker;
   * its return values come back in request order (structured-cloned). A
   * chunk that failed to read, or whose transform threw, gets its error
   * ({@linkcode LsioError} or {@linkcode TransformError}) in its place.
   */
  async map<T = unknown>(requests: PoolRequests, options: TransformOptions<T>): Promise<(Awaited<T> | Error)[]> {
    checkCall(options, TRANSFORM_KEYS, "WorkerPool.map options");
    const dtype = chunkDtype(options.dtype);
    const r = await this.#call("map", requests, options, {
      transform: transformSpec(options.transform),
      dtype,
      elementBytes: elementBytes(dtype),
      args: options.args,
    });
    const out: (Awaited<T> | Error)[] = new Array(r.batch.count);
    for (const d of r.done) {
      const vals = d.values ?? [], idx = d.valueIndex ?? new Uint32Array(0);
      for (let k = 0; k < idx.length; k++) out[idx[k]] = vals[k] as Awaited<T>;
    }
    for (const [i, e] of r.errors) out[i] = e;
    return out;
  }

  /**
   * Read and transform into the final array: `transform(chunk, ctx)` writes
   * its results into `options.output` (a SharedArrayBuffer-backed typed
   * array), request i's part being `ctx.outStart..ctx.outEnd`. Nothing is
   * returned per chunk.
   */
  async transformInto(requests: PoolRequests, options: TransformIntoOptions): Promise<PoolResult> {
    checkCall(options, INTO_KEYS, "WorkerPool.transformInto options");
    const { dest } = options;
    if (!ArrayBuffer.isView(dest) || !isShared(dest)) {
      throw new TypeError(
        `dest is a typed array backed by a SharedArrayBuffer (workers write into it), got ${describe(dest)}`,
      );
    }
    const n = requestCount(requests);
    const length = (dest as unknown as { length?: number }).length ?? dest.byteLength;
    const stride = intOption(options.stride, "stride", 0, 2 ** 53) ?? (n ? Math.floor(length / n) : 0);
    if (stride * n > length) {
      throw new RangeError(`stride ${stride} × ${n} requests does not fit dest of ${length} elements`);
    }
    const dtype = chunkDtype(options.dtype);
    const r = await this.#call("into", requests, options, {
      transform: transformSpec(options.transform),
      dtype,
      elementBytes: elementBytes(dtype),
      dest,
      stride,
      args: options.args,
    });
    return { errors: r.errors, stats: r.stats };
  }

  static {
    copyBoxesInto = async (pool, requests, dest, spec, options) => {
      if (!isShared(dest)) throw new TypeError("dest is backed by a SharedArrayBuffer");
      const r = await pool.#call("into", requests, options, { dest, copyBoxes: spec });
      return { errors: r.errors, stats: r.stats };
    };
    replaceWorker = (pool, k, why) => pool.#replace(k, why);
  }

  /**
   * Reads every chunk straight into its destination, on every worker's ring:
   * no transform, no copy. The requests name their destinations as the
   * reader's do: a list of `{ path, start?, end?, dest }` (every `dest` a view
   * of one SharedArrayBuffer), or columns with `dest: { buffer, offsets }`
   * (`buffer` SharedArrayBuffer-backed). A chunk longer than its destination
   * fails alone (`ENOBUFS`).
   */
  async readInto(requests: PoolReadIntoRequests, options: PoolCallOptions = {}): Promise<PoolResult> {
    checkCall(options, CALL_KEYS, "WorkerPool.readInto options");
    const { dest, offsets, caps } = readIntoDestinations(requests);
    const n = offsets.length;
    const r = await this.#call("read", requests, options, { dest }, (p) => {
      // Destinations in work order; a chunk that does not fit fails alone (ENOBUFS).
      const { columns } = p;
      const out = new BigUint64Array(new SharedArrayBuffer(Math.max(n, 1) * 8));
      const out32 = new Uint32Array(out.buffer); // no BigInt per request
      const lens = new Uint32Array(columns.length.buffer, columns.length.byteOffset, n * 2);
      for (let j = 0; j < n; j++) {
        const i = columns.index ? columns.index[j] : j;
        const o = offsets[i];
        const len = lens[2 * j] + lens[2 * j + 1] * 4294967296;
        if (columns.status[j] === 0 && len > caps[i]) columns.status[j] = -ENOBUFS;
        out32[2 * j] = o % 4294967296;
        out32[2 * j + 1] = Math.floor(o / 4294967296);
      }
      return { destOffsets: out };
    }, true);
    return { errors: r.errors, stats: r.stats };
  }

  /**
   * A reduction over every element of every chunk, run natively (vectorised
   * C, one call per task while the task's chunks are in cache), partial
   * results combined across workers.
   */
  async reduce(requests: PoolRequests, options: ReduceOptions): Promise<Reduction> {
    if (options === undefined) throw new TypeError("WorkerPool.reduce needs options: { dtype }");
    checkCall(options, REDUCE_KEYS, "WorkerPool.reduce options");
    const name = checkEnum(options.dtype, REDUCE_DTYPES, "dtype of a reduction");
    if (name === undefined) throw new TypeError(`dtype is required (one of ${REDUCE_DTYPES.join(", ")})`);
    const dtype = DtypeCode[name];
    let ops: number = ReduceOp.sum;
    if (checkBoolean(options.minmax, "minmax") ?? true) ops |= ReduceOp.minmax;
    let bins = 0, lo = 0, hi = 0;
    if (options.bins !== undefined) {
      bins = intOption(options.bins, "bins", 1, 2 ** 24)!;
      const range = options.range;
      if (!Array.isArray(range) || range.length !== 2) {
        throw new TypeError(`A histogram needs range: [lo, hi], got ${describe(range)}`);
      }
      lo = finiteOption(range[0], "range[0]")!, hi = finiteOption(range[1], "range[1]")!;
      if (!(hi > lo)) throw new RangeError(`A histogram needs range: [lo, hi] with lo < hi, got [${lo}, ${hi}]`);
      ops |= ReduceOp.hist;
    } else if (options.range !== undefined) {
      throw new TypeError("range is the histogram's: give bins with it");
    }
    const spec: ReduceSpec = { dtype, ops, bins, lo, hi };
    const r = await this.#call("reduce", requests, options, { reduce: spec, elementBytes: elementBytes(name) });
    let sum = 0, min = Infinity, max = -Infinity, elements = 0, nans = 0, below = 0, above = 0, chunks = 0;
    const counts = new Array<number>(bins).fill(0);
    for (const d of r.done) {
      const f = d.reduction!;
      const u = new BigUint64Array(f.buffer, f.byteOffset, f.length);
      sum += f[ReductionWord.sum];
      min = Math.min(min, f[ReductionWord.min]);
      max = Math.max(max, f[ReductionWord.max]);
      elements += Number(u[ReductionWord.elements]);
      nans += Number(u[ReductionWord.nans]);
      below += Number(u[ReductionWord.below]);
      above += Number(u[ReductionWord.above]);
      chunks += Number(u[ReductionWord.chunks]);
      if (d.hist) { for (let b = 0; b < bins; b++) counts[b] += Number(d.hist[b]); }
    }
    const errors = new Map<number, LsioError>();
    for (const [i, e] of r.errors) errors.set(i, e as LsioError);
    return {
      sum,
      mean: elements ? sum / elements : NaN,
      min,
      max,
      elements,
      nans,
      chunks,
      ...(bins ? { histogram: { counts, below, above, range: [lo, hi] as [number, number] } } : {}),
      errors,
      stats: r.stats,
    };
  }

  /**
   * Chunks in request order, one window of requests at a time (read by one
   * batch while the previous window is consumed): memory stays at two
   * windows whatever the batch size.
   */
  async *stream(requests: PoolRequests, options: StreamOptions = {}): AsyncGenerator<StreamChunk> {
    checkCall(options, STREAM_KEYS, "WorkerPool.stream options");
    if (this.#closed) throw new LsioError(-9, { op: "the pool is closed" });
    const n = requestCount(requests);
    const win = intOption(options.window, "window", 1, 2 ** 24) ?? 4096;
    const slice = (s: number, e: number) => sliceRequests(requests, s, e);
    const read = (s: number) =>
      s < n
        ? this.#reader.readColumnar(slice(s, Math.min(n, s + win)), {
          signal: options.signal,
          pastEof: options.pastEof,
          plan: "ordered",
        })
        : undefined;
    let next = read(0);
    let bytesDone = 0;
    try {
      for (let s = 0; s < n; s += win) {
        const res = await next!;
        next = read(s + win); // the next window reads while this one is consumed
        for (let k = 0; k < res.length; k++) {
          const st = res.status[k];
          if (st === 0) yield { index: s + k, bytes: res.chunk(k) as Uint8Array };
          else yield { index: s + k, error: res.error(k) };
        }
        bytesDone += res.stats.bytes;
        options.onProgress?.({ chunksDone: s + res.length, chunks: n, bytesDone });
      }
    } finally {
      next?.catch(() => {}); // a consumer that stops early leaves the prefetched window unread
    }
  }

  /**
   * Stops every worker (after a running batch is cancelled) and closes their
   * rings. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    for (const b of this.#inflight.values()) Atomics.store(b.control, 0, 1);
    this.#closed = Promise.allSettled([...this.#calls]).then(async () => {
      await Promise.all(this.#slots.map((s) => s && closeWorker(s.worker)));
      await this.#reader.close();
      releaseCache(this.#cache);
      this.#cache = undefined;
    });
    return this.#closed;
  }

  /** Same as {@linkcode WorkerPool.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Prepares, dispatches to every worker, gathers; at most MAX_INFLIGHT batches at once. */
  async #call(
    mode: PoolMode,
    requests: PoolRequests,
    options: PoolCallOptions,
    extra: Partial<BatchMessage>,
    more?: (p: Prepared) => Partial<BatchMessage>,
    withDest = false,
  ): Promise<
    { batch: NativeBatch; done: DoneMessage[]; errors: Map<number, LsioError | TransformError>; stats: PoolStats }
  > {
    if (this.#closed) throw new LsioError(-9, { op: "the pool is closed" });
    options.signal?.throwIfAborted();
    let ended!: () => void;
    const running = new Promise<void>((r) => (ended = r)); // what close() waits for
    this.#calls.add(running);
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiting.push(r));
    try {
      if (this.#closed) throw new LsioError(-9, { op: "the pool is closed" });
      options.signal?.throwIfAborted();
      const t0 = performance.now();
      const p = await this.#prepare(requests, options, withDest);
      const extraMore = more ? more(p) : {};
      // An empty batch has nothing to hand out (and no memory to point C at).
      const done = p.batch.count === 0 ? [] : await this.#dispatch(mode, p, { ...extra, ...extraMore }, options);
      const seconds = (performance.now() - t0) / 1000;
      const errors = new Map<number, LsioError | TransformError>();
      const { batch, columns } = p;
      const range = (i: number) => requestRange(batch, i);
      for (const d of done) { // why remote chunks failed, as the workers' batches described it
        for (const r of d.remote ?? []) batch.setRemoteDetail(columns.index ? columns.index[r.column] : r.column, r);
      }
      let failed = 0, cancelled = false;
      for (let j = 0; j < batch.count; j++) {
        const st = columns.status[j];
        if (st !== 0) {
          const i = columns.index ? columns.index[j] : j;
          if (st === -ECANCELED) cancelled = true;
          if (st === -EMSGSIZE && extra.elementBytes) {
            const dt = extra.dtype ?? REDUCE_DTYPES.find((d) => DtypeCode[d] === extra.reduce?.dtype);
            const bytes = batch.lengthOf(i);
            errors.set(
              i,
              new LsioError(st, {
                path: batch.paths[batch.file[i]],
                range: range(i),
                op: `${bytes} bytes is not a whole number of ${dt} elements (${extra.elementBytes} bytes each)`,
              }),
            );
          } else errors.set(i, requestError(batch, i, st, range(i)));
          failed++;
        }
      }
      for (const d of done) {
        for (const e of d.errors) {
          errors.set(
            e.index,
            new TransformError(e.message, {
              path: batch.paths[batch.file[e.index]],
              range: range(e.index),
              index: e.index,
              causeName: e.name,
            }),
          );
          failed++;
        }
      }
      if (cancelled || options.signal?.aborted) options.signal?.throwIfAborted();
      done.sort((a, b) => a.worker - b.worker);
      const sum = (k: "bytes" | "readsIssued") => done.reduce((a, d) => a + d[k], 0);
      const stats: PoolStats = {
        chunks: batch.count,
        bytes: sum("bytes"),
        failed,
        readsIssued: sum("readsIssued"),
        misaligned: 0,
        seconds,
        hotChunks: 0, // the workers read on their own threads
        tasks: p.tasks.length - 1,
        prepareSeconds: p.seconds,
        workers: done.map((d) => ({ tasks: d.tasks, stolen: d.stolen, chunks: d.chunks })),
      };
      return { batch, done, errors, stats };
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
      this.#calls.delete(running);
      ended();
    }
  }

  /** Resolves ranges, groups requests by file, cuts tasks. */
  async #prepare(
    requests: PoolRequests | PoolReadIntoRequests,
    options: PoolCallOptions,
    withDest: boolean,
  ): Promise<Prepared> {
    const t0 = performance.now();
    const batch = await resolveSharedBatch(
      this.#reader,
      Array.isArray(requests) ? requests as readonly ReadRequest[] : { ...(requests as ColumnarRequests) },
      { signal: options.signal, pastEof: options.pastEof ?? this.#options.pastEof },
      trusted(options),
      withDest,
    );
    const n = batch.count;
    const off = batch.offset32, len = batch.length32, file = batch.file;
    // Locality: requests grouped by file (a stable counting sort, O(n)), so
    // neighbouring tasks read the same files; within a file, request order
    // (zarr shard reads come sorted; a task out of offset order is read
    // unmerged). Already grouped (the common case): no copy at all.
    // (One path or none: every request reads that file or failed already.)
    let grouped = true;
    if (batch.paths.length > 1) { for (let i = 1; i < n && grouped; i++) if (file[i] < file[i - 1]) grouped = false; }
    let columns: WorkColumns;
    if (grouped) {
      columns = { file: batch.file, offset: batch.offset, length: batch.length, status: batch.status };
    } else {
      const files = batch.paths.length;
      const start = new Uint32Array(files + 1);
      for (let i = 0; i < n; i++) start[Math.min(file[i], files - 1) + 1]++; // out-of-range files failed already
      for (let f = 0; f < files; f++) start[f + 1] += start[f];
      const sab = (bytes: number) => new SharedArrayBuffer(Math.max(bytes, 8));
      const order = new Uint32Array(sab(4 * n), 0, n);
      for (let i = 0; i < n; i++) order[start[Math.min(file[i], files - 1)]++] = i;
      columns = {
        file: new Uint32Array(sab(4 * n), 0, n),
        offset: new BigUint64Array(sab(8 * n), 0, n),
        length: new BigUint64Array(sab(8 * n), 0, n),
        status: new Int32Array(sab(4 * n), 0, n),
        index: order,
      };
      const o32 = new Uint32Array(columns.offset.buffer, 0, 2 * n),
        l32 = new Uint32Array(columns.length.buffer, 0, 2 * n);
      for (let j = 0; j < n; j++) {
        const i = order[j];
        columns.file[j] = file[i];
        o32[2 * j] = off[2 * i], o32[2 * j + 1] = off[2 * i + 1];
        l32[2 * j] = len[2 * i], l32[2 * j + 1] = len[2 * i + 1];
        columns.status[j] = batch.status[i];
      }
    }
    // Tasks: neighbouring requests whose 64-byte aligned chunks fit one buffer.
    // A small batch is cut finer (at least 4 tasks per worker, of 16 chunks or more), so that
    // stealing can even out the workers: a zarr batch of 377 chunks in tasks of 256 kept one worker
    // busy ≈ 290 µs and the other ≈ 170 µs; cut finer, ≈ 200-250 µs each (572-586 → 498-508 µs a batch).
    const cap = this.#options.bufferBytes;
    const most = Math.min(this.#options.taskChunks, Math.max(16, Math.ceil(n / (4 * this.#slots.length))));
    const l32 = new Uint32Array(columns.length.buffer, columns.length.byteOffset, 2 * n);
    const starts: number[] = [0], bytes: number[] = [];
    let m = 0, used = 64; // LAYOUT pads the end by one alignment unit
    for (let j = 0; j < n; j++) {
      const b = columns.status[j] === 0 ? Math.ceil((l32[2 * j] + l32[2 * j + 1] * 4294967296) / 64) * 64 : 0;
      if (m > 0 && (m === most || used + b > cap)) {
        starts.push(j);
        bytes.push(used);
        m = 0, used = 64;
      }
      m++, used += b;
    }
    if (m > 0) starts.push(n), bytes.push(used);
    const tasks = new Uint32Array(new SharedArrayBuffer(4 * starts.length));
    tasks.set(starts);
    const taskBytes = new Float64Array(new SharedArrayBuffer(8 * Math.max(bytes.length, 1)));
    taskBytes.set(bytes);
    return { batch, columns, tasks, taskBytes, seconds: (performance.now() - t0) / 1000 };
  }

  /** Posts the batch to every worker and waits for every "done". */
  #dispatch(
    mode: PoolMode,
    p: Prepared,
    extra: Partial<BatchMessage>,
    options: PoolCallOptions,
  ): Promise<DoneMessage[]> {
    const w = this.#slots.length;
    const id = ++this.#batchId;
    const queues = new BigInt64Array(new SharedArrayBuffer(8 * w));
    fillShares(queues, p.tasks.length - 1);
    const progress = new Float64Array(new SharedArrayBuffer(16 * w));
    const control = new Int32Array(new SharedArrayBuffer(4));
    const msg: BatchMessage = {
      type: "batch",
      id,
      mode,
      paths: p.batch.paths,
      columns: p.columns,
      tasks: p.tasks,
      taskBytes: p.taskBytes,
      queues,
      progress,
      control,
      ...taskMerge(p.batch.storage, this.#options.mergeMax),
      cache: cacheOf(options, this.#cache?.handle ?? 0n),
      ...extra,
    };
    const { signal, onProgress } = options;
    const report = () => {
      let chunks = 0, bytes = 0;
      for (let k = 0; k < w; k++) chunks += progress[2 * k], bytes += progress[2 * k + 1];
      onProgress?.({ chunksDone: Math.min(chunks, p.batch.count), chunks: p.batch.count, bytesDone: bytes });
    };
    return new Promise<DoneMessage[]>((resolve, reject) => {
      const slotHandlers = new Map<number, () => void>();
      const done: DoneMessage[] = [];
      let failure: Error | undefined;
      let waiting = w;
      const timer = onProgress ? setInterval(report, options.progressIntervalMs ?? 100) : undefined;
      const onAbort = () => Atomics.store(control, 0, 1);
      signal?.addEventListener("abort", onAbort, { once: true });
      const finish = () => {
        if (--waiting > 0) return;
        this.#inflight.delete(id);
        if (timer !== undefined) clearInterval(timer);
        signal?.removeEventListener("abort", onAbort);
        if (failure) return reject(failure);
        report();
        resolve(done);
      };
      // Registered before any worker can answer: finish() removes it.
      this.#inflight.set(id, {
        control,
        dying: (k, e) => {
          failure ??= e;
          Atomics.store(control, 0, 1);
          const h = slotHandlers.get(k);
          slotHandlers.delete(k);
          h?.();
        },
      });
      this.#slots.forEach((slot, k) => {
        if (!slot) {
          failure ??= new Error(`LSIO worker ${k} is not running`);
          finish();
          return;
        }
        const handler = (e: MessageEvent) => {
          const d = e.data as DoneMessage;
          if (d.type !== "done" || (d.id !== id && d.id !== -1)) return;
          slot.worker.removeEventListener("message", handler);
          slotHandlers.delete(k);
          if (d.fatal) {
            failure ??= new Error(`LSIO worker ${k} failed the batch: ${d.fatal}`);
            Atomics.store(control, 0, 1);
          } else done.push(d);
          finish();
        };
        slotHandlers.set(k, () => {
          slot.worker.removeEventListener("message", handler);
          finish();
        });
        slot.worker.addEventListener("message", handler);
        slot.worker.postMessage(msg);
      });
    });
  }

  /** Worker k died: fail the running batch, start a replacement. */
  async #replace(k: number, why: string): Promise<void> {
    const e = new Error(`LSIO worker ${k} died: ${why}`);
    const old = this.#slots[k];
    this.#slots[k] = undefined;
    old?.worker.terminate();
    for (const b of [...this.#inflight.values()]) b.dying(k, e); // every batch in flight fails
    if (this.#closed) return;
    const cores = Math.max(1, navigator.hardwareConcurrency || 1);
    this.#slots[k] = await spawn(k, this.#options, cores, { pool: this });
  }
}

/** Where the worker script is. */
const WORKER_URL = new URL("./_pool_worker.ts", import.meta.url);

async function spawn(
  w: number,
  o: {
    pin: boolean;
    backend: string;
    queueDepth: number;
    direct: boolean;
    keepOpen: number;
    bufferBytes: number;
    scratchBytes: number;
    remote: Uint32Array;
    caFile: string | undefined;
    s3: ResolvedS3;
  },
  cores: number,
  ref: PoolRef,
): Promise<Slot> {
  const worker = new Worker(WORKER_URL, { type: "module" });
  const init: InitMessage = {
    type: "init",
    worker: w,
    cpu: o.pin ? w % cores : -1,
    backend: Backend[o.backend as keyof typeof Backend],
    queueDepth: o.queueDepth,
    direct: o.direct,
    keepOpen: o.keepOpen,
    bufferBytes: o.bufferBytes,
    scratchBytes: o.scratchBytes,
    remote: o.remote,
    caFile: o.caFile,
    s3: o.s3,
  };
  const ready = await new Promise<{ pinned: number; backend: number; error?: number }>((resolve, reject) => {
    worker.onmessage = (e) => {
      if (e.data?.type === "ready") resolve(e.data);
      else if (e.data?.type === "done" && e.data.fatal) {
        reject(new Error(`LSIO worker ${w} failed to start: ${e.data.fatal}`));
      }
    };
    worker.onerror = (e) => {
      e.preventDefault?.();
      reject(new Error(`LSIO worker ${w} failed to start: ${e.message}`));
    };
    worker.postMessage(init);
  });
  if (ready.error !== undefined) {
    worker.terminate();
    throw new LsioError(ready.error, { op: `open reader in worker ${w}` });
  }
  worker.onmessage = null;
  worker.onerror = (e) => {
    e.preventDefault?.();
    if (ref.pool) void replaceWorker(ref.pool, w, e.message ?? String(e));
  };
  return { worker, pinned: ready.pinned, backend: ready.backend };
}

function closeWorker(worker: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, 5000); // a worker that does not answer is terminated anyway
    function done() {
      clearTimeout(timer);
      worker.terminate();
      resolve();
    }
    worker.addEventListener("message", (e: MessageEvent) => {
      if (e.data?.type === "closed") done();
    });
    worker.postMessage({ type: "close" });
  });
}

function transformSpec(t: Transform): TransformSpec {
  if (t === undefined) throw new TypeError("transform is required: a function or { module, name }");
  if (typeof t === "function") {
    const source = Function.prototype.toString.call(t);
    if (source.includes("[native code]")) throw new TypeError("A native function cannot be sent to a worker");
    return { source };
  }
  if (t && typeof t === "object" && "module" in t) {
    checkKeys(t, ["module", "name"], "transform");
    if (!(typeof t.module === "string" || t.module instanceof URL)) {
      throw new TypeError(`transform.module is a URL or string, got ${describe(t.module)}`);
    }
    if (t.name !== undefined && typeof t.name !== "string") {
      throw new TypeError(`transform.name is a string, got ${describe(t.name)}`);
    }
    return { module: String(t.module), name: t.name ?? "default" };
  }
  throw new TypeError(`transform is a function or { module, name }, got ${describe(t)}`);
}

/** The chunk dtype of a transform (undefined: bytes, as uint8). */
function chunkDtype(d: unknown): Dtype | undefined {
  const dt = checkEnum(d, DTYPES, "dtype of a transform's chunks");
  return dt === "uint8" ? undefined : dt;
}

/** Bytes of one element (1 for bytes). */
function elementBytes(d: Dtype | undefined): number {
  return d ? TYPED_ARRAYS[d].BYTES_PER_ELEMENT : 1;
}

/** Checks a call's options: keys, and the types of the options every call shares. */
function checkCall(o: PoolCallOptions, keys: readonly string[], what: string): void {
  checkReadOptions(o as ReadOptions, what, keys);
  checkFunction((o as { onProgress?: unknown }).onProgress, "onProgress");
}

/**
 * The destinations of a readInto call: the whole destination buffer (one
 * SharedArrayBuffer) and each request's byte offset into it and capacity.
 */
function readIntoDestinations(
  requests: PoolReadIntoRequests,
): { dest: Uint8Array; offsets: Float64Array; caps: Float64Array } {
  if (Array.isArray(requests)) {
    const list = requests as readonly ReadIntoRequest[];
    const n = list.length;
    const offsets = new Float64Array(n), caps = new Float64Array(n);
    let sab: SharedArrayBuffer | undefined;
    for (let i = 0; i < n; i++) {
      const d = list[i]?.dest;
      if (!(d instanceof Uint8Array) || !isShared(d)) {
        throw new TypeError(`Request ${i}: dest is a Uint8Array backed by a SharedArrayBuffer, got ${describe(d)}`);
      }
      if (sab === undefined) sab = d.buffer as SharedArrayBuffer;
      else if (d.buffer !== sab) throw new TypeError(`Request ${i}: every dest is a view of one SharedArrayBuffer`);
      offsets[i] = d.byteOffset;
      caps[i] = d.byteLength;
    }
    return { dest: new Uint8Array(sab ?? new SharedArrayBuffer(8)), offsets, caps };
  }
  const c = requests as Omit<ColumnarRequests, "dest"> & Required<Pick<ColumnarRequests, "dest">>;
  const dest = c?.dest;
  if (dest === null || typeof dest !== "object") {
    throw new TypeError(`readInto's columns name their destination: dest: { buffer, offsets }, got ${describe(dest)}`);
  }
  checkKeys(dest, ["buffer", "offsets"], "dest");
  const { buffer, offsets: offs } = dest;
  if (!(buffer instanceof Uint8Array) || !isShared(buffer)) {
    throw new TypeError(`dest.buffer is a Uint8Array backed by a SharedArrayBuffer, got ${describe(buffer)}`);
  }
  const n = c.file?.length ?? 0;
  if (!(offs instanceof Float64Array || offs instanceof BigUint64Array)) {
    throw new TypeError(`dest.offsets is a Float64Array or BigUint64Array, got ${describe(offs)}`);
  }
  if (offs.length !== n) throw new RangeError(`dest.offsets has ${offs.length} entries, not ${n}`);
  const offsets = new Float64Array(n), caps = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = Number(offs[i]);
    if (!(Number.isSafeInteger(o) && o >= 0 && o <= buffer.byteLength)) {
      throw new RangeError(`dest.offsets[${i}] = ${o} lies outside dest.buffer (${buffer.byteLength} bytes)`);
    }
    offsets[i] = o;
    caps[i] = buffer.byteLength - o;
  }
  return { dest: buffer, offsets, caps };
}

function requestCount(r: PoolRequests): number {
  return Array.isArray(r) ? r.length : (r as ColumnarRequests).file.length;
}

function sliceRequests(r: PoolRequests, s: number, e: number): ColumnarRequests {
  if (Array.isArray(r)) {
    const list = (r as readonly ReadRequest[]).slice(s, e);
    const paths: string[] = [], index = new Map<string, number>();
    const file = new Uint32Array(list.length),
      start = new Float64Array(list.length),
      end = new Float64Array(list.length);
    list.forEach((q, k) => {
      let f = index.get(q.path);
      if (f === undefined) index.set(q.path, f = paths.push(q.path) - 1);
      file[k] = f;
      start[k] = q.start ?? 0;
      end[k] = q.end ?? Infinity;
    });
    return { paths, file, start, end };
  }
  const c = r as ColumnarRequests;
  return { paths: c.paths, file: c.file.subarray(s, e), start: c.start.subarray(s, e), end: c.end?.subarray(s, e) };
}

function requestRange(batch: NativeBatch, i: number): ByteRange {
  const s = batch.start32, e = batch.end32;
  const start = s[2 * i] + (s[2 * i + 1] | 0) * 4294967296;
  const open = e[2 * i] === 0xffffffff && e[2 * i + 1] === 0x7fffffff;
  return open ? { start } : { start, end: e[2 * i] + (e[2 * i + 1] | 0) * 4294967296 };
}

export type { Progress };

/**
 * How a task merges its chunks (the pool's `mergeMax`, 0: never): on a
 * storage with a known profile (remote objects: cloud) across that profile's
 * gaps, up to its merged-read cap — over the network a request costs more
 * than the bytes between chunks; local files back-to-back chunks only.
 */
function taskMerge(storage: Storage, mergeMax: number): { mergeGap: number; mergeMax: number } {
  const t = storage.profile && mergeMax > 0 ? PROFILES[storage.profile] : undefined;
  return t ? { mergeGap: t.mergeGap, mergeMax: Math.max(mergeMax, t.mergeMax) } : { mergeGap: 0, mergeMax };
}
