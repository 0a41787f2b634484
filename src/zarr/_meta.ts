// Zarr v3 array metadata (zarr.json) as the batched reader and the writer
// need it: shapes, data type, fill value, chunk keys, the sharding codec.

import { type Dtype, DTYPES, type NumericArray, TYPED_ARRAYS } from "../dtype.ts";

export type { Dtype, NumericArray };
/** The typed array of each data type (bool: Uint8Array of 0/1). */
export const TYPED = TYPED_ARRAYS;

/** One codec of a zarr.json codec list. */
export interface CodecMeta {
  /** The codec's name ("bytes", "zstd", "sharding_indexed", …). */
  name: string;
  /** Its configuration, as in zarr.json. */
  configuration?: Record<string, unknown>;
}

/** What the reader needs from zarr.json. */
export interface ArrayMeta {
  /** The array's shape. */
  shape: number[];
  /** Its element type. */
  dtype: Dtype;
  /** The chunk grid's chunk shape: the shard shape when sharded. */
  chunkShape: number[];
  /** Inner chunk shape (sharded) or the chunk shape. */
  innerShape: number[];
  /** Whether chunks are inner chunks of shards (`sharding_indexed`). */
  sharded: boolean;
  /** Codecs of each (inner) chunk. */
  codecs: CodecMeta[];
  /** Codecs of the shard index (bytes, crc32c). */
  indexCodecs: CodecMeta[];
  /** Where a shard keeps its index. */
  indexLocation: "start" | "end";
  /** Exact: a bigint for int64/uint64 (zarr.json is parsed without rounding big integers). */
  fillValue: number | bigint | boolean;
  /** The key of the chunk (or shard) at grid coordinates `coord`. */
  chunkKey(coord: number[]): string;
  /** The zarr.json as read. */
  json: Record<string, unknown>;
}

/** zarr.json or a shard is not what the Zarr v3 spec says it must be; the message names the file. */
export class ZarrFormatError extends Error {
  /** The message names the file and what is wrong with it. */
  constructor(message: string) {
    super(message);
    this.name = "ZarrFormatError";
  }
}

/** Parses zarr.json (`where` names it in errors). */
export function parseArrayMeta(json: Record<string, unknown>, where: string): ArrayMeta {
  if (json.zarr_format !== 3 || json.node_type !== "array") {
    throw new ZarrFormatError(
      `${where}: not a Zarr v3 array (zarr_format ${json.zarr_format}, node_type ${json.node_type})`,
    );
  }
  const shape = json.shape as number[];
  const dataType = json.data_type as Dtype;
  if (!(typeof dataType === "string" && DTYPES.includes(dataType))) {
    throw new ZarrFormatError(
      `${where}: data type ${
        JSON.stringify(json.data_type)
      } is not one the batched reader handles (use zarrita for it)`,
    );
  }
  const grid = json.chunk_grid as { name: string; configuration: { chunk_shape: number[] } };
  if (grid?.name !== "regular") throw new ZarrFormatError(`${where}: chunk grid ${grid?.name} is not "regular"`);
  const chunkShape = grid.configuration.chunk_shape;
  const codecs = (json.codecs ?? []) as CodecMeta[];
  const shard = codecs.length === 1 && codecs[0].name === "sharding_indexed"
    ? codecs[0].configuration as {
      chunk_shape: number[];
      codecs: CodecMeta[];
      index_codecs?: CodecMeta[];
      index_location?: "start" | "end";
    }
    : undefined;
  if (!shard && codecs.some((c) => c.name === "sharding_indexed")) {
    throw new ZarrFormatError(`${where}: sharding_indexed must be the only codec here`);
  }
  const innerShape = shard ? shard.chunk_shape : chunkShape;
  if (innerShape.length !== shape.length || chunkShape.length !== shape.length) {
    throw new ZarrFormatError(`${where}: shapes of different rank`);
  }
  if (shard && chunkShape.some((s, d) => s % innerShape[d] !== 0)) {
    throw new ZarrFormatError(
      `${where}: shard shape ${chunkShape} is not a multiple of the inner chunk shape ${innerShape}`,
    );
  }
  const enc = (json.chunk_key_encoding ?? { name: "default" }) as {
    name: string;
    configuration?: { separator?: string };
  };
  const sep = enc.configuration?.separator ?? (enc.name === "v2" ? "." : "/");
  const chunkKey = enc.name === "v2"
    ? (c: number[]) => (c.length ? c.join(sep) : "0")
    : (c: number[]) => ["c", ...c].join(sep);
  return {
    shape,
    dtype: dataType,
    chunkShape,
    innerShape,
    sharded: !!shard,
    codecs: shard ? shard.codecs : codecs,
    indexCodecs: shard?.index_codecs ?? [{ name: "bytes", configuration: { endian: "little" } }, { name: "crc32c" }],
    indexLocation: shard?.index_location ?? "end",
    fillValue: parseFill(json.fill_value, dataType, where),
    chunkKey,
    json,
  };
}

/**
 * zarr.json's text parsed as JSON, with one exception: an integer
 * `fill_value` past 2^53 becomes a bigint, exact (JSON.parse alone rounds
 * 18446744073709551615 to 18446744073709552000).
 */
export function parseZarrJson(text: string): Record<string, unknown> {
  return JSON.parse(text, function (this: unknown, key, value, context?: { source?: string }) {
    if (key !== "fill_value" || typeof value !== "number" || Number.isSafeInteger(value)) return value;
    const source = context?.source;
    if (source === undefined) {
      // (Deno and Bun both hand the reviver the source text; a runtime that does not cannot read it exactly.)
      if (Number.isInteger(value)) throw new ZarrFormatError(`fill_value ${value} cannot be read exactly here`);
      return value;
    }
    return /^-?\d+$/.test(source) ? BigInt(source) : value;
  });
}

/** Bounds of each integer data type. */
const INT_RANGE: Partial<Record<Dtype, [bigint, bigint]>> = {
  int8: [-(2n ** 7n), 2n ** 7n - 1n],
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint8: [0n, 2n ** 8n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

/** The inclusive bounds of an integer dtype (undefined for bool and floats). */
export function intRange(dt: Dtype): [bigint, bigint] | undefined {
  return INT_RANGE[dt];
}

function parseFill(v: unknown, dt: Dtype, where: string): number | bigint | boolean {
  const bad = () => new ZarrFormatError(`${where}: fill value ${String(v)} is not a ${dt}`);
  if (v === null || v === undefined) return dt === "bool" ? false : dt === "int64" || dt === "uint64" ? 0n : 0;
  if (dt === "bool") {
    if (typeof v !== "boolean") throw bad();
    return v;
  }
  const range = INT_RANGE[dt];
  if (range) {
    if (!(typeof v === "bigint" || Number.isInteger(v))) throw bad();
    const b = BigInt(v as number | bigint);
    if (b < range[0] || b > range[1]) throw bad();
    return dt === "int64" || dt === "uint64" ? b : Number(b);
  }
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  if (typeof v === "string" && /^0x[0-9a-fA-F]+$/.test(v)) { // a float's bits, big-endian hex
    const bits = BigInt(v);
    const dv = new DataView(new ArrayBuffer(8));
    if (dt === "float32") {
      if (bits > 0xffffffffn) throw bad();
      dv.setUint32(0, Number(bits));
      return dv.getFloat32(0);
    }
    if (bits > 0xffffffffffffffffn) throw bad();
    dv.setBigUint64(0, bits);
    return dv.getFloat64(0);
  }
  throw bad();
}

/** Does this chunk decode by viewing its bytes (little-endian bytes codec only)? */
export function isRaw(meta: ArrayMeta): boolean {
  if (meta.codecs.length !== 1 || meta.codecs[0].name !== "bytes") return false;
  const endian = meta.codecs[0].configuration?.endian ?? "little";
  return endian === "little" || TYPED[meta.dtype].BYTES_PER_ELEMENT === 1;
}

/** Is each chunk one zstd frame of the little-endian array in C order (bytes + zstd)? */
export function isZstd(meta: ArrayMeta): boolean {
  const c = meta.codecs;
  if (c.length !== 2 || c[0].name !== "bytes" || c[1].name !== "zstd") return false;
  const endian = c[0].configuration?.endian ?? "little";
  return endian === "little" || TYPED[meta.dtype].BYTES_PER_ELEMENT === 1;
}

export const product = (a: readonly number[]): number => a.reduce((x, y) => x * y, 1);
