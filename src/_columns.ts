// Requests into a native batch's columns: a request list or typed-array
// columns become a NativeBatch (checked on the way), ranges and destinations
// are copied in, in slices with the event loop served in between for large
// batches, and explicit ranges can be resolved without the files' sizes.
import { setImmediate } from "node:timers";
import type { Native } from "../ffi/native.ts";
import { NativeBatch } from "./_batch.ts";
import { setInt64, setOpenEnd } from "./_int64.ts";
import { checkColumnar, checkPath, checkRange, REQUEST_KEYS } from "./_read_checks.ts";
import { checkKeys, describe } from "./_strict.ts";
import type { ColumnarRequests, ReadIntoRequest, ReadRequest } from "./reader.ts";

/**
 * The native batch for a list of requests, checked: each path once in the
 * batch's paths (in order of first use), each request's file index and range.
 * `keys`: the keys a request may have.
 */
export function batchFromRequests(
  lib: Native,
  requests: readonly ReadRequest[],
  shared = false,
  keys: readonly string[] = REQUEST_KEYS,
): NativeBatch {
  if (!Array.isArray(requests)) throw new TypeError(`requests are an array, got ${describe(requests)}`);
  const index = new Map<string, number>();
  const paths: string[] = [];
  const files = new Uint32Array(requests.length);
  for (let i = 0; i < requests.length; i++) {
    const r = requests[i];
    if (r === null || typeof r !== "object") throw new TypeError(`Request ${i} is not an object`);
    checkKeys(r, keys, `Request ${i}`);
    const path = checkPath(r.path);
    checkRange(r.start ?? 0, r.end, `Request ${i} (${path})`);
    let f = index.get(path);
    if (f === undefined) {
      f = paths.length;
      paths.push(path);
      index.set(path, f);
    }
    files[i] = f;
  }
  const batch = new NativeBatch(lib, paths, requests.length, shared);
  batch.file.set(files);
  for (let i = 0; i < requests.length; i++) batch.setRange(i, requests[i].start ?? 0, requests[i].end);
  return batch;
}

/** The native batch for columnar requests, checked; the caller fills the ranges (fillRanges, in slices). */
export function batchFromColumns(lib: Native, requests: ColumnarRequests, shared: boolean): NativeBatch {
  checkColumnar(requests);
  const batch = new NativeBatch(lib, requests.paths, requests.file.length, shared);
  batch.file.set(requests.file);
  return batch;
}

/**
 * Each request's `dest` as its destination and capacity, checked: a
 * Uint8Array at least as long as an explicit range. Every buffer is pinned to
 * the batch (C writes into it) and its address asked for once.
 */
export function setIntoDests(lib: Native, batch: NativeBatch, requests: readonly ReadIntoRequest[]): void {
  const bases = new Map<ArrayBufferLike, number>();
  for (let i = 0; i < requests.length; i++) {
    const { dest, start = 0, end } = requests[i];
    if (!(dest instanceof Uint8Array)) throw new TypeError(`Request ${i}: dest is not a Uint8Array`);
    if (start >= 0 && end !== undefined && end >= 0 && end - start > dest.byteLength) {
      throw new RangeError(
        `Request ${i}: range ${start}..${end} (${end - start} bytes) does not fit dest of ${dest.byteLength} bytes`,
      );
    }
    let base = bases.get(dest.buffer);
    if (base === undefined) {
      base = Number(lib.addressOf(new Uint8Array(dest.buffer)));
      bases.set(dest.buffer, base);
      batch.pin(dest.buffer);
    }
    batch.setDest(i, base + dest.byteOffset);
    batch.setCapacity(i, dest.byteLength);
  }
}

/** Requests per slice of work done between two looks at the clock. */
const SLICE = 65536;
/** Longest the event loop waits while a batch's columns are copied (ms). */
const SLICE_BUDGET_MS = 4;

/**
 * Runs fn over [0, n) in slices, letting the event loop run whenever
 * SLICE_BUDGET_MS has gone by. A batch of one slice runs at once, with no
 * await (the hot path's round trip stays as short as it was).
 */
export function inSlices(n: number, fn: (lo: number, hi: number) => void): Promise<void> | undefined {
  if (n <= SLICE) {
    fn(0, n);
    return undefined;
  }
  return (async () => {
    let since = performance.now();
    for (let lo = 0; lo < n; lo += SLICE) {
      const hi = Math.min(n, lo + SLICE);
      fn(lo, hi);
      if (hi < n && performance.now() - since > SLICE_BUDGET_MS) {
        await new Promise((r) => setImmediate(r)); // a macrotask: timers and I/O callbacks run first
        since = performance.now();
      }
    }
  })();
}

/** Requests [lo, hi) of the start and end columns into the batch. */
export function fillRanges(
  batch: NativeBatch,
  start: Float64Array | BigInt64Array,
  end: Float64Array | BigInt64Array | undefined,
  lo: number,
  hi: number,
): void {
  fillColumn(batch.start32, start, lo, hi, "start", false);
  if (end === undefined) { for (let i = lo; i < hi; i++) setOpenEnd(batch.end32, i); }
  else fillColumn(batch.end32, end, lo, hi, "end", true);
}

/** Copies elements [lo, hi) of one int64 column from numbers (Infinity: open end) or BigInts. */
function fillColumn(
  words: Uint32Array,
  column: Float64Array | BigInt64Array,
  lo: number,
  hi: number,
  name: string,
  infinityIsOpen: boolean,
): void {
  if (column instanceof BigInt64Array) {
    new BigInt64Array(words.buffer, words.byteOffset + 8 * lo, hi - lo).set(column.subarray(lo, hi));
    return;
  }
  for (let i = lo; i < hi; i++) {
    const x = column[i];
    if (Number.isSafeInteger(x)) setInt64(words, i, x);
    else if (infinityIsOpen && x === Infinity) setOpenEnd(words, i);
    else throw new TypeError(`${name}[${i}] = ${x} is not a safe integer${infinityIsOpen ? " or Infinity" : ""}`);
  }
}

/**
 * Destinations [lo, hi) of columnar requests: chunk i at `offsets[i]` of
 * `buffer` (whose address is `base`), with the rest of the buffer as its
 * capacity.
 */
export function fillDests(
  batch: NativeBatch,
  buffer: Uint8Array,
  base: number,
  offsets: Float64Array | BigUint64Array,
  lo: number,
  hi: number,
): void {
  for (let i = lo; i < hi; i++) {
    const o = Number(offsets[i]);
    if (!(o >= 0 && o <= buffer.byteLength) || !Number.isInteger(o)) {
      throw new RangeError(`dest.offsets[${i}] = ${o} lies outside dest.buffer (${buffer.byteLength} bytes)`);
    }
    batch.setDest(i, base + o);
    batch.setCapacity(i, buffer.byteLength - o); // C refuses (ENOBUFS) anything longer
  }
}

/**
 * Resolves a batch whose ranges are all explicit and non-negative without the
 * files' sizes: offset = start, length = end - start. Returns false, changing
 * nothing, when some range counts from the end, runs to EOF, or (with
 * `dest`) does not fit its destination — RESOLVE must handle those.
 */
export function explicitRanges(batch: NativeBatch, dest?: { bytes: number; base: number }): boolean {
  const s = batch.start32, e = batch.end32, n = batch.count, files = batch.paths.length;
  for (let i = 0; i < n; i++) {
    const a = int64At(s, i), b = int64At(e, i);
    if (a < 0 || b < 0 || e[2 * i + 1] === 0x7fffffff) return false;
    if (b < a) return false;
    if (dest && batch.destOf(i) - dest.base + (b - a) > dest.bytes) return false;
  }
  const o = batch.offset32, l = batch.length32;
  for (let i = 0; i < n; i++) {
    const a = int64At(s, i), b = int64At(e, i);
    o[2 * i] = s[2 * i], o[2 * i + 1] = s[2 * i + 1];
    setInt64(l, i, b - a);
    batch.status[i] = batch.file[i] < files ? 0 : -22; // EINVAL, as RESOLVE says
  }
  return true;
}

/** The i-th int64 of a column seen as 32-bit words (little-endian; exact below 2^53). */
export function int64At(words: Uint32Array, i: number): number {
  return words[2 * i] + (words[2 * i + 1] | 0) * 4294967296;
}
