// The hot path of a reader (ReaderOptions.hotPath): a small batch is first
// run on the calling thread, on a ring of its own that never waits for a
// device (RWF_NOWAIT, RESOLVE_CACHED); whatever was not cached is then read by
// the reader's thread. HotPath holds that ring (opened on first use), decides
// which batches qualify, and backs off while the working set is cold.
import { Backend, BatchFlag, BatchWord, type Native, Op, ReaderFlag } from "../ffi/native.ts";
import type { NativeBatch } from "./_batch.ts";
import { int64At } from "./_columns.ts";

const EAGAIN = 11;

/** Bounds of a batch the hot path takes (HOT_PATH_LIMITS). */
export interface HotPathLimits {
  readonly chunks: number;
  readonly bytes: number;
  readonly files: number;
}

/** Closes the ring of a hot path whose reader was dropped without close(). */
const rings = new FinalizationRegistry<{ lib: Native; handle: bigint }>(({ lib, handle }) => lib.readerClose(handle));

/** The hot path of one reader: its inline ring, its eligibility rules and its backoff. */
export class HotPath {
  readonly #lib: Native;
  readonly #opts: Uint32Array;
  readonly #limits: HotPathLimits;
  /** The ring, on the thread that opened the reader (0n: not opened yet; -1n: unavailable or closed). */
  #ring = 0n;
  /** Eligible batches to send straight to the thread after the hot path found data not cached. */
  #skip = 0;
  #backoff = 0;

  /** `opts`: the reader's lsio_reader_opts words; the ring gets them as an inline io_uring reader. */
  constructor(lib: Native, opts: Uint32Array, limits: HotPathLimits) {
    this.#lib = lib;
    const o = opts.slice();
    o[0] = Backend.io_uring;
    o[2] = ReaderFlag.inline;
    this.#opts = o;
    this.#limits = limits;
  }

  /** A batch small enough, and known to be, for the hot path (see ReaderOptions.hotPath). */
  eligible(batch: NativeBatch, ops: number): boolean {
    if (this.#ring < 0n || !batch.storage.hotPath) return false;
    const limits = this.#limits;
    const resolving = (ops & (Op.resolve | Op.stat)) !== 0;
    if (batch.count > limits.chunks || (resolving && batch.paths.length > limits.files)) return false;
    const reading = (ops & Op.read) !== 0;
    if (reading && boundedBytes(batch, !resolving, limits.bytes) > limits.bytes) return false;
    if (reading && this.#skip > 0) { // file sizes and layouts never wait for data: always hot
      this.#skip--;
      return false;
    }
    return true;
  }

  /**
   * Runs a batch on this thread's own ring, page cache only. Returns how many
   * requests were not cached (-EAGAIN: the reader's thread reads just those,
   * REDO_EAGAIN), -1 when the hot ring cannot be had (the thread runs it
   * all), or the run's -errno below -1.
   */
  run(batch: NativeBatch, ops: number): number {
    if (this.#ring === 0n) {
      const out = new BigUint64Array(new ArrayBuffer(8));
      if (this.#lib.readerOpen(this.#opts, out) < 0) {
        this.#ring = -1n;
        return -1;
      }
      this.#ring = out[0];
      rings.register(this, { lib: this.#lib, handle: this.#ring }, this);
    }
    const flags = batch.flags;
    batch.flags = flags | BatchFlag.nowait;
    const rc = this.#lib.runSync(this.#ring, batch.struct, ops);
    batch.flags = flags;
    if (rc < 0) return rc < -1 ? rc : -5; // (-1 is EPERM: never from an owned ring; report it as EIO)
    let again = 0;
    if (batch.word(BatchWord.failed) > 0) {
      const st = batch.status;
      for (let i = 0; i < batch.count; i++) again += st[i] === -EAGAIN ? 1 : 0;
    }
    if (again > 0) { // a cold working set: skip the hot path for a while (1, 2, 4, … 64 batches)
      this.#backoff = Math.min(64, Math.max(1, 2 * this.#backoff));
      this.#skip = this.#backoff;
    } else {
      this.#backoff = 0;
    }
    return again;
  }

  /** Closes the ring, if open; the hot path takes no batch after this. */
  close(): void {
    if (this.#ring > 0n) {
      rings.unregister(this);
      this.#lib.readerClose(this.#ring); // never busy: the hot path runs synchronously
    }
    this.#ring = -1n;
  }
}

/** Reads of at most `limit` bytes in all, known before reading; else Infinity. */
function boundedBytes(batch: NativeBatch, resolved: boolean, limit: number): number {
  const n = batch.count;
  let total = 0;
  if (resolved) { // lengths are known (READ without RESOLVE)
    const l = batch.length32;
    for (let i = 0; i < n && total <= limit; i++) total += int64At(l, i);
    return total;
  }
  const s = batch.start32, e = batch.end32;
  for (let i = 0; i < n && total <= limit; i++) {
    if (e[2 * i + 1] === 0x7fffffff) return Infinity; // open end: the file's size decides
    const a = int64At(s, i), b = int64At(e, i);
    if ((a < 0) !== (b < 0) && b !== 0) return Infinity; // from the start to the end's offset: size decides
    total += Math.max(0, b - a);
  }
  return total;
}
