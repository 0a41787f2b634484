// Decoding one compressed (or otherwise encoded) inner chunk and copying its
// part of a selection into the output array: the same code on the main thread
// and in the pool's workers (`decodeInto` is the workers' transform). Raw
// chunks take the native path (lsio_copy_boxes, _boxcopy.ts).
import type { ChunkContext } from "../pool.ts";
import { type ChunkCodec, chunkCodec } from "./_codecs.ts";
import type { CodecMeta, Dtype, NumericArray } from "./_meta.ts";

/** What every chunk of one read shares (ctx.args in the workers). */
export interface DecodeArgs {
  dtype: Dtype;
  innerShape: number[];
  codecs: CodecMeta[];
  fillValue: unknown;
  /** Bytes are the little-endian array in C order (copied natively, not through decodeChunk). */
  raw: boolean;
  /** Every box's extent; box b is written C order at output[bases[b]..]. */
  extent: number[];
  /** Per request: the chunk's origin in array coordinates (ndim numbers each). */
  origins: Int32Array;
  /** Per request: the low corner of its box (ndim numbers each). */
  los: Int32Array;
  /** Per request: where its box starts in the output (elements). */
  bases: Float64Array;
  /** Convert while copying: out = (value - offset) * scale (a float output). */
  convert?: { scale: number; offset: number };
}

const cStrides = (shape: readonly number[]) => {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) s[d] = acc, acc *= shape[d];
  return s;
};

/**
 * Copies the part of a chunk (elements `src` laid out by srcStride, at
 * `origin`) inside the box [lo, lo + extent) into `out`, where the box is
 * laid out C order from `outBase`; optionally converting each value.
 */
export function copyBox(
  src: NumericArray,
  srcShape: readonly number[],
  srcStride: readonly number[],
  origin: ArrayLike<number>,
  lo: ArrayLike<number>,
  extent: readonly number[],
  out: NumericArray,
  outBase: number,
  convert?: { scale: number; offset: number },
): void {
  const nd = srcShape.length;
  // deno-lint-ignore no-explicit-any
  const o = out as any, s = src as any;
  if (nd === 0) {
    o[outBase] = convert ? (Number(s[0]) - convert.offset) * convert.scale : s[0];
    return;
  }
  const outStride = cStrides(extent);
  const a = new Array<number>(nd), b = new Array<number>(nd);
  for (let d = 0; d < nd; d++) {
    a[d] = Math.max(lo[d], origin[d]);
    b[d] = Math.min(lo[d] + extent[d], origin[d] + srcShape[d]);
    if (a[d] >= b[d]) return;
  }
  const last = nd - 1, run = b[last] - a[last], ss = srcStride[last];
  const i = a.slice();
  for (;;) {
    let si = 0, oi = outBase;
    for (let d = 0; d < nd; d++) {
      si += (i[d] - origin[d]) * srcStride[d];
      oi += (i[d] - lo[d]) * outStride[d];
    }
    if (convert) {
      const { scale, offset } = convert;
      for (let k = 0; k < run; k++) o[oi + k] = (Number(s[si + k * ss]) - offset) * scale;
    } else if (ss === 1 && run >= 256) o.set(s.subarray(si, si + run), oi);
    else if (ss === 1) { for (let k = 0; k < run; k++) o[oi + k] = s[si + k]; // short rows: no subarray object
     } else for (let k = 0; k < run; k++) o[oi + k] = s[si + k * ss];
    let d = last - 1;
    for (; d >= 0; d--) {
      if (++i[d] < b[d]) break;
      i[d] = a[d];
    }
    if (d < 0) return;
  }
}

const pipelines = new Map<string, Promise<ChunkCodec>>();

function pipelineFor(args: DecodeArgs): Promise<ChunkCodec> {
  const key = JSON.stringify([args.dtype, args.innerShape, args.codecs, String(args.fillValue)]);
  let p = pipelines.get(key);
  if (!p) {
    p = chunkCodec(args.dtype, args.innerShape, args.codecs, args.fillValue);
    pipelines.set(key, p);
  }
  return p;
}

/** Decodes request `index`'s chunk and copies its part of its box into `out` (sync when raw). */
export function decodeChunk(
  chunk: Uint8Array,
  index: number,
  args: DecodeArgs,
  out: NumericArray,
): void | Promise<void> {
  const nd = args.innerShape.length;
  const origin = args.origins.subarray(index * nd, index * nd + nd);
  const lo = args.los.subarray(index * nd, index * nd + nd);
  const base = args.bases[index];
  // (Raw chunks never come here: lsio_copy_boxes copies them, see _boxcopy.ts.)
  // No copy: the pool settles a task's promises before it reuses the buffer.
  return pipelineFor(args).then((p) => p.decode(chunk)).then((d) => {
    copyBox(d.data, d.shape, d.stride, origin, lo, args.extent, out, base, args.convert);
  });
}

/** The pool transform: decode the chunk, write its part of the selection into ctx.dest. */
export function decodeInto(chunk: Uint8Array, ctx: ChunkContext<DecodeArgs>): void | Promise<void> {
  return decodeChunk(chunk, ctx.index, ctx.args, ctx.dest as NumericArray);
}
