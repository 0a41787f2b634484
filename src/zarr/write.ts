/**
 * Writing sharded Zarr v3 arrays (zarrita cannot): raw or compressed inner
 * chunks (any codec list zarrita's registry encodes, plus crc32c), the shard
 * index at the end or the start, with or without crc32c — enough to make data
 * sets for demos and benchmarks, read back by zarrita (index at the end),
 * zarr-python, zarrs and tensorstore.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { chunkCodec } from "./_codecs.ts";
import { copyBox } from "./_decode.ts";
import { crc32c } from "./crc32c.ts";
import { type CodecMeta, type Dtype, intRange, type NumericArray, product, TYPED } from "./_meta.ts";
import { DTYPES } from "../dtype.ts";
import { checkBoolean, checkEnum, describe, options as checkOptions } from "../_strict.ts";

/** Options of {@linkcode writeShardedArray}. */
export interface WriteShardedOptions {
  /** The array's shape. */
  shape: readonly number[];
  /** The element type; `data` must be its typed array (never converted). */
  dtype: Dtype;
  /** Shard shape (the chunk grid); a multiple of `chunkShape`. */
  shardShape: readonly number[];
  /** Inner chunk shape. */
  chunkShape: readonly number[];
  /**
   * Inner chunk codecs after `bytes` (little-endian): `"raw"` (none, the
   * default), `"gzip"`, `"zstd"`, or codec metadata as in zarr.json (the whole
   * list, `bytes` included; `crc32c` is supported).
   */
  codecs?: "raw" | "gzip" | "zstd" | readonly CodecMeta[];
  /**
   * Where each shard keeps its index (default `"end"`). zarr-python, zarrs and
   * tensorstore read both; zarrita (0.7) reads only `"end"`.
   */
  indexLocation?: "start" | "end";
  /** Append a crc32c to each shard index (default true). */
  crc32c?: boolean;
  /**
   * Default 0 (false for bool). A bigint or a safe integer for int64/uint64
   * (written exactly, past 2^53 too); a number in range for the other integer
   * types; any number for floats (NaN, ±Infinity and -0 included); a boolean
   * for bool.
   */
  fillValue?: number | bigint | boolean;
  /** Store inner chunks that hold only the fill value (default false: they are marked empty). */
  writeEmptyChunks?: boolean;
  /** zarr.json attributes (JSON). */
  attributes?: Record<string, unknown>;
}

const OPTION_KEYS = [
  "shape",
  "dtype",
  "shardShape",
  "chunkShape",
  "codecs",
  "indexLocation",
  "crc32c",
  "fillValue",
  "writeEmptyChunks",
  "attributes",
] as const;

const cStrides = (shape: readonly number[]) => {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) s[d] = acc, acc *= shape[d];
  return s;
};

function codecList(c: WriteShardedOptions["codecs"]): CodecMeta[] {
  const bytes = { name: "bytes", configuration: { endian: "little" } };
  if (c === undefined || c === "raw") return [bytes];
  if (c === "gzip") return [bytes, { name: "gzip", configuration: { level: 5 } }];
  if (c === "zstd") return [bytes, { name: "zstd", configuration: { level: 3, checksum: false } }];
  if (Array.isArray(c)) {
    c.forEach((x, i) => {
      if (x === null || typeof x !== "object" || typeof x.name !== "string") {
        throw new TypeError(`codecs[${i}] is { name, configuration? }, got ${describe(x)}`);
      }
    });
    return c.map((x) => ({ ...x }));
  }
  throw new TypeError(`codecs is "raw", "gzip", "zstd" or a codec list, got ${describe(c)}`);
}

function shapeOf(v: unknown, what: string, positive: boolean): number[] {
  if (!Array.isArray(v)) throw new TypeError(`${what} is an array of integers, got ${describe(v)}`);
  v.forEach((x, d) => {
    if (typeof x !== "number") throw new TypeError(`${what}[${d}] is a number, got ${describe(x)}`);
    if (!Number.isSafeInteger(x) || x < (positive ? 1 : 0)) {
      throw new RangeError(`${what}[${d}] is an integer ${positive ? ">= 1" : ">= 0"}, got ${x}`);
    }
  });
  return v.slice();
}

/** The fill value checked against the data type: a number, bigint (int64/uint64) or boolean. */
function checkFill(v: unknown, dt: Dtype): number | bigint | boolean {
  if (v === undefined) return dt === "bool" ? false : dt === "int64" || dt === "uint64" ? 0n : 0;
  const what = `fillValue for ${dt}`;
  if (dt === "bool") {
    if (typeof v !== "boolean") throw new TypeError(`${what} is a boolean, got ${describe(v)}`);
    return v;
  }
  const range = intRange(dt);
  if (!range) { // floats
    if (typeof v !== "number") throw new TypeError(`${what} is a number, got ${describe(v)}`);
    return v;
  }
  const big = dt === "int64" || dt === "uint64";
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new TypeError(`${what} is an integer, got ${v}`);
    if (big && !Number.isSafeInteger(v)) {
      throw new RangeError(`${what} ${v} is past 2^53, where a number is not exact: give a bigint`);
    }
  } else if (!(big && typeof v === "bigint")) {
    throw new TypeError(`${what} is ${big ? "a bigint or an integer" : "an integer"}, got ${describe(v)}`);
  }
  const b = BigInt(v as number | bigint);
  if (b < range[0] || b > range[1]) throw new RangeError(`${what} is in ${range[0]}..${range[1]}, got ${b}`);
  return big ? b : Number(b);
}

/** The fill value as zarr.json holds it: exact integers, -0.0, "NaN"/"Infinity"/"-Infinity". */
function fillLiteral(v: number | bigint | boolean): string {
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Number.isNaN(v)) return '"NaN"';
  if (v === Infinity) return '"Infinity"';
  if (v === -Infinity) return '"-Infinity"';
  if (Object.is(v, -0)) return "-0.0";
  return JSON.stringify(v);
}

/** `data` is `dtype`'s own typed array (bool: a Uint8Array of 0s and 1s), never converted. */
function checkData(data: unknown, dtype: Dtype): NumericArray {
  const T = TYPED[dtype];
  if (!(data instanceof T)) {
    const got = ArrayBuffer.isView(data) ? data.constructor.name : describe(data);
    throw new TypeError(`data for dtype ${dtype} is a ${T.name}, got ${got} (convert it first: no conversion is made)`);
  }
  if (dtype === "bool") {
    const u = data as Uint8Array;
    for (let i = 0; i < u.length; i++) {
      if (u[i] > 1) throw new RangeError(`bool data holds 0 or 1 per byte; data[${i}] = ${u[i]}`);
    }
  }
  return data as NumericArray;
}

/** Bytes equal, word by word (a chunk against the all-fill chunk: bit patterns, so -0.0 is not 0.0). */
function sameBytes(a: NumericArray, b: NumericArray): boolean {
  const n = a.byteLength;
  if (n !== b.byteLength) return false;
  const words = n >> 2;
  const aw = new Uint32Array(a.buffer, a.byteOffset, words), bw = new Uint32Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) if (aw[i] !== bw[i]) return false;
  const ab = new Uint8Array(a.buffer, a.byteOffset, n), bb = new Uint8Array(b.buffer, b.byteOffset, n);
  for (let i = words * 4; i < n; i++) if (ab[i] !== bb[i]) return false;
  return true;
}

/**
 * Writes `data` (C order, `options.shape`, the typed array of
 * `options.dtype`) as a sharded Zarr v3 array in `dir`. Everything is checked
 * before anything is written, and the array is written into a temporary
 * folder beside `dir` and moved into place at the end: a write that fails
 * leaves no half array behind (an array already in `dir` stays as it was).
 * An existing array in `dir` (its zarr.json and `c/` tree) is replaced.
 *
 * @example
 * ```ts
 * import { writeShardedArray } from "./write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeShardedArray(dir, new Float32Array(100).fill(1.5), {
 *   shape: [10, 10], dtype: "float32", shardShape: [10, 10], chunkShape: [5, 5], codecs: "zstd",
 * });
 * console.log(JSON.parse(await Deno.readTextFile(`${dir}/zarr.json`)).codecs[0].name); // sharding_indexed
 * ```
 */
export async function writeShardedArray(
  dir: string,
  data: NumericArray,
  options: WriteShardedOptions,
): Promise<void> {
  if (typeof dir !== "string" || dir.length === 0 || dir.includes("\0")) {
    throw new TypeError(`dir is a non-empty path without NUL bytes, got ${describe(dir)}`);
  }
  if (options === undefined) {
    throw new TypeError("writeShardedArray needs options: { shape, dtype, shardShape, chunkShape }");
  }
  const o = checkOptions(options, OPTION_KEYS, "writeShardedArray options");
  const dtype = checkEnum(o.dtype, DTYPES, "dtype");
  if (dtype === undefined) throw new TypeError(`dtype is required (one of ${DTYPES.join(", ")})`);
  const shape = shapeOf(o.shape, "shape", false);
  const shardShape = shapeOf(o.shardShape, "shardShape", true);
  const chunkShape = shapeOf(o.chunkShape, "chunkShape", true);
  const nd = shape.length;
  if (shardShape.length !== nd || chunkShape.length !== nd) {
    throw new RangeError(
      `shape, shardShape and chunkShape differ in rank (${nd}, ${shardShape.length}, ${chunkShape.length})`,
    );
  }
  if (shardShape.some((s, d) => s % chunkShape[d] !== 0)) {
    throw new RangeError(`shard shape ${shardShape} is not a multiple of chunk shape ${chunkShape}`);
  }
  checkData(data, dtype);
  if (data.length !== product(shape)) {
    throw new RangeError(`data holds ${data.length} elements, shape [${shape}] needs ${product(shape)}`);
  }
  const codecs = codecList(o.codecs);
  const crc = checkBoolean(o.crc32c, "crc32c") ?? true;
  const where = checkEnum(o.indexLocation, ["start", "end"] as const, "indexLocation") ?? "end";
  const writeEmpty = checkBoolean(o.writeEmptyChunks, "writeEmptyChunks") ?? false;
  const fill = checkFill(o.fillValue, dtype);
  const attributes = o.attributes ?? {};
  if (attributes === null || typeof attributes !== "object" || Array.isArray(attributes)) {
    throw new TypeError(`attributes is an object, got ${describe(attributes)}`);
  }
  const FILL = "\u0000lsio-fill\u0000"; // replaced by the exact literal (JSON.stringify rounds bigints and -0)
  const meta = {
    shape,
    data_type: dtype,
    chunk_grid: { name: "regular", configuration: { chunk_shape: shardShape } },
    chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
    fill_value: FILL,
    codecs: [{
      name: "sharding_indexed",
      configuration: {
        chunk_shape: chunkShape,
        codecs,
        index_codecs: [{ name: "bytes", configuration: { endian: "little" } }, ...(crc ? [{ name: "crc32c" }] : [])],
        index_location: where,
      },
    }],
    attributes,
    zarr_format: 3,
    node_type: "array",
    storage_transformers: [],
  };
  let json: string;
  try {
    json = JSON.stringify(meta, null, 2).replace(JSON.stringify(FILL), fillLiteral(fill));
  } catch (e) {
    throw new TypeError(`attributes are not JSON: ${(e as Error).message}`);
  }
  // The codecs are built, and the all-fill chunk encoded, before anything is written: an unknown
  // codec or one that cannot encode fails here.
  const codec = await chunkCodec(dtype, chunkShape, codecs, fill);
  const chunkLen = product(chunkShape);
  const fillChunk = new TYPED[dtype](chunkLen);
  (fillChunk as { fill(v: unknown): void }).fill(typeof fill === "boolean" ? Number(fill) : fill);
  await codec.encode({ data: fillChunk, shape: chunkShape, stride: cStrides(chunkShape) });

  const target = path.resolve(dir);
  const parent = path.dirname(target);
  await fs.promises.mkdir(parent, { recursive: true });
  const tmp = await fs.promises.mkdtemp(path.join(parent, `.${path.basename(target)}.lsio-write-${process.pid}-`));
  try {
    await writeShards(tmp, data, { dtype, shape, shardShape, chunkShape, crc, where, writeEmpty, codec, fillChunk });
    await fs.promises.writeFile(path.join(tmp, "zarr.json"), json);
    await moveInto(tmp, target);
  } catch (e) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Moves the array written in `tmp` to `target`: a rename, or over an existing array (its zarr.json and c/). */
async function moveInto(tmp: string, target: string): Promise<void> {
  let existing: fs.Stats | undefined;
  try {
    existing = await fs.promises.stat(target);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") throw e;
  }
  if (!existing) return void await fs.promises.rename(tmp, target);
  if (!existing.isDirectory()) throw new TypeError(`${target} exists and is not a directory`);
  // The old array's metadata goes first, so a crash in between leaves no array that reads wrong.
  await fs.promises.rm(path.join(target, "zarr.json"), { force: true });
  await fs.promises.rm(path.join(target, "c"), { recursive: true, force: true });
  if (fs.existsSync(path.join(tmp, "c"))) await fs.promises.rename(path.join(tmp, "c"), path.join(target, "c"));
  await fs.promises.rename(path.join(tmp, "zarr.json"), path.join(target, "zarr.json"));
  await fs.promises.rm(tmp, { recursive: true, force: true });
}

interface ShardLayout {
  dtype: Dtype;
  shape: number[];
  shardShape: number[];
  chunkShape: number[];
  crc: boolean;
  where: "start" | "end";
  writeEmpty: boolean;
  codec: Awaited<ReturnType<typeof chunkCodec>>;
  fillChunk: NumericArray;
}

/** Every shard of `data` under dir/c/… (a shard of only empty chunks is not written, as zarr-python does). */
async function writeShards(dir: string, data: NumericArray, l: ShardLayout): Promise<void> {
  const { shape, shardShape, chunkShape, crc, where, codec, fillChunk } = l;
  const nd = shape.length;
  const perShard = shardShape.map((s, d) => s / chunkShape[d]);
  const nPer = product(perShard);
  const grid = shape.map((s, d) => Math.ceil(s / shardShape[d]));
  const stride = cStrides(shape), zeros = new Array(nd).fill(0);
  const chunkStride = cStrides(chunkShape);
  const T = TYPED[l.dtype];
  const chunk = new T(fillChunk.length);
  const sc = new Array(nd).fill(0);
  for (let more = grid.every((g) => g > 0) || nd === 0; more;) {
    const pieces: Uint8Array[] = [];
    const index = new DataView(new ArrayBuffer(16 * nPer));
    let at = where === "start" ? 16 * nPer + (crc ? 4 : 0) : 0;
    const ic = new Array(nd).fill(0);
    for (let k = 0; k < nPer; k++) {
      const lo = ic.map((x, d) => sc[d] * shardShape[d] + x * chunkShape[d]);
      let bytes: Uint8Array | undefined;
      if (lo.every((v, d) => v < shape[d])) {
        (chunk as { set(a: ArrayLike<unknown>): void }).set(fillChunk as ArrayLike<unknown>);
        copyBox(data, shape, stride, zeros, lo, chunkShape, chunk, 0);
        if (l.writeEmpty || !sameBytes(chunk, fillChunk)) {
          bytes = (await codec.encode({ data: chunk, shape: chunkShape, stride: chunkStride })).slice();
        }
      }
      if (bytes) {
        index.setBigUint64(16 * k, BigInt(at), true);
        index.setBigUint64(16 * k + 8, BigInt(bytes.length), true);
        pieces.push(bytes);
        at += bytes.length;
      } else {
        index.setBigUint64(16 * k, 0xffffffffffffffffn, true);
        index.setBigUint64(16 * k + 8, 0xffffffffffffffffn, true);
      }
      for (let d = nd - 1; d >= 0; d--) {
        if (++ic[d] < perShard[d]) break;
        ic[d] = 0;
      }
    }
    if (pieces.length) {
      const idx = new Uint8Array(index.buffer);
      const tail = crc ? new Uint8Array(4) : new Uint8Array(0);
      if (crc) new DataView(tail.buffer).setUint32(0, crc32c(idx), true);
      const parts = where === "start" ? [idx, tail, ...pieces] : [...pieces, idx, tail];
      const key = path.join(dir, ["c", ...sc].join("/"));
      await fs.promises.mkdir(path.dirname(key), { recursive: true });
      await fs.promises.writeFile(key, concat(parts));
    }
    let d = nd - 1;
    for (; d >= 0; d--) {
      if (++sc[d] < grid[d]) break;
      sc[d] = 0;
    }
    more = d >= 0;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}
