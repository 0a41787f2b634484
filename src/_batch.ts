// The native batch: an lsio_batch struct plus its arrays, all in JS memory,
// kept alive by this object for as long as C may touch them.
import { BATCH_WORDS, BatchWord, type Native } from "../ffi/native.ts";
import { getUint64, setInt64, setOpenEnd } from "./_int64.ts";
import { encodePaths } from "./_paths.ts";
import { batchStorage, type Storage } from "./_storage.ts";

const MAX_U64_LO = 0xffffffff;

/** Per-request bytes: file u32, status i32, start/end/dest/offset/length 64-bit. */
function sliceLayout(n: number) {
  // All 8-byte fields first so every view is naturally aligned.
  const q = n * 8;
  return {
    start: 0,
    end: q,
    dest: 2 * q,
    offset: 3 * q,
    length: 4 * q,
    file: 5 * q,
    status: 5 * q + n * 4,
    bytes: 5 * q + n * 8,
  };
}

/** Size of an lsio_remote_error record, and how many a batch makes room for. */
export const REMOTE_ERROR_BYTES = 64;
const REMOTE_ERRORS = 256;
const decoder = new TextDecoder();

/** Why a remote chunk failed (see {@linkcode NativeBatch.remoteDetail}). */
export interface RemoteErrorDetail {
  httpStatus: number;
  code: string;
}

function detailAt(v: DataView, at: number): RemoteErrorDetail {
  const bytes = new Uint8Array(v.buffer, at + 24, 40);
  const end = bytes.indexOf(0);
  return { httpStatus: v.getInt32(at + 16, true), code: decoder.decode(bytes.subarray(0, end < 0 ? 40 : end)) };
}

/** The first `count` lsio_remote_error records of `v` that describe a request (not a size query). */
export function requestDetails(v: DataView, count: number): ({ request: number } & RemoteErrorDetail)[] {
  const out: ({ request: number } & RemoteErrorDetail)[] = [];
  for (let k = 0; k < count; k++) {
    const at = k * REMOTE_ERROR_BYTES;
    const req = v.getBigUint64(at, true);
    if (req !== 0xffffffffffffffffn) out.push({ request: Number(req), ...detailAt(v, at) });
  }
  return out;
}

export class NativeBatch {
  readonly struct: BigUint64Array = new BigUint64Array(new ArrayBuffer(BATCH_WORDS * 8));
  readonly count: number;
  readonly paths: readonly string[];
  readonly file: Uint32Array;
  readonly status: Int32Array;
  /** 32-bit views of the 64-bit arrays, for number access without BigInt. */
  readonly start32: Uint32Array;
  readonly end32: Uint32Array;
  readonly dest32: Uint32Array;
  readonly offset32: Uint32Array;
  readonly length32: Uint32Array;
  readonly offset: BigUint64Array;
  readonly length: BigUint64Array;
  readonly fileSize: BigInt64Array;
  /** The storage profile a plan used, for stats. */
  profile: string | undefined;
  /** Keeps memory C points into alive (slab, caller buffers). */
  #pinned: unknown[] = [];
  #storage: Storage | undefined;
  /** lsio_remote_error records C fills for failed remote chunks (batches with remote files only). */
  #remoteErrors: DataView | undefined;
  /** Details from elsewhere: the pool's workers read with batches of their own. */
  #givenDetails: Map<number, RemoteErrorDetail> | undefined;

  /** Records why remote request i failed, as a worker's batch described it. */
  setRemoteDetail(i: number, detail: RemoteErrorDetail): void {
    (this.#givenDetails ??= new Map()).set(i, detail);
  }

  /** The storage the batch is read as (remote when some file is a URL): see src/_storage.ts. */
  get storage(): Storage {
    return this.#storage ??= batchStorage(this.paths);
  }

  /** `shared`: the per-request arrays live in a SharedArrayBuffer (worker pool). */
  constructor(lib: Native, paths: readonly string[], count: number, shared = false) {
    this.count = count;
    this.paths = paths;
    const L = sliceLayout(count);
    const mem = shared ? new SharedArrayBuffer(Math.max(L.bytes, 8)) : new ArrayBuffer(Math.max(L.bytes, 8));
    this.start32 = new Uint32Array(mem, L.start, 2 * count);
    this.end32 = new Uint32Array(mem, L.end, 2 * count);
    this.dest32 = new Uint32Array(mem, L.dest, 2 * count);
    this.offset32 = new Uint32Array(mem, L.offset, 2 * count);
    this.length32 = new Uint32Array(mem, L.length, 2 * count);
    this.offset = new BigUint64Array(mem, L.offset, count);
    this.length = new BigUint64Array(mem, L.length, count);
    this.file = new Uint32Array(mem, L.file, count);
    this.status = new Int32Array(mem, L.status, count);

    // Paths: NUL-terminated, back to back, plus where each starts.
    const { blob, offsets: pathOffsets } = encodePaths(paths);
    this.fileSize = new BigInt64Array(new ArrayBuffer(Math.max(paths.length, 1) * 8));
    this.#pinned.push(mem, blob, pathOffsets);

    const base = lib.addressOf(new Uint8Array(mem));
    const s = this.struct;
    s[BatchWord.count] = BigInt(count);
    s[BatchWord.fileCount] = BigInt(paths.length);
    s[BatchWord.paths] = lib.addressOf(blob);
    s[BatchWord.pathOffsets] = lib.addressOf(pathOffsets);
    s[BatchWord.file] = base + BigInt(L.file);
    s[BatchWord.start] = base + BigInt(L.start);
    s[BatchWord.end] = base + BigInt(L.end);
    s[BatchWord.dest] = base + BigInt(L.dest);
    s[BatchWord.offset] = base + BigInt(L.offset);
    s[BatchWord.length] = base + BigInt(L.length);
    s[BatchWord.status] = base + BigInt(L.status);
    s[BatchWord.fileSize] = lib.addressOf(this.fileSize);
    if (this.storage.describesFailures) {
      const records = new Uint8Array(REMOTE_ERROR_BYTES * REMOTE_ERRORS);
      this.#remoteErrors = new DataView(records.buffer);
      this.#pinned.push(records);
      s[BatchWord.remoteErrors] = lib.addressOf(records);
      s[BatchWord.remoteErrorsCap] = BigInt(REMOTE_ERRORS);
    }
  }

  /**
   * Why remote request i failed, as C described it: the HTTP status (0: no
   * response) and the server's error code or libcurl's error text. The first
   * {@linkcode REMOTE_ERRORS} failures of a batch are described.
   */
  remoteDetail(i: number): RemoteErrorDetail | undefined {
    const given = this.#givenDetails?.get(i);
    if (given) return given;
    const v = this.#remoteErrors;
    if (!v) return undefined;
    const n = Math.min(Number(this.struct[BatchWord.remoteErrorsCount]), REMOTE_ERRORS);
    let sizeQuery: number | undefined;
    for (let k = 0; k < n; k++) {
      const at = k * REMOTE_ERROR_BYTES;
      const req = v.getBigUint64(at, true);
      if (req === BigInt(i)) return detailAt(v, at);
      if (req === 0xffffffffffffffffn && Number(v.getBigUint64(at + 8, true)) === this.file[i]) sizeQuery = at;
    }
    return sizeQuery === undefined ? undefined : detailAt(v, sizeQuery);
  }

  setRange(i: number, start: number, end: number | undefined): void {
    setInt64(this.start32, i, start);
    if (end === undefined) setOpenEnd(this.end32, i);
    else setInt64(this.end32, i, end);
  }

  /** Capacity of request i's destination (length[] on input). */
  setCapacity(i: number, bytes: number): void {
    setInt64(this.length32, i, bytes);
  }

  /** Every capacity unlimited (LSIO lays the chunks out itself). */
  unlimitedCapacity(): void {
    this.length32.fill(MAX_U64_LO);
  }

  setDest(i: number, address: number): void {
    setInt64(this.dest32, i, address);
  }

  /** Destinations are offsets from this address from now on. */
  setDestBase(address: bigint, keepAlive: unknown): void {
    this.struct[BatchWord.destBase] = address;
    this.#pinned.push(keepAlive);
  }

  pin(keepAlive: unknown): void {
    this.#pinned.push(keepAlive);
  }

  offsetOf(i: number): number {
    return getUint64(this.offset32, i);
  }
  lengthOf(i: number): number {
    return getUint64(this.length32, i);
  }
  destOf(i: number): number {
    return getUint64(this.dest32, i);
  }

  word(w: number): number {
    return Number(this.struct[w]);
  }
  get flags(): number {
    return Number(this.struct[BatchWord.flags]);
  }
  set flags(f: number) {
    this.struct[BatchWord.flags] = BigInt(f);
  }
  set layoutAlign(a: number) {
    this.struct[BatchWord.layoutAlign] = BigInt(a);
  }
  setPlan(p: { mergeGap: number; mergeMax: number; splitSize: number }): void {
    this.struct[BatchWord.mergeGap] = BigInt(p.mergeGap);
    this.struct[BatchWord.mergeMax] = BigInt(p.mergeMax);
    this.struct[BatchWord.splitSize] = BigInt(p.splitSize);
  }
  cancel(): void {
    this.struct[BatchWord.cancel] = 1n;
  }
  /** Clears the live counters between two runs over the same batch. */
  resetCounters(): void {
    for (let w = BatchWord.chunksDone; w <= BatchWord.readsIssued; w++) this.struct[w] = 0n;
  }
}
