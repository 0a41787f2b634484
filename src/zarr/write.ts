/**
 * Writing sharded Zarr v3 arrays (zarrita cannot): raw or compressed inner
 * chunks, the shard index at the end or the start, with or without crc32c —
 * enough to make data sets for demos and benchmarks, read back by zarrita and
 * by zarr-python.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { chunkCodec } from "./_codecs.ts";
import { copyBox } from "./_decode.ts";
import { crc32c } from "./crc32c.ts";
import { type CodecMeta, type NumericArray, type NumericDataType, product, TYPED } from "./_meta.ts";

/** Options of {@linkcode writeShardedArray}. */
export interface WriteShardedOptions {
  /** The array's shape. */
  shape: number[];
  dataType: NumericDataType;
  /** Shard shape (the chunk grid); a multiple of `chunkShape`. */
  shardShape: number[];
  /** Inner chunk shape. */
  chunkShape: number[];
  /**
   * Inner chunk codecs after `bytes` (little-endian): `"raw"` (none, the
   * default), `"gzip"`, `"zstd"`, or codec metadata as in zarr.json (the whole
   * list, `bytes` included).
   */
  codecs?: "raw" | "gzip" | "zstd" | CodecMeta[];
  /** Where each shard keeps its index (default `"end"`). */
  indexLocation?: "start" | "end";
  /** Append a crc32c to each shard index (default true). */
  crc32c?: boolean;
  /** Default 0. */
  fillValue?: number | bigint | boolean;
  /** Store inner chunks that hold only the fill value (default false: they are marked empty). */
  writeEmptyChunks?: boolean;
  /** zarr.json attributes. */
  attributes?: Record<string, unknown>;
}

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
  if (Array.isArray(c)) return c;
  throw new TypeError(`codecs is "raw", "gzip", "zstd" or a codec list, got ${JSON.stringify(c)}`);
}

function fillJson(v: number | bigint | boolean, dt: NumericDataType): unknown {
  if (dt === "bool") return !!v;
  if (typeof v === "bigint") return Number(v);
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  return v;
}

/**
 * Writes `data` (C order, `options.shape`) as a sharded Zarr v3 array in
 * `dir` (created; an existing zarr.json and shards are overwritten).
 *
 * @example
 * ```ts
 * import { writeShardedArray } from "./write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeShardedArray(dir, new Float32Array(100).fill(1.5), {
 *   shape: [10, 10], dataType: "float32", shardShape: [10, 10], chunkShape: [5, 5], codecs: "zstd",
 * });
 * console.log(JSON.parse(await Deno.readTextFile(`${dir}/zarr.json`)).codecs[0].name); // sharding_indexed
 * ```
 */
export async function writeShardedArray(dir: string, data: NumericArray, options: WriteShardedOptions): Promise<void> {
  const { shape, dataType, shardShape, chunkShape } = options;
  const nd = shape.length;
  if (shardShape.length !== nd || chunkShape.length !== nd) {
    throw new RangeError("shape, shardShape and chunkShape differ in rank");
  }
  if (shardShape.some((s, d) => !(s > 0) || s % chunkShape[d] !== 0)) {
    throw new RangeError(`shard shape ${shardShape} is not a multiple of chunk shape ${chunkShape}`);
  }
  const T = TYPED[dataType];
  if (!T) throw new TypeError(`Unknown data type ${dataType}`);
  if (data.length !== product(shape)) {
    throw new RangeError(`data holds ${data.length} elements, shape ${shape} needs ${product(shape)}`);
  }
  const codecs = codecList(options.codecs);
  const crc = options.crc32c ?? true;
  const where = options.indexLocation ?? "end";
  const fill = options.fillValue ?? (dataType === "int64" || dataType === "uint64" ? 0n : 0);
  const meta = {
    shape,
    data_type: dataType,
    chunk_grid: { name: "regular", configuration: { chunk_shape: shardShape } },
    chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
    fill_value: fillJson(fill, dataType),
    codecs: [{
      name: "sharding_indexed",
      configuration: {
        chunk_shape: chunkShape,
        codecs,
        index_codecs: [{ name: "bytes", configuration: { endian: "little" } }, ...(crc ? [{ name: "crc32c" }] : [])],
        index_location: where,
      },
    }],
    attributes: options.attributes ?? {},
    zarr_format: 3,
    node_type: "array",
    storage_transformers: [],
  };
  await fs.promises.mkdir(dir, { recursive: true });
  await fs.promises.writeFile(path.join(dir, "zarr.json"), JSON.stringify(meta, null, 2));
  const codec = await chunkCodec(dataType, chunkShape, codecs, meta.fill_value);
  const perShard = shardShape.map((s, d) => s / chunkShape[d]);
  const nPer = product(perShard);
  const grid = shape.map((s, d) => Math.ceil(s / shardShape[d]));
  const stride = cStrides(shape), zeros = new Array(nd).fill(0);
  const fillElem = typeof fill === "boolean" ? Number(fill) : fill;
  const chunkLen = product(chunkShape);
  const sc = new Array(nd).fill(0);
  for (let more = grid.every((g) => g > 0) || nd === 0; more;) {
    const pieces: Uint8Array[] = [];
    const index = new DataView(new ArrayBuffer(16 * nPer));
    let at = where === "start" ? 16 * nPer + (crc ? 4 : 0) : 0;
    const ic = new Array(nd).fill(0);
    for (let k = 0; k < nPer; k++) {
      const lo = ic.map((x, d) => sc[d] * shardShape[d] + x * chunkShape[d]);
      let bytes: Uint8Array | undefined;
      if (lo.every((l, d) => l < shape[d])) {
        const chunk = new T(chunkLen);
        (chunk as { fill(v: unknown): void }).fill(fillElem);
        copyBox(data, shape, stride, zeros, lo, chunkShape, chunk, 0);
        const empty = !options.writeEmptyChunks && (chunk as ArrayLike<unknown>) &&
          Array.prototype.every.call(
            chunk,
            (v: unknown) => v === fillElem || (Number.isNaN(v) && Number.isNaN(fillElem)),
          );
        if (!empty) bytes = await codec.encode({ data: chunk, shape: chunkShape, stride: cStrides(chunkShape) });
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
    const key = path.join(dir, ["c", ...sc].join("/"));
    if (pieces.length) {
      const idx = new Uint8Array(index.buffer);
      const tail = crc ? new Uint8Array(4) : new Uint8Array(0);
      if (crc) new DataView(tail.buffer).setUint32(0, crc32c(idx), true);
      const parts = where === "start" ? [idx, tail, ...pieces] : [...pieces, idx, tail];
      await fs.promises.mkdir(path.dirname(key), { recursive: true });
      await fs.promises.writeFile(key, concat(parts));
    } else {
      await fs.promises.rm(key, { force: true }); // all fill: no shard, as zarr-python does
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
