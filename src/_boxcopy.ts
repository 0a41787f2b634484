// The native box copy (lsio_copy_boxes) for raw chunks: one FFI call copies
// (or converts) every chunk of a batch or task into the output — the same
// struct filled on the main thread and in the pool's workers.
import { BOX_COPY_WORDS, BoxCopyWord, DtypeCode, type Native } from "../ffi/native.ts";

/** What the copy of one read needs besides the chunks (sent to the workers as is). */
export interface BoxCopySpec {
  /** LSIO_DTYPE_* of the chunks and of the output. */
  dtype: number;
  outDtype: number;
  inner: number[];
  extent: number[];
  /** Bytes of one decoded chunk: a chunk of another size is an error, never copied. */
  chunkBytes: number;
  /** ChunkCodec.raw, or ChunkCodec.zstd (each chunk one zstd frame, decoded natively). */
  codec: number;
  origins: Int32Array;
  los: Int32Array;
  bases: Float64Array;
  scale: number;
  shift: number;
}

/** LSIO_DTYPE_* of a Zarr data type (bool: its bytes). */
export function dtypeCode(dataType: string): number {
  const code = dataType === "bool" ? DtypeCode.uint8 : DtypeCode[dataType as keyof typeof DtypeCode];
  if (!code) throw new TypeError(`No native copy for ${dataType}`);
  return code;
}

/** An lsio_box_copy struct for one spec and output, run per batch or task. */
export class BoxCopier {
  readonly #lib: Native;
  readonly #words = new BigUint64Array(BOX_COPY_WORDS);
  readonly #keep: unknown[];

  constructor(lib: Native, spec: BoxCopySpec, out: ArrayBufferView) {
    this.#lib = lib;
    const inner = BigInt64Array.from(spec.inner, BigInt), extent = BigInt64Array.from(spec.extent, BigInt);
    const w = this.#words, f = new Float64Array(w.buffer);
    const addr = (v: ArrayBufferView) => (v.byteLength ? lib.addressOf(v) : 0n);
    w[BoxCopyWord.ndim] = BigInt(spec.inner.length);
    w[BoxCopyWord.inner] = addr(inner);
    w[BoxCopyWord.extent] = addr(extent);
    w[BoxCopyWord.origins] = addr(spec.origins);
    w[BoxCopyWord.los] = addr(spec.los);
    w[BoxCopyWord.bases] = addr(spec.bases);
    w[BoxCopyWord.out] = addr(out);
    w[BoxCopyWord.dtype] = BigInt(spec.dtype);
    w[BoxCopyWord.outDtype] = BigInt(spec.outDtype);
    w[BoxCopyWord.codec] = BigInt(spec.codec);
    f[BoxCopyWord.scale] = spec.scale;
    f[BoxCopyWord.shift] = spec.shift;
    this.#keep = [inner, extent, spec, out]; // C reads these while run() runs
  }

  /**
   * Copies `count` chunks at base + offset[k] (uint64 array at `offsets`,
   * their byte lengths at `lengths`), skipping status != 0; chunk k is
   * request `requests[k]` (uint32 array) or first + k when `requests` is 0n.
   * A chunk that does not decode or has the wrong size is reported through
   * `fail(k, errno)` and the others are still copied.
   */
  run(
    count: number,
    base: bigint,
    offsets: bigint,
    status: bigint,
    requests: bigint,
    first: number,
    lengths: bigint,
    fail: (k: number, errno: number) => void,
  ): void {
    const w = this.#words;
    let k0 = 0;
    while (k0 < count) {
      const at = BigInt(k0);
      w[BoxCopyWord.count] = BigInt(count - k0);
      w[BoxCopyWord.base] = base;
      w[BoxCopyWord.offset] = offsets + 8n * at;
      w[BoxCopyWord.status] = status ? status + 4n * at : 0n;
      w[BoxCopyWord.request] = requests ? requests + 4n * at : 0n;
      w[BoxCopyWord.first] = BigInt(first + k0);
      w[BoxCopyWord.length] = lengths ? lengths + 8n * at : 0n;
      const rc = this.#lib.copyBoxes(w);
      if (rc === 0) return;
      if (rc !== -74 && rc !== -90) throw new Error(`lsio_copy_boxes: ${rc}`); // not EBADMSG / EMSGSIZE
      const bad = k0 + Number(w[BoxCopyWord.failed]);
      fail(bad, rc);
      k0 = bad + 1;
    }
    void this.#keep;
  }
}
