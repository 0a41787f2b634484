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
import * as path from "node:path";
import { LsioError } from "../errors.ts";
import { type ColumnarRequests, Reader } from "../reader.ts";
import { allocAligned } from "../aligned.ts";
import { native } from "../../ffi/mod.ts";
import { ChunkCodec, Dtype } from "../../ffi/native.ts";
import { BoxCopier, type BoxCopySpec, dtypeCode } from "./_boxcopy.ts";
import type { WorkerPool } from "../pool.ts";
import { crc32c } from "./crc32c.ts";
import { type DecodeArgs, decodeChunk } from "./_decode.ts";
import {
  type ArrayMeta,
  isRaw,
  isZstd,
  type NumericArray,
  type NumericDataType,
  parseArrayMeta,
  product,
  TYPED,
  ZarrFormatError,
} from "./_meta.ts";

export { ZarrFormatError };
export type { NumericArray, NumericDataType };

/** One dimension of a selection: an index (the dimension is dropped), `[start, stop)`, or null for all of it. */
export type DimSelection = number | [number, number] | null;

/** Options of {@linkcode ShardedArray.open}. */
export interface ShardedArrayOptions {
  /** A reader to share (not closed by the array); default: its own. */
  reader?: Reader;
  /** Shard indexes kept in memory (default 4096 shards). */
  indexCacheShards?: number;
}

/** Options of {@linkcode ShardedArray.read} and {@linkcode ShardedArray.readBatch}. */
export interface ShardedReadOptions {
  /** Decode and copy in these workers (the output is then SharedArrayBuffer-backed). */
  pool?: WorkerPool;
  /** Write here instead of a new array: the selection's shape, C order (SharedArrayBuffer-backed with a pool). */
  output?: NumericArray;
  /** Deliver floats: every value becomes (value - offset) * scale, converted where it is copied (in the workers). */
  as?: "float32" | "float64";
  scale?: number;
  offset?: number;
  signal?: AbortSignal;
}

/** What {@linkcode ShardedArray.read} returns. */
export interface SelectionResult {
  /** The elements, C order (bool: 0/1 bytes). */
  data: NumericArray;
  /** The selection's shape (dimensions selected by an index dropped). */
  shape: number[];
  /** Inner chunks read, and those that read as the fill value (empty or in a missing shard). */
  chunksRead: number;
  chunksFilled: number;
}

/** Where the workers find the decoding transform. */
const DECODE_MODULE = new URL("./_decode.ts", import.meta.url).href;

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
 * import { ShardedArray, writeShardedArray } from "../../mod.ts";
 * const dir = await Deno.makeTempDir();
 * const data = Uint16Array.from({ length: 6 * 8 }, (_, i) => i);
 * await writeShardedArray(dir, data, { shape: [6, 8], dataType: "uint16", shardShape: [4, 8], chunkShape: [2, 4] });
 * await using arr = await ShardedArray.open(dir);
 * const { data: crop, shape } = await arr.read([[1, 3], [2, 5]]);
 * console.log(shape, Array.from(crop as Uint16Array)); // [ 2, 3 ] [ 10, 11, 12, 18, 19, 20 ]
 * ```
 */
export class ShardedArray implements AsyncDisposable {
  /** The array's directory. */
  readonly path: string;
  /** zarr.json, parsed. */
  readonly meta: ArrayMeta;
  readonly #reader: Reader;
  readonly #ownsReader: boolean;
  readonly #indexes = new Map<string, ShardIndex | null>();
  readonly #cacheShards: number;

  private constructor(dir: string, meta: ArrayMeta, reader: Reader, owns: boolean, cacheShards: number) {
    this.path = dir;
    this.meta = meta;
    this.#reader = reader;
    this.#ownsReader = owns;
    this.#cacheShards = cacheShards;
  }

  /** Opens the array in `dir` (reads its zarr.json). */
  static async open(dir: string, options: ShardedArrayOptions = {}): Promise<ShardedArray> {
    const full = path.resolve(dir);
    const where = path.join(full, "zarr.json");
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await fs.promises.readFile(where, "utf8"));
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT") throw new LsioError(-2, { path: where, op: "open zarr array" });
      throw e;
    }
    const meta = parseArrayMeta(json, where);
    // Its own reader keeps shard files open between batches: a training loop returns to the same shards
    // (and the shard indexes are cached the same way: the array is taken as unchanging while open).
    const reader = options.reader ?? await Reader.open({ keepOpen: 1024 });
    return new ShardedArray(full, meta, reader, !options.reader, options.indexCacheShards ?? 4096);
  }

  /** The array's shape. */
  get shape(): number[] {
    return this.meta.shape.slice();
  }
  /** The array's data type. */
  get dataType(): NumericDataType {
    return this.meta.dataType;
  }

  /** Reads a selection (default: everything). */
  async read(selection: DimSelection[] | null = null, options: ShardedReadOptions = {}): Promise<SelectionResult> {
    const nd = this.meta.shape.length;
    const box = this.#box(selection ?? new Array(nd).fill(null));
    const res = await this.#readBoxes([box.lo], box.extent, options);
    return { ...res, shape: box.shape };
  }

  /**
   * Reads many selections of the same shape in one go — one batch for every
   * shard index they need, one for every inner chunk — into one output of
   * shape `[selections.length, ...selection shape]` (an ML batch of crops).
   */
  async readBatch(selections: DimSelection[][], options: ShardedReadOptions = {}): Promise<SelectionResult> {
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
    return { ...res, shape: [boxes.length, ...first.shape] };
  }

  /** A selection as a box [lo, lo + extent) and its output shape. */
  #box(sel: DimSelection[]): { lo: number[]; extent: number[]; shape: number[] } {
    const m = this.meta, nd = m.shape.length;
    if (!Array.isArray(sel) || sel.length !== nd) {
      throw new RangeError(`A selection of ${sel?.length} dimensions for a ${nd}-d array`);
    }
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
   * One read at a time owns the reused request arrays and slab; a read that
   * starts while another is in flight (e.g. a prefetch) gets fresh ones.
   */
  async #readBoxes(
    los: number[][],
    extent: number[],
    options: ShardedReadOptions,
  ): Promise<Omit<SelectionResult, "shape">> {
    const owner = !this.#busy;
    if (owner) this.#busy = true;
    try {
      return await this.#readBoxesWith(los, extent, options, owner);
    } finally {
      if (owner) this.#busy = false;
    }
  }

  async #readBoxesWith(
    los: number[][],
    extent: number[],
    options: ShardedReadOptions,
    owner: boolean,
  ): Promise<Omit<SelectionResult, "shape">> {
    const m = this.meta, nd = m.shape.length;
    const convert = options.as ? { scale: options.scale ?? 1, offset: options.offset ?? 0 } : undefined;
    const T = options.as ? (options.as === "float32" ? Float32Array : Float64Array) : TYPED[m.dataType];
    const per = product(extent), count = per * los.length;
    const shared = !!options.pool;
    let out = options.output;
    if (out) {
      if (out.length !== count) throw new RangeError(`output holds ${out.length} elements, the selection ${count}`);
      if (shared && !(out.buffer instanceof SharedArrayBuffer)) {
        throw new TypeError("With a pool, output is backed by a SharedArrayBuffer");
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
          cLo[d] = cc[d] = Math.floor(lo[d] / inner[d]);
          cHi[d] = Math.ceil((lo[d] + extent[d]) / inner[d]);
        }
        for (;;) {
          let shard = 0, lin = 0;
          for (let d = 0; d < nd; d++) {
            const sd = Math.floor(cc[d] / perShard[d]);
            shard = shard * grid[d] + sd;
            lin = lin * perShard[d] + (cc[d] - sd * perShard[d]);
          }
          visit(b, shard, lin);
          let d = nd - 1;
          for (; d >= 0; d--) {
            if (++cc[d] < cHi[d]) break;
            cc[d] = cLo[d];
          }
          if (d < 0) break;
        }
      }
    };
    const shardCoord = (id: number) => {
      const c = new Array<number>(nd);
      for (let d = nd - 1; d >= 0; d--) c[d] = id % grid[d], id = Math.floor(id / grid[d]);
      return c;
    };
    /** A shard's key and full path, made once per shard (not per chunk or batch). */
    const shardOf = (id: number) => {
      let k = this.#keys.get(id);
      if (k === undefined) {
        const key = m.chunkKey(shardCoord(id));
        k = { key, path: path.join(this.path, key) };
        if (this.#keys.size >= this.#cacheShards) this.#keys.delete(this.#keys.keys().next().value!);
        this.#keys.set(id, k);
      }
      return k;
    };
    if (m.sharded) {
      const need = new Set<string>();
      each((_b, shard) => {
        const k = shardOf(shard).key;
        if (!this.#indexes.has(k)) need.add(k);
      });
      if (need.size) await this.#loadIndexes([...need], options.signal);
    }

    // The requests: one per stored inner chunk; the rest is fill.
    const paths: string[] = [], pathIndex = new Map<number, number>();
    const plan = this.#scratch(coordsBound(los.length, extent, inner), nd, owner);
    let n = 0, filled = 0;
    each((b, shard, lin) => {
      let s = 0, e = Infinity;
      const sh = shardOf(shard);
      if (m.sharded) {
        const idx = this.#indexes.get(sh.key);
        if (!idx || idx.offsets[lin] < 0) {
          filled++;
          return;
        }
        s = idx.offsets[lin];
        e = s + idx.nbytes[lin];
      }
      let f = pathIndex.get(shard);
      if (f === undefined) pathIndex.set(shard, f = paths.push(sh.path) - 1);
      plan.file[n] = f, plan.start[n] = s, plan.end[n] = e;
      for (let d = 0; d < nd; d++) plan.origins[n * nd + d] = cc[d] * inner[d], plan.los[n * nd + d] = los[b][d];
      plan.bases[n] = b * per;
      n++;
    });
    const args: DecodeArgs = {
      dataType: m.dataType,
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
    const elem = TYPED[m.dataType].BYTES_PER_ELEMENT;
    const zstd = isZstd(m);
    const copySpec: BoxCopySpec | undefined = args.raw || zstd
      ? {
        codec: zstd ? ChunkCodec.zstd : ChunkCodec.raw,
        dtype: dtypeCode(m.dataType),
        outDtype: options.as ? (options.as === "float32" ? Dtype.float32 : Dtype.float64) : dtypeCode(m.dataType),
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
      const res = await options.pool._copyBoxesInto(requests, out, copySpec, {
        signal: options.signal,
        trustRanges: m.sharded,
      });
      for (const [i, e] of res.errors) {
        if (!m.sharded && e instanceof LsioError && e.code === "ENOENT") missing++;
        else throw withChunk(e, paths[plan.file[i]], i);
      }
    } else if (options.pool && n) {
      const res = await options.pool.transformInto(requests, {
        transform: { module: DECODE_MODULE, name: "decodeInto" },
        output: out,
        stride: 0,
        args,
        signal: options.signal,
        trustRanges: m.sharded, // ranges from the shard index; chunk files of unsharded arrays run to EOF
      });
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
      const slab = await this.#slab(bytes, owner);
      {
        const res = await this.#reader.readColumnar({ ...requests, dest: { buffer: slab, offsets } }, {
          signal: options.signal,
          plan: "ordered",
          trustRanges: m.sharded, // ranges from the shard index: no statx round
        });
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

  /** Shard keys and paths by shard id. */
  readonly #keys = new Map<number, { key: string; path: string }>();
  #slabMem: Uint8Array | undefined;
  /** A read owns #plan and #slabMem. */
  #busy = false;
  #plan: {
    cap: number;
    nd: number;
    file: Uint32Array;
    start: Float64Array;
    end: Float64Array;
    origins: Int32Array;
    los: Int32Array;
    bases: Float64Array;
  } | undefined;

  /** Request arrays for up to `cap` chunks: the reused ones for the owning read, else fresh ones. */
  #scratch(cap: number, nd: number, owner: boolean) {
    const mk = () => ({
      cap,
      nd,
      file: new Uint32Array(cap),
      start: new Float64Array(cap),
      end: new Float64Array(cap),
      origins: new Int32Array(cap * nd),
      los: new Int32Array(cap * nd),
      bases: new Float64Array(cap),
    });
    if (!owner) return mk();
    if (!this.#plan || this.#plan.cap < cap || this.#plan.nd !== nd) this.#plan = mk();
    return this.#plan;
  }

  /** A 4096-aligned slab of at least `bytes`: the reused one for the owning read, else a fresh one. */
  async #slab(bytes: number, owner: boolean): Promise<Uint8Array> {
    if (!owner) return await allocAligned(Math.max(bytes, 64));
    if (!this.#slabMem || this.#slabMem.byteLength < bytes) {
      this.#slabMem = await allocAligned(Math.max(bytes, 64) * 1.25);
    }
    return this.#slabMem;
  }

  /** Bytes of one whole chunk file (unsharded arrays read chunks to EOF): an upper bound for raw chunks. */
  #chunkBytes(): number {
    return product(this.meta.innerShape) * TYPED[this.meta.dataType].BYTES_PER_ELEMENT * 2 + 4096;
  }

  /** Reads the indexes of the shards not cached yet: one batch. */
  async #loadIndexes(keys: string[], signal?: AbortSignal): Promise<void> {
    const todo = keys.filter((k) => !this.#indexes.has(k));
    if (!todo.length) return;
    const m = this.meta;
    const n = product(m.chunkShape.map((s, d) => s / m.innerShape[d]));
    const codecs = m.indexCodecs.map((c) => c.name);
    const crc = codecs.includes("crc32c");
    if (codecs[0] !== "bytes" || codecs.some((c) => c !== "bytes" && c !== "crc32c")) {
      throw new ZarrFormatError(`${this.path}: index codecs ${codecs.join(", ")} (bytes + optional crc32c handled)`);
    }
    const big = (m.indexCodecs[0].configuration?.endian ?? "little") === "big";
    const bytes = 16 * n + (crc ? 4 : 0);
    const requests = todo.map((k) => {
      const p = path.join(this.path, k);
      return m.indexLocation === "start" ? { path: p, start: 0, end: bytes } : { path: p, start: -bytes };
    });
    const results = await this.#reader.read(requests, { signal, plan: false });
    results.forEach((r, i) => {
      const where = requests[i].path;
      if (r instanceof LsioError) {
        if (r.code === "ENOENT") return this.#cache(todo[i], null); // a missing shard: all fill
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
      this.#cache(todo[i], { offsets, nbytes });
    });
  }

  #cache(key: string, index: ShardIndex | null): void {
    if (this.#indexes.size >= this.#cacheShards) this.#indexes.delete(this.#indexes.keys().next().value!);
    this.#indexes.set(key, index);
  }

  /** Closes the array's own reader. */
  async close(): Promise<void> {
    if (this.#ownsReader) await this.#reader.close();
  }

  /** Same as {@linkcode ShardedArray.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** An upper bound on the chunks `boxes` boxes of `extent` touch. */
function coordsBound(boxes: number, extent: number[], inner: number[]): number {
  return boxes * extent.reduce((n, e, d) => n * (Math.ceil(e / inner[d]) + 1), 1);
}

function withChunk(e: unknown, file: string, i: number): Error {
  if (e instanceof LsioError) return e;
  const err = new Error(`Decoding inner chunk ${i} of ${file} failed: ${(e as Error)?.message ?? e}`);
  (err as { cause?: unknown }).cause = e;
  return err;
}
