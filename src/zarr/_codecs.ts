// Codec pipelines for one chunk, built from zarrita's codec registry (the
// same codecs zarrita uses: bytes, transpose, gzip, zstd, blosc, crc32c, …),
// so every codec zarrita can read, LSIO can decode in its workers.
import { gzipSync } from "node:zlib";
import { registry } from "zarrita";
import { crc32c } from "./crc32c.ts";
import { type CodecMeta, type Dtype, type NumericArray, TYPED } from "./_meta.ts";

/** A decoded chunk: elements and their strides (C order unless a transpose says otherwise). */
export interface DecodedChunk {
  data: NumericArray;
  shape: number[];
  stride: number[];
}

/** Encodes and decodes one chunk shape of one data type. */
export interface ChunkCodec {
  decode(bytes: Uint8Array): Promise<DecodedChunk>;
  encode(chunk: DecodedChunk): Promise<Uint8Array>;
}

type Codec = {
  kind?: string;
  encode(x: unknown): unknown;
  decode(x: unknown): unknown;
  getEncodedMeta?: (m: ChunkMeta) => ChunkMeta;
};
type ChunkMeta = { dataType: string; shape: number[]; codecs: CodecMeta[]; fillValue: unknown };

/** The pipeline for `codecs` over chunks of `shape` and `dataType`. */
export async function chunkCodec(
  dataType: Dtype,
  shape: number[],
  codecs: CodecMeta[],
  fillValue: unknown,
): Promise<ChunkCodec> {
  let meta: ChunkMeta = { dataType, shape, codecs, fillValue };
  const a2a: Codec[] = [], b2b: Codec[] = [], b2bNames: CodecMeta[] = [];
  let a2b: Codec | undefined;
  for (let c of codecs) {
    if (c.name === "crc32c") { // zarrita decodes without checking and cannot encode: ours does both
      b2b.push(CRC32C), b2bNames.push(c);
      continue;
    }
    // One-byte elements have no byte order: zarrita would swap bools in 4-byte groups (it takes a
    // BoolArray for 4 bytes an element), scrambling them; read and write them as they are.
    if (c.name === "bytes" && TYPED[dataType].BYTES_PER_ELEMENT === 1) {
      c = { name: "bytes", configuration: { endian: "little" } };
    }
    const entry = await registry.get(c.name)?.();
    if (!entry) throw new Error(`Unknown codec ${JSON.stringify(c.name)} (not in zarrita's registry)`);
    const codec = entry.fromConfig(c.configuration ?? {}, meta as never) as unknown as Codec;
    if (codec.kind === "array_to_array") {
      a2a.push(codec);
      if (codec.getEncodedMeta) meta = codec.getEncodedMeta(meta);
    } else if (codec.kind === "array_to_bytes") a2b = codec;
    else b2b.push(codec), b2bNames.push(c);
  }
  if (!a2b) throw new Error("The codecs have no array-to-bytes codec (bytes)");
  const bytesCodec = a2b;
  return {
    async decode(bytes) {
      let b: unknown = bytes;
      for (let i = b2b.length - 1; i >= 0; i--) b = await b2b[i].decode(b);
      let chunk = await bytesCodec.decode(b) as DecodedChunk;
      for (let i = a2a.length - 1; i >= 0; i--) chunk = await a2a[i].decode(chunk) as DecodedChunk;
      return { ...chunk, data: plainArray(chunk.data) };
    },
    async encode(chunk) {
      let c: unknown = chunk;
      for (const x of a2a) c = await x.encode(c);
      let b = await bytesCodec.encode(c) as Uint8Array;
      for (let i = 0; i < b2b.length; i++) {
        const c = b2bNames[i];
        // zarrita decodes gzip but cannot encode it: node:zlib does (Deno and Bun have it).
        if (c.name === "gzip") b = gzipSync(b, { level: (c.configuration?.level as number) ?? 5 });
        else b = await b2b[i].encode(b) as Uint8Array;
      }
      return b;
    },
  };
}

/** The crc32c codec: 4 bytes of crc32c (little-endian) after the bytes; checked when decoding. */
const CRC32C: Codec = {
  kind: "bytes_to_bytes",
  encode(x: unknown): Uint8Array {
    const b = x as Uint8Array;
    const out = new Uint8Array(b.length + 4);
    out.set(b);
    new DataView(out.buffer).setUint32(b.length, crc32c(b), true);
    return out;
  },
  decode(x: unknown): Uint8Array {
    const b = x as Uint8Array;
    if (b.length < 4) throw new Error(`crc32c: a chunk of ${b.length} bytes has no checksum`);
    const body = b.subarray(0, b.length - 4);
    const stored = new DataView(b.buffer, b.byteOffset + b.length - 4, 4).getUint32(0, true);
    const got = crc32c(body);
    if (stored !== got) {
      throw new Error(
        `crc32c mismatch (computed ${got.toString(16)}, stored ${stored.toString(16)}): the chunk is corrupt`,
      );
    }
    return body;
  },
};

/** zarrita's BoolArray → its bytes; typed arrays as they are. */
function plainArray(data: unknown): NumericArray {
  if (ArrayBuffer.isView(data)) return data as NumericArray;
  const d = data as { buffer: ArrayBufferLike; byteOffset: number; length: number };
  return new Uint8Array(d.buffer, d.byteOffset, d.length);
}
