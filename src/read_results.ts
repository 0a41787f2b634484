/**
 * What the reader's calls give back besides bytes and errors:
 * {@linkcode ColumnarResult} (the outcome of `Reader.readColumnar`),
 * {@linkcode ReadPlan} (ranges resolved by `Reader.plan`, read later) and
 * {@linkcode BatchStats}.
 *
 * @module
 */
import type { NativeBatch } from "./_batch.ts";
import { int64At } from "./_columns.ts";
import { errorFor, requestError } from "./_read_errors.ts";
import type { ByteRange, LsioError } from "./errors.ts";
import type { ReadRequest } from "./reader.ts";

/** ReadPlan's batch, handed to a read once (set by ReadPlan's static block; module-internal). */
export let takeBatch: (plan: ReadPlan) => NativeBatch;

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
    // Hands the batch to a read, once (module-internal: see takeBatch).
    takeBatch = (plan) => {
      const b = plan.#get();
      plan.#batch = undefined;
      return b;
    };
  }
}
