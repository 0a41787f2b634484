// Zarr v3 array metadata (zarr.json) as the batched reader and the writer
// need it: shapes, data type, fill value, chunk keys, the sharding codec.

/** Typed-array-backed Zarr v3 data types the batched reader and writer handle. */
export type NumericDataType =
  | "bool"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "float32"
  | "float64";

/** A typed array of one of the {@linkcode NumericDataType}s (bool: Uint8Array of 0/1). */
export type NumericArray =
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

type Ctor = {
  new (n: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NumericArray;
  BYTES_PER_ELEMENT: number;
};

export const TYPED: Record<NumericDataType, Ctor> = {
  bool: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
} as unknown as Record<NumericDataType, Ctor>;

export interface CodecMeta {
  name: string;
  configuration?: Record<string, unknown>;
}

/** What the reader needs from zarr.json. */
export interface ArrayMeta {
  shape: number[];
  dataType: NumericDataType;
  /** The chunk grid's chunk shape: the shard shape when sharded. */
  chunkShape: number[];
  /** Inner chunk shape (sharded) or the chunk shape. */
  innerShape: number[];
  sharded: boolean;
  /** Codecs of each (inner) chunk. */
  codecs: CodecMeta[];
  indexCodecs: CodecMeta[];
  indexLocation: "start" | "end";
  fillValue: number | bigint | boolean;
  /** The key of the chunk (or shard) at grid coordinates `coord`. */
  chunkKey(coord: number[]): string;
  /** The zarr.json as read. */
  json: Record<string, unknown>;
}

export class ZarrFormatError extends Error {
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
  const dataType = json.data_type as NumericDataType;
  if (!(typeof dataType === "string" && dataType in TYPED)) {
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
    dataType,
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

function parseFill(v: unknown, dt: NumericDataType, where: string): number | bigint | boolean {
  if (dt === "bool") return v === true;
  if (dt === "int64" || dt === "uint64") return BigInt((v as number | string | null) ?? 0);
  if (v === null || v === undefined) return 0;
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  if (typeof v === "string" && v.startsWith("0x")) { // a float's bits, big-endian hex
    const bits = BigInt(v);
    const dv = new DataView(new ArrayBuffer(8));
    if (dt === "float32") {
      dv.setUint32(0, Number(bits));
      return dv.getFloat32(0);
    }
    dv.setBigUint64(0, bits);
    return dv.getFloat64(0);
  }
  throw new ZarrFormatError(`${where}: fill value ${JSON.stringify(v)} for ${dt}`);
}

/** Does this chunk decode by viewing its bytes (little-endian bytes codec only)? */
export function isRaw(meta: ArrayMeta): boolean {
  if (meta.codecs.length !== 1 || meta.codecs[0].name !== "bytes") return false;
  const endian = meta.codecs[0].configuration?.endian ?? "little";
  return endian === "little" || TYPED[meta.dataType].BYTES_PER_ELEMENT === 1;
}

/** Is each chunk one zstd frame of the little-endian array in C order (bytes + zstd)? */
export function isZstd(meta: ArrayMeta): boolean {
  const c = meta.codecs;
  if (c.length !== 2 || c[0].name !== "bytes" || c[1].name !== "zstd") return false;
  const endian = c[0].configuration?.endian ?? "little";
  return endian === "little" || TYPED[meta.dataType].BYTES_PER_ELEMENT === 1;
}

export const product = (a: readonly number[]): number => a.reduce((x, y) => x * y, 1);
