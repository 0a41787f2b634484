/**
 * The batched reader for Zarr v3 arrays, sharded or not: a selection becomes
 * one LSIO batch for the shard indexes it still needs (read from the end or
 * the start of each shard, crc32c checked) and one for all its inner chunks;
 * chunks are decoded — raw little-endian chunks by viewing their bytes, others
 * through zarrita's codec registry (gzip, zstd, blosc, transpose, …) — and
 * each chunk's part of the selection is copied into the output array, in the
 * worker pool's workers when a pool is given. Empty inner chunks and missing
 * shards read as the fill value.
 *
 * @module
 */
import * as fs from "node:fs";
import { fsError, LsioError } from "../errors.ts";
import { type ColumnarRequests, Reader, type ReadOptions } from "../reader.ts";
import { allocAligned } from "../aligned.ts";
import { native } from "../../ffi/mod.ts";
import { ChunkCodec, DtypeCode } from "../../ffi/native.ts";
import type { TypedArrayOf } from "../dtype.ts";
import { checkBoolean, checkEnum, describe, finiteOption, intOption, options as checkOptions } from "../_strict.ts";
import { BoxCopier, type BoxCopySpec, dtypeCode } from "../_boxcopy.ts";
import { copyBoxesInto, type PoolCallOptions, type TransformIntoOptions, WorkerPool } from "../pool.ts";
import { CACHE, type CacheOverride, type Trusted, TRUSTED_RANGES } from "../_internal.ts";
import { type Cache, releaseCache, retainCache } from "../cache.ts";
import type { Native } from "../../ffi/native.ts";
import { crc32c } from "./crc32c.ts";
import { type DecodeArgs, decodeChunk } from "./_decode.ts";
import { type Storage, storageOf } from "../_storage.ts";
import { rootOf, under } from "./_location.ts";
import {
  type ArrayMeta,
  type Dtype,
  isRaw,
  isZstd,
  type NumericArray,
  parseArrayMeta,
  parseZarrJson,
  product,
  TYPED,
  ZarrFormatError,
} from "./_meta.ts";

export { ZarrFormatError };
export type { Dtype, NumericArray };

/**
 * One dimension of a selection: an index (the dimension is dropped), a
 * two-element `[start, stop)`, or null for all of it. (Any `number[]` is
 * taken, so literals need no cast; one that is not `[start, stop]` is a
 * RangeError.)
 */
export type DimSelection = number | readonly [start: number, stop: number] | readonly number[] | null;

/** The float types a read can deliver converted ({@linkcode ShardedReadOptions.dtype}). */
export type ReadDtype = "float32" | "float64";

/** The array a read delivers: the converted type's, or (no `dtype`) any of the array's. */
export type ReadArray<D extends ReadDtype | undefined> = D extends ReadDtype ? TypedArrayOf<D> : NumericArray;

/** Options of {@linkcode ShardedArray.open}. */
export interface ShardedArrayOptions {
  /** A reader to share (not closed by the array); default: its own. */
  reader?: Reader;
  /** Shard indexes kept in memory (default 4096 shards). */
  indexCacheShards?: number;
  /**
   * A RAM cache of raw byte ranges for this array's reads — chunks and shard
   * indexes, on this thread or in a pool's workers (see {@linkcode Cache}).
   * The second epoch over a remote array then makes no request. Held until
   * the array closes.
   */
  cache?: Cache;
}

/** Options of {@linkcode ShardedArray.read} and {@linkcode ShardedArray.readBatch}. */
export interface ShardedReadOptions<D extends ReadDtype | undefined = ReadDtype | undefined> {
  /** Decode and copy in these workers (the output is then SharedArrayBuffer-backed). */
  pool?: WorkerPool;
  /**
   * Write here instead of a new array: the selection's shape, C order, of
   * the delivered type (`dtype`'s, else the array's); SharedArrayBuffer-backed
   * with a pool.
   */
  dest?: NumericArray;
  /**
   * Deliver floats: every value becomes (value - offset) * scale, converted
   * where it is copied (in the workers). Omitted: the array's own type, as
   * stored (then `scale` and `offset` are refused).
   */
  dtype?: D;
  /** Multiplies every value (after `offset`), with `dtype`. Default 1. */
  scale?: number;
  /** Subtracted from every value, with `dtype`. Default 0. */
  offset?: number;
  /** Cancels the read. */
  signal?: AbortSignal;
  /**
   * `false`: read on the reader's thread, not on the calling one, even a small
   * cached batch (see {@linkcode ReadOptions.hotPath}) — for a batch read ahead
   * while JS consumes the previous one. No effect with a pool.
   */
  hotPath?: boolean;
}

/** Options of {@linkcode ShardedArray.readBatches}. */
export interface ReadBatchesOptions<D extends ReadDtype | undefined = ReadDtype | undefined>
  extends Omit<ShardedReadOptions<D>, "dest"> {
  /** Batches read ahead of the one the caller works on (default 1; 0: one at a time). */
  ahead?: number;
  /** Reuse the outputs of batches already yielded (each valid until the next iteration). Default false. */
  recycle?: boolean;
  /** Not taken: the outputs are the loader's (see `recycle`). */
  dest?: never;
}

const READ_KEYS = ["pool", "dest", "dtype", "scale", "offset", "signal", "hotPath"] as const;
const BATCHES_KEYS = [...READ_KEYS.filter((k) => k !== "dest"), "ahead", "recycle"] as const;
const READ_DTYPES: readonly ReadDtype[] = ["float32", "float64"];

/** What {@linkcode ShardedArray.read} returns. */
export interface SelectionResult<A extends NumericArray = NumericArray> {
  /** The elements, C order (bool: 0/1 bytes). */
  data: A;
  /** The selection's shape (dimensions selected by an index dropped). */
  shape: number[];
  /** Inner chunks read. */
  chunksRead: number;
  /** Inner chunks that read as the fill value (empty, missing, or in a missing shard). */
  chunksFilled: number;
}

/** Where the workers find the decoding transform. */
const DECODE_MODULE = new URL("./_decode.ts", import.meta.url).href;

/** Reused request arrays of one read (one request per stored inner chunk). */
interface RequestScratch {
  cap: number;
  nd: number;
  file: Uint32Array;
  start: Float64Array;
  end: Float64Array;
  origins: Int32Array;
  los: Int32Array;
  bases: Float64Array;
}

/** What one read in flight owns: its request arrays and its slab. */
interface Scratch {
  plan?: RequestScratch;
  slab?: Uint8Array;
}

/** Scratch sets kept for reuse: a read and a prefetch or two. */
const SPARE_SCRATCH = 4;

/** A shard as the batched reader knows it. */
interface ShardEntry {
  key: string;
  path: string;
  /** Parsed index; null: the shard does not exist (all fill); undefined: not read yet. */
  index: ShardIndex | null | undefined;
  /** Its index in the current batch's paths (-1: none yet). */
  file: number;
  /** The index being read (by a batch in flight), when it is. */
  loading?: Promise<void>;
}

interface ShardIndex {
  /** offset, nbytes per inner chunk (C order over the shard's chunk grid); -1 = empty. */
  offsets: Float64Array;
  nbytes: Float64Array;
}

/**
 * A Zarr v3 array on local disk, read selection by selection in batches.
 *
 * @example
 * ```ts
 * import { ShardedArray, writeShardedArray } from "../../zarr.ts";
 * const dir = await Deno.makeTempDir();
 * const data = Uint16Array.from({ length: 6 * 8 }, (_, i) => i);
 * await writeShardedArray(dir, data, { shape: [6, 8], dtype: "uint16", shardShape: [4, 8], chunkShape: [2, 4] });
 * await using arr = await ShardedArray.open(dir);
 * const { data: crop, shape } = await arr.read([[1, 3], [2, 5]]);
 * console.log(shape, Array.from(crop as Uint16Array)); // [ 2, 3 ] [ 10, 11, 12, 18, 19, 20 ]
 * ```
 */
export class ShardedArray implements AsyncDisposable {
  /** The array's directory, or its URL prefix (http(s)://, s3://). */
  readonly path: string;
  /** Over the network (the path is a URL). */
  readonly #storage: Storage;
  /** zarr.json, parsed. */
  readonly meta: ArrayMeta;
  readonly #reader: Reader;
  readonly #ownsReader: boolean;
  /** Shards by id (linear over the shard grid): key, path, parsed index; FIFO, at most #cacheShards. */
  readonly #shards = new Map<number, ShardEntry>();
  readonly #cacheShards: number;
  /** The range cache every read goes through (a reference held until close), if any. */
  #cache: { lib: Native; handle: bigint } | undefined;

  private constructor(
    dir: string,
    meta: ArrayMeta,
    reader: Reader,
    owns: boolean,
    cacheShards: number,
    cache: { lib: Native; handle: bigint } | undefined,
  ) {
    this.#cache = cache;
    this.path = dir;
    this.#storage = storageOf(dir);
    this.meta = meta;
    this.#reader = reader;
    this.#ownsReader = owns;
    this.#cacheShards = cacheShards;
  }

  /**
   * Opens the array in `dir` (reads its zarr.json). A `dir` that is missing
   * or not a folder, or has no zarr.json, is an {@linkcode LsioError}
   * (`ENOENT`, `ENOTDIR`) naming it; a zarr.json that is not a Zarr v3 array
   * the batched reader handles, a {@linkcode ZarrFormatError}.
   */
  static async open(dir: string, options: ShardedArrayOptions = {}): Promise<ShardedArray> {
    if (typeof dir !== "string" || dir.length === 0 || dir.includes("\0")) {
      throw new TypeError(`dir is a non-empty path without NUL bytes, got ${describe(dir)}`);
    }
    const o = checkOptions(options, ["reader", "indexCacheShards", "cache"], "ShardedArray.open options");
    if (o.reader !== undefined && !(o.reader instanceof Reader)) {
      throw new TypeError(`reader is a Reader, got ${describe(o.reader)}`);
    }
    const cacheShards = intOption(o.indexCacheShards, "indexCacheShards", 1, 2 ** 31) ?? 4096;
    const full = rootOf(dir);
    const where = under(full, "zarr.json");
    let text: string;
    let reader = o.reader;
    if (!storageOf(full).hasFolders) { // an object store's prefix: zarr.json read by the reader, as every shard is
      reader ??= await Reader.open({ keepOpen: 1024 });
      const [got] = await reader.read([{ path: where }]);
      if (got instanceof LsioError) {
        if (!o.reader) await reader.close();
        throw new LsioError(got.errno, { path: where, op: "open zarr array" });
      }
      text = new TextDecoder().decode(got);
    } else {
      try {
        if (!(await fs.promises.stat(full)).isDirectory()) {
          throw new LsioError(-20, { path: full, op: "open zarr array: a Zarr array is a folder" });
        }
      } catch (e) {
        throw fsError(e, full, "open zarr array");
      }
      try {
        text = await fs.promises.readFile(where, "utf8");
      } catch (e) {
        throw fsError(e, where, "open zarr array");
      }
    }
    let json: Record<string, unknown>;
    try {
      json = parseZarrJson(text);
    } catch (e) {
      if (e instanceof ZarrFormatError) throw new ZarrFormatError(`${where}: ${e.message}`);
      throw new ZarrFormatError(`${where}: not JSON (${(e as Error).message})`);
    }
    if (json === null || typeof json !== "object") throw new ZarrFormatError(`${where}: not a JSON object`);
    const meta = parseArrayMeta(json, where);
    // Its own reader keeps shard files open between batches: a training loop returns to the same shards
    // (and the shard indexes are cached the same way: the array is taken as unchanging while open).
    reader ??= await Reader.open({ keepOpen: 1024 });
    const cache = o.cache === undefined ? undefined : retainCache(o.cache);
    return new ShardedArray(full, meta, reader, !o.reader, cacheShards, cache);
  }

  /** The array's shape. */
  get shape(): number[] {
    return this.meta.shape.slice();
  }
  /** The array's element type. */
  get dtype(): Dtype {
    return this.meta.dtype;
  }

  /** Reads a selection (default: everything). */
  async read<D extends ReadDtype | undefined = undefined>(
    selection: readonly DimSelection[] | null = null,
    options: ShardedReadOptions<D> = {},
  ): Promise<SelectionResult<ReadArray<D>>> {
    checkOptions(options, READ_KEYS, "ShardedArray.read options");
    const nd = this.meta.shape.length;
    const box = this.#box(selection ?? new Array(nd).fill(null));
    const res = await this.#readBoxes([box.lo], box.extent, options);
    return { ...res, data: res.data as ReadArray<D>, shape: box.shape };
  }

  /**
   * Reads many selections of the same shape in one go — one batch for every
   * shard index they need, one for every inner chunk — into one output of
   * shape `[selections.length, ...selection shape]` (an ML batch of crops).
   */
  async readBatch<D extends ReadDtype | undefined = undefined>(
    selections: readonly (readonly DimSelection[])[],
    options: ShardedReadOptions<D> = {},
  ): Promise<SelectionResult<ReadArray<D>>> {
    checkOptions(options, READ_KEYS, "ShardedArray.readBatch options");
    if (!Array.isArray(selections) || selections.length === 0) {
      throw new RangeError("readBatch needs at least one selection");
    }
    const boxes = selections.map((s) => this.#box(s));
    const first = boxes[0];
    for (const b of boxes) {
      if (b.extent.some((e, d) => e !== first.extent[d]) || b.shape.length !== first.shape.length) {
        throw new RangeError(`Selections of one batch have one shape: ${first.extent} vs ${b.extent}`);
      }
    }
    const res = await this.#readBoxes(boxes.map((b) => b.lo), first.extent, options);
    return { ...res, data: res.data as ReadArray<D>, shape: [boxes.length, ...first.shape] };
  }

  /**
   * Reads batches of selections in order, like an ML data loader: `ahead`
   * batches are read while the caller works on the one yielded (on the
   * reader's thread, or in the pool's workers), so reading and consuming
   * overlap. With `recycle`, the outputs go round: a yielded batch's data is
   * valid until the caller asks for the next one, then it is reused for a
   * later batch (no allocation, no page faults per batch); copy what you keep.
   * Batches may differ in size and shape; each is checked as in
   * {@linkcode ShardedArray.readBatch}. Stopping early (break) waits for the
   * batches read ahead, so nothing is left running.
   *
   * @example
   * ```ts
   * import { ShardedArray, writeShardedArray } from "../../zarr.ts";
   * const dir = await Deno.makeTempDir();
   * const values = Uint16Array.from({ length: 4 * 64 * 64 }, (_, i) => i % 1000);
   * await writeShardedArray(dir, values, { shape: [4, 64, 64], dtype: "uint16", shardShape: [1, 64, 64], chunkShape: [1, 16, 16] });
   * await using arr = await ShardedArray.open(dir);
   * const crops = (t: number) => [[t, [0, 8], [0, 8]], [t, [8, 16], [8, 16]]];
   * let seen = 0;
   * for await (const batch of arr.readBatches([crops(0), crops(1), crops(2)], { ahead: 1, recycle: true })) {
   *   seen += batch.shape[0]; // batch.data: [2, 8, 8] uint16, valid until the next iteration
   * }
   * console.log(seen); // 6
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  async *readBatches<D extends ReadDtype | undefined = undefined>(
    batches: Iterable<readonly (readonly DimSelection[])[]> | AsyncIterable<readonly (readonly DimSelection[])[]>,
    options: ReadBatchesOptions<D> = {},
  ): AsyncGenerator<SelectionResult<ReadArray<D>>, void, undefined> {
    checkOptions(options, BATCHES_KEYS, "ShardedArray.readBatches options");
    const ahead = intOption(options.ahead, "ahead", 0, 64) ?? 1;
    const recycle = checkBoolean(options.recycle, "recycle") ?? false;
    if (batches === null || typeof batches !== "object") {
      throw new TypeError("readBatches takes an iterable or async iterable of batches of selections");
    }
    const { ahead: _a, recycle: _r, ...rest } = options;
    this.#checkRead(rest); // wrong options fail before the first batch, not inside the loop
    const free: NumericArray[] = []; // recycled outputs
    const queue: Promise<SelectionResult<ReadArray<D>>>[] = [];
    const source = (Symbol.asyncIterator in batches ? batches[Symbol.asyncIterator]() : batches[Symbol.iterator]()) as
      | Iterator<readonly (readonly DimSelection[])[]>
      | AsyncIterator<readonly (readonly DimSelection[])[]>;
    let done = false;
    const issue = async (): Promise<void> => {
      const step = await source.next();
      if (step.done) return void (done = true);
      const sels = step.value;
      const want = this.#batchElements(sels);
      const i = want < 0 ? -1 : free.findIndex((o) => o.length === want);
      const output = i < 0 ? undefined : free.splice(i, 1)[0];
      // A batch read while another is in flight goes to the reader's thread: the two overlap.
      const p = this.readBatch(sels, {
        ...rest,
        ...(output ? { dest: output } : {}),
        hotPath: queue.length ? false : rest.hotPath,
      });
      p.catch(() => {}); // seen when awaited in order; not an unhandled rejection meanwhile
      queue.push(p);
    };
    try {
      while (!done && queue.length < ahead + 1) await issue();
      while (queue.length) {
        const res = await queue.shift()!;
        yield res;
        if (recycle) {
          free.push(res.data);
          if (free.length > ahead + 1) free.shift(); // batches of ever new sizes: keep a few, not all
        }
        if (!done) await issue();
      }
    } finally {
      await Promise.allSettled(queue); // nothing keeps running once the loop is left
      if (!done) await (source as { return?: () => unknown }).return?.();
    }
  }

  /** Elements one readBatch output holds for these selections (-1 when they are not valid; readBatch says why). */
  #batchElements(sels: readonly (readonly DimSelection[])[]): number {
    try {
      return Array.isArray(sels) && sels.length ? product(this.#box(sels[0]).extent) * sels.length : -1;
    } catch {
      return -1;
    }
  }

  /** A selection as a box [lo, lo + extent) and its output shape. */
  #box(sel: readonly DimSelection[]): { lo: number[]; extent: number[]; shape: number[] } {
    const m = this.meta, nd = m.shape.length;
    if (!Array.isArray(sel)) {
      throw new TypeError(`A selection is an array (one entry per dimension), got ${describe(sel)}`);
    }
    if (sel.length !== nd) throw new RangeError(`A selection of ${sel.length} dimensions for a ${nd}-d array`);
    const lo: number[] = [], extent: number[] = [], shape: number[] = [];
    sel.forEach((s, d) => {
      const n = m.shape[d];
      if (s === null || s === undefined) lo.push(0), extent.push(n), shape.push(n);
      else if (typeof s === "number") {
        if (!Number.isInteger(s) || s < 0 || s >= n) {
          throw new RangeError(`Index ${s} outside dimension ${d} (0..${n - 1})`);
        }
        lo.push(s), extent.push(1);
      } else {
        if (!Array.isArray(s) || s.length !== 2) {
          throw new TypeError(`Dimension ${d} of a selection: an index, [start, stop] or null, got ${describe(s)}`);
        }
        const [a, b] = s;
        if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b > n || a > b) {
          throw new RangeError(`Range [${a}, ${b}) outside dimension ${d} (0..${n})`);
        }
        lo.push(a), extent.push(b - a), shape.push(b - a);
      }
    });
    return { lo, extent, shape };
  }

  /**
   * Each read takes a set of request arrays and a slab from a small free list
   * and gives it back, so reads in flight at once (a prefetch) reuse theirs too.
   */
  async #readBoxes(
    los: number[][],
    extent: number[],
    options: ShardedReadOptions,
  ): Promise<Omit<SelectionResult, "shape">> {
    const sc = this.#spare.pop() ?? {};
    try {
      return await this.#readBoxesWith(los, extent, options, sc);
    } finally {
      if (this.#spare.length < SPARE_SCRATCH) this.#spare.push(sc);
    }
  }

  async #readBoxesWith(
    los: number[][],
    extent: number[],
    options: ShardedReadOptions,
    sc: Scratch,
  ): Promise<Omit<SelectionResult, "shape">> {
    const m = this.meta, nd = m.shape.length;
    const { convert, T } = this.#checkRead(options);
    const per = product(extent), count = per * los.length;
    const shared = !!options.pool;
    let out = options.dest;
    if (out) {
      if (!(out instanceof T)) {
        throw new TypeError(
          `dest is a ${T.name} (the ${options.dtype ?? m.dtype} this read delivers), got ${describe(out)}`,
        );
      }
      if (out.length !== count) throw new RangeError(`dest holds ${out.length} elements, the selection ${count}`);
      if (shared && !(out.buffer instanceof SharedArrayBuffer)) {
        throw new TypeError("With a pool, dest is backed by a SharedArrayBuffer");
      }
    } else {
      out = shared ? new T(new SharedArrayBuffer(count * T.BYTES_PER_ELEMENT), 0, count) : new T(count);
    }
    if (count === 0) return { data: out, chunksRead: 0, chunksFilled: 0 };

    // Every inner chunk each box touches (a chunk shared by two boxes is read for each).
    // Shards are numbered (linear id over the shard grid) so the hot loop builds no strings.
    const inner = m.innerShape;
    const perShard = m.chunkShape.map((s, d) => s / inner[d]);
    const grid = m.shape.map((s, d) => Math.ceil(s / m.chunkShape[d]));
    const cc = new Array<number>(nd).fill(0), cLo = cc.slice(), cHi = cc.slice();
    /** Calls visit(box, shardId, linear index in the shard) for every chunk of every box. */
    const each = (visit: (b: number, shard: number, lin: number) => void) => {
      for (let b = 0; b < los.length; b++) {
        const lo = los[b];
        for (let d = 0; d < nd; d++) {
          cLo[d] = Math.floor(lo[d] / inner[d]);
          cHi[d] = Math.ceil((lo[d] + extent[d]) / inner[d]);
        }
        forEachCoord(cLo, cHi, cc, () => {
          let shard = 0, lin = 0;
          for (let d = 0; d < nd; d++) {
            const sd = Math.floor(cc[d] / perShard[d]);
            shard = shard * grid[d] + sd;
            lin = lin * perShard[d] + (cc[d] - sd * perShard[d]);
          }
          visit(b, shard, lin);
        });
      }
    };
    const shardCoord = (id: number) => {
      const c = new Array<number>(nd);
      for (let d = nd - 1; d >= 0; d--) c[d] = id % grid[d], id = Math.floor(id / grid[d]);
      return c;
    };
    // The shards the boxes touch (a few per box), each looked up once per batch: its key,
    // path and parsed index live in one entry by shard id — no string built or hashed per chunk.
    const touched = new Map<number, ShardEntry>();
    const need: ShardEntry[] = [], loading = new Set<Promise<void>>();
    const sLo = cc.slice(), sHi = cc.slice(), sCur = cc.slice();
    for (let b = 0; b < los.length; b++) {
      const lo = los[b];
      for (let d = 0; d < nd; d++) {
        sLo[d] = Math.floor(Math.floor(lo[d] / inner[d]) / perShard[d]);
        sHi[d] = Math.floor((Math.ceil((lo[d] + extent[d]) / inner[d]) - 1) / perShard[d]) + 1;
      }
      forEachCoord(sLo, sHi, sCur, () => {
        let id = 0;
        for (let d = 0; d < nd; d++) id = id * grid[d] + sCur[d];
        if (touched.has(id)) return;
        let e = this.#shards.get(id);
        if (e === undefined) {
          const key = m.chunkKey(shardCoord(id));
          e = { key, path: under(this.path, key), index: m.sharded ? undefined : null, file: -1 };
          if (this.#shards.size >= this.#cacheShards) this.#shards.delete(this.#shards.keys().next().value!);
          this.#shards.set(id, e);
        }
        touched.set(id, e);
        if (e.index !== undefined) return;
        if (e.loading) loading.add(e.loading); // a read in flight (a read-ahead batch) is reading it already
        else need.push(e);
      });
    }
    if (need.length) {
      const load = this.#loadIndexes(need, options.signal);
      for (const e of need) e.loading = load;
      loading.add(load.finally(() => need.forEach((e) => (e.loading = undefined))));
    }
    if (loading.size) await Promise.all(loading);

    // The requests: one per stored inner chunk; the rest is fill.
    const paths: string[] = [];
    const plan = this.#scratch(sc, coordsBound(los.length, extent, inner), nd);
    let n = 0, filled = 0;
    let lastId = -1, sh: ShardEntry | undefined;
    for (const e of touched.values()) e.file = -1; // (here: from this line on the batch does not yield)
    each((b, shard, lin) => {
      let s = 0, e = Infinity;
      if (shard !== lastId) sh = touched.get(shard)!, lastId = shard;
      if (m.sharded) {
        const idx = sh!.index;
        if (!idx || idx.offsets[lin] < 0) {
          filled++;
          return;
        }
        s = idx.offsets[lin];
        e = s + idx.nbytes[lin];
      }
      let f = sh!.file;
      if (f < 0) sh!.file = f = paths.push(sh!.path) - 1;
      plan.file[n] = f, plan.start[n] = s, plan.end[n] = e;
      for (let d = 0; d < nd; d++) plan.origins[n * nd + d] = cc[d] * inner[d], plan.los[n * nd + d] = los[b][d];
      plan.bases[n] = b * per;
      n++;
    });
    const args: DecodeArgs = {
      dtype: m.dtype,
      innerShape: inner,
      codecs: m.codecs,
      fillValue: m.json.fill_value,
      raw: isRaw(m),
      extent,
      origins: plan.origins.subarray(0, n * nd),
      los: plan.los.subarray(0, n * nd),
      bases: plan.bases.subarray(0, n),
      ...(convert ? { convert } : {}),
    };
    if (filled > 0 || !m.sharded) {
      const f = m.fillValue;
      const v = typeof f === "boolean" ? Number(f) : f;
      (out as { fill(v: unknown): void }).fill(convert ? (Number(v) - convert.offset) * convert.scale : v);
    }
    const requests: ColumnarRequests = {
      paths,
      file: plan.file.subarray(0, n),
      start: plan.start.subarray(0, n),
      end: plan.end.subarray(0, n),
    };
    // Raw chunks are copied (or converted) natively, a batch or task per call.
    const elem = TYPED[m.dtype].BYTES_PER_ELEMENT;
    const zstd = isZstd(m);
    const copySpec: BoxCopySpec | undefined = args.raw || zstd
      ? {
        codec: zstd ? ChunkCodec.zstd : ChunkCodec.raw,
        dtype: dtypeCode(m.dtype),
        outDtype: options.dtype ? DtypeCode[options.dtype] : dtypeCode(m.dtype),
        inner,
        extent,
        chunkBytes: product(inner) * elem,
        origins: args.origins,
        los: args.los,
        bases: args.bases,
        scale: convert?.scale ?? 1,
        shift: convert?.offset ?? 0,
      }
      : undefined;
    let missing = 0;
    if (options.pool && n && copySpec) {
      const callOptions: PoolCallOptions & Trusted & CacheOverride = {
        signal: options.signal,
        [TRUSTED_RANGES]: m.sharded,
        ...this.#cacheOption(),
      };
      const res = await copyBoxesInto(options.pool, requests, out, copySpec, callOptions);
      for (const [i, e] of res.errors) {
        if (!m.sharded && e instanceof LsioError && e.code === "ENOENT") missing++;
        else throw withChunk(e, paths[plan.file[i]], i);
      }
    } else if (options.pool && n) {
      const intoOptions: TransformIntoOptions & Trusted & CacheOverride = {
        ...this.#cacheOption(),
        transform: { module: DECODE_MODULE, name: "decodeInto" },
        dest: out,
        stride: 0,
        args,
        signal: options.signal,
        [TRUSTED_RANGES]: m.sharded, // ranges from the shard index; chunk files of unsharded arrays run to EOF
      };
      const res = await options.pool.transformInto(requests, intoOptions);
      for (const [i, e] of res.errors) {
        if (!m.sharded && e instanceof LsioError && e.code === "ENOENT") missing++; // a chunk never written
        else throw withChunk(e, paths[plan.file[i]], i);
      }
    } else if (n) {
      // Into a reused slab: one native call, no allocation per batch.
      let bytes = 0;
      const offsets = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        offsets[i] = bytes;
        const len = plan.end[i] === Infinity ? this.#chunkBytes() : plan.end[i] - plan.start[i];
        bytes += Math.ceil(len / 64) * 64;
      }
      const slab = await this.#slab(sc, bytes);
      {
        const readOptions: ReadOptions & Trusted & CacheOverride = {
          ...this.#cacheOption(),
          signal: options.signal,
          // A storage with a known profile (remote: cloud) sorts and merges a batch's chunks by it; local shards
          // keep the cheap in-order merging (src/_storage.ts).
          plan: this.#storage.profile ? { profile: this.#storage.profile } : "ordered",
          [TRUSTED_RANGES]: m.sharded, // ranges from the shard index: no statx round
          hotPath: options.hotPath,
        };
        const res = await this.#reader.readColumnar({ ...requests, dest: { buffer: slab, offsets } }, readOptions);
        if (copySpec) {
          for (let i = 0; i < n; i++) {
            const st = res.status[i];
            if (st === 0) continue;
            if (!m.sharded && st === -2) missing++; // ENOENT: a chunk never written
            else throw res.error(i);
          }
          const lib = await native();
          const offs = new BigUint64Array(n), lens = new BigUint64Array(n);
          const o32 = new Uint32Array(offs.buffer), l32 = new Uint32Array(lens.buffer); // no BigInt per chunk
          for (let i = 0; i < n; i++) {
            const o = offsets[i], l = res.lengthOf(i);
            o32[2 * i] = o % 4294967296, o32[2 * i + 1] = Math.floor(o / 4294967296);
            l32[2 * i] = l % 4294967296, l32[2 * i + 1] = Math.floor(l / 4294967296);
          }
          new BoxCopier(lib, copySpec, out).run(
            n,
            lib.addressOf(slab),
            lib.addressOf(offs),
            lib.addressOf(res.status),
            0n,
            0,
            lib.addressOf(lens),
            (k, errno) => {
              throw withChunk(
                new LsioError(errno, { path: paths[plan.file[k]], range: { start: plan.start[k], end: plan.end[k] } }),
                paths[plan.file[k]],
                k,
              );
            },
          );
          return { data: out, chunksRead: n - missing, chunksFilled: filled + missing };
        }
        const pending: Promise<void>[] = [];
        for (let i = 0; i < n; i++) {
          const chunk = res.chunk(i);
          if (chunk instanceof LsioError) {
            if (!m.sharded && chunk.code === "ENOENT") {
              missing++;
              continue;
            }
            throw chunk;
          }
          try {
            const p = decodeChunk(chunk, i, args, out);
            if (p) pending.push(p.catch((e) => Promise.reject(withChunk(e, paths[plan.file[i]], i))));
          } catch (e) {
            throw withChunk(e, paths[plan.file[i]], i);
          }
        }
        await Promise.all(pending);
      }
    }
    return { data: out, chunksRead: n - missing, chunksFilled: filled + missing };
  }

  /** The read options checked: the conversion (if any) and the delivered typed array. */
  #checkRead(o: Omit<ShardedReadOptions, "dest">): {
    convert?: { scale: number; offset: number };
    T: (typeof TYPED)[Dtype];
  } {
    const dtype = checkEnum(o.dtype, READ_DTYPES, "dtype of a read");
    const scale = finiteOption(o.scale, "scale"), offset = finiteOption(o.offset, "offset");
    checkBoolean(o.hotPath, "hotPath");
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
      throw new TypeError(`signal is an AbortSignal, got ${describe(o.signal)}`);
    }
    if (o.pool !== undefined && !(o.pool instanceof WorkerPool)) {
      throw new TypeError(`pool is a WorkerPool, got ${describe(o.pool)}`);
    }
    if (!dtype) {
      if (scale !== undefined || offset !== undefined) {
        throw new TypeError(`scale and offset convert to floats: give dtype "float32" or "float64" with them`);
      }
      return { T: TYPED[this.meta.dtype] };
    }
    return { convert: { scale: scale ?? 1, offset: offset ?? 0 }, T: TYPED[dtype] };
  }

  /** Scratch sets not in use (see #readBoxes). */
  readonly #spare: Scratch[] = [];

  /** Request arrays for up to `cap` chunks, from `sc` when it has big enough ones. */
  #scratch(sc: Scratch, cap: number, nd: number): RequestScratch {
    if (!sc.plan || sc.plan.cap < cap || sc.plan.nd !== nd) {
      sc.plan = {
        cap,
        nd,
        file: new Uint32Array(cap),
        start: new Float64Array(cap),
        end: new Float64Array(cap),
        origins: new Int32Array(cap * nd),
        los: new Int32Array(cap * nd),
        bases: new Float64Array(cap),
      };
    }
    return sc.plan;
  }

  /** A 4096-aligned slab of at least `bytes`, from `sc` when it has a big enough one. */
  async #slab(sc: Scratch, bytes: number): Promise<Uint8Array> {
    if (!sc.slab || sc.slab.byteLength < bytes) sc.slab = await allocAligned(Math.max(bytes, 64) * 1.25);
    return sc.slab;
  }

  /** Bytes of one whole chunk file (unsharded arrays read chunks to EOF): an upper bound for raw chunks. */
  #chunkBytes(): number {
    return product(this.meta.innerShape) * TYPED[this.meta.dtype].BYTES_PER_ELEMENT * 2 + 4096;
  }

  /** Reads the indexes of the shards not cached yet: one batch. */
  async #loadIndexes(todo: ShardEntry[], signal?: AbortSignal): Promise<void> {
    const m = this.meta;
    const n = product(m.chunkShape.map((s, d) => s / m.innerShape[d]));
    const codecs = m.indexCodecs.map((c) => c.name);
    const crc = codecs.includes("crc32c");
    if (codecs[0] !== "bytes" || codecs.some((c) => c !== "bytes" && c !== "crc32c")) {
      throw new ZarrFormatError(`${this.path}: index codecs ${codecs.join(", ")} (bytes + optional crc32c handled)`);
    }
    const big = (m.indexCodecs[0].configuration?.endian ?? "little") === "big";
    const bytes = 16 * n + (crc ? 4 : 0);
    const requests = todo.map(({ path: p }) =>
      m.indexLocation === "start" ? { path: p, start: 0, end: bytes } : { path: p, start: -bytes }
    );
    const results = await this.#reader.read(requests, { signal, plan: false, ...this.#cacheOption() });
    results.forEach((r, i) => {
      const where = requests[i].path;
      if (r instanceof LsioError) {
        if (r.code === "ENOENT") return void (todo[i].index = null); // a missing shard: all fill
        throw r;
      }
      if (crc) {
        const want = new DataView(r.buffer, r.byteOffset + 16 * n, 4).getUint32(0, true);
        const got = crc32c(r.subarray(0, 16 * n));
        if (want !== got) {
          throw new ZarrFormatError(
            `${where}: shard index checksum mismatch (crc32c ${got.toString(16)}, stored ${
              want.toString(16)
            }; ${m.indexLocation} of the shard)`,
          );
        }
      }
      // 64-bit words as two 32-bit halves: no BigInt per entry.
      const dv = new DataView(r.buffer, r.byteOffset, 16 * n);
      const lo = big ? 4 : 0, hi = big ? 0 : 4, le = !big;
      const offsets = new Float64Array(n), nbytes = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        const at = 16 * k;
        const oLo = dv.getUint32(at + lo, le), oHi = dv.getUint32(at + hi, le);
        const nLo = dv.getUint32(at + 8 + lo, le), nHi = dv.getUint32(at + 8 + hi, le);
        if ((oLo & oHi & nLo & nHi) === -1) offsets[k] = -1; // offset and nbytes 2^64 - 1: empty
        else offsets[k] = oLo + oHi * 4294967296, nbytes[k] = nLo + nHi * 4294967296;
      }
      todo[i].index = { offsets, nbytes };
    });
  }

  /** Closes the array's own reader. */
  async close(): Promise<void> {
    if (this.#ownsReader) await this.#reader.close();
    releaseCache(this.#cache);
    this.#cache = undefined;
  }

  /** The options that send a read through the array's cache (none: the reader's or pool's own). */
  #cacheOption(): CacheOverride {
    return this.#cache ? { [CACHE]: this.#cache.handle } : {};
  }

  /** Same as {@linkcode ShardedArray.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** An upper bound on the chunks `boxes` boxes of `extent` touch. */
/** Calls visit() for every coordinate of the box [lo, hi) in C order, `cur` holding it. */
function forEachCoord(lo: number[], hi: number[], cur: number[], visit: () => void): void {
  const nd = lo.length;
  for (let d = 0; d < nd; d++) {
    if (hi[d] <= lo[d]) return;
    cur[d] = lo[d];
  }
  for (;;) {
    visit();
    let d = nd - 1;
    for (; d >= 0; d--) {
      if (++cur[d] < hi[d]) break;
      cur[d] = lo[d];
    }
    if (d < 0) return;
  }
}

function coordsBound(boxes: number, extent: number[], inner: number[]): number {
  return boxes * extent.reduce((n, e, d) => n * (Math.ceil(e / inner[d]) + 1), 1);
}

function withChunk(e: unknown, file: string, i: number): Error {
  if (e instanceof LsioError) return e;
  const err = new Error(`Decoding inner chunk ${i} of ${file} failed: ${(e as Error)?.message ?? e}`);
  (err as { cause?: unknown }).cause = e;
  return err;
}
