// What the worker pool's main thread and its workers share: the messages they
// exchange and the lock-free task queues (SharedArrayBuffer + Atomics) the
// workers take tasks from and steal tasks with.
//
// A batch is cut into tasks: runs of consecutive requests in (file, offset)
// order whose chunks fit one worker buffer. Worker w starts with the w-th
// contiguous share of the tasks (locality: neighbouring tasks read the same
// files); a worker whose share is empty steals the upper half of the fullest
// share. Each share is one 64-bit word (next task | end << 32) changed only
// by compare-and-swap, so owner and thieves never block each other.

import type { BoxCopySpec } from "./_boxcopy.ts";

/** The per-request columns, in work order, shared with every worker. */
export interface WorkColumns {
  /** File index of each request (into `paths`). */
  file: Uint32Array;
  /** Resolved file offset (uint64, as the C batch reads it). */
  offset: BigUint64Array;
  /** Resolved length in bytes. */
  length: BigUint64Array;
  /** 0 or -errno per request; workers write read errors here. */
  status: Int32Array;
  /** Work position → request index; absent when work order is request order. */
  index?: Uint32Array;
}

/** How a worker turns chunks into results. */
export type PoolMode = "read" | "map" | "into" | "reduce";

/** Where a user transform comes from. */
export interface TransformSpec {
  /** Module URL and export name. */
  module?: string;
  name?: string;
  /** Source of an inline function (serialised; no closures). */
  source?: string;
}

/** Native reduction asked of the workers. */
export interface ReduceSpec {
  dtype: number;
  ops: number;
  bins: number;
  lo: number;
  hi: number;
}

/** main → worker: run a batch. */
export interface BatchMessage {
  type: "batch";
  id: number;
  mode: PoolMode;
  paths: readonly string[];
  columns: WorkColumns;
  /** Task t covers work positions tasks[t] .. tasks[t+1]. */
  tasks: Uint32Array;
  /** Bytes task t needs in a worker buffer (64-byte aligned chunks). */
  taskBytes: Float64Array;
  /** One share word per worker (see takeTask / stealTask). */
  queues: BigInt64Array;
  /** Per worker: [chunks done, bytes done], written by that worker only. */
  progress: Float64Array;
  /** [0]: non-zero = cancel. */
  control: Int32Array;
  /** "read": destination of each request, as byte offsets from dest's start (work order). */
  destOffsets?: BigUint64Array;
  /** "read"/"into": the caller's SharedArrayBuffer-backed destination. */
  dest?: ArrayBufferView;
  /** "into": elements of `dest` per request (ctx.destStart = index * stride). */
  stride?: number;
  transform?: TransformSpec;
  /** Structured-cloned once per batch and worker; the transform sees it as ctx.args. */
  args?: unknown;
  /** The dtype the transform sees chunks as (undefined: bytes); a chunk of another length than a whole number of its elements fails (EMSGSIZE). */
  dtype?: string;
  reduce?: ReduceSpec;
  /** Bytes of one element of `dtype` or of the reduction's: a chunk of another length fails with EMSGSIZE. */
  elementBytes?: number;
  /** "into" without a transform: copy each chunk's part of its box natively (raw Zarr chunks). */
  copyBoxes?: BoxCopySpec;
  /** Merge adjacent requests into reads up to this many bytes (0: never). */
  mergeMax: number;
  /** ... and requests this many bytes apart or closer (0: only back-to-back ones). */
  mergeGap: number;
  /** The native cache (lsio_cache) the batch's reads go through; 0n: none. Held by the pool or the caller. */
  cache: bigint;
}

/** worker → main: a batch is finished on this worker. */
export interface DoneMessage {
  type: "done";
  id: number;
  worker: number;
  tasks: number;
  stolen: number;
  chunks: number;
  bytes: number;
  readsIssued: number;
  /** "map": values and the request index of each. */
  values?: unknown[];
  valueIndex?: Uint32Array;
  /** Transforms that threw. */
  errors: { index: number; name: string; message: string }[];
  /** Remote chunks that failed: why, by column (the HTTP status and the server's code). */
  remote?: { column: number; httpStatus: number; code: string }[];
  /** "reduce": the lsio_reduction words and histogram. */
  reduction?: Float64Array;
  hist?: BigUint64Array;
  /** A batch-level failure (not one chunk's). */
  fatal?: string;
}

const MASK = 0xffffffffn;

/** The share word of [next, end). */
export function packShare(next: number, end: number): bigint {
  return (BigInt(end) << 32n) | BigInt(next);
}

/** Splits the tasks 0..tasks evenly into `workers` contiguous shares. */
export function fillShares(queues: BigInt64Array, tasks: number): void {
  const w = queues.length;
  for (let i = 0; i < w; i++) {
    queues[i] = packShare(Math.floor((i * tasks) / w), Math.floor(((i + 1) * tasks) / w));
  }
}

/** Takes the next task of worker `w`'s own share, or -1 when it is empty. */
export function takeTask(queues: BigInt64Array, w: number): number {
  for (;;) {
    const v = Atomics.load(queues, w);
    const next = Number(v & MASK), end = Number(v >> 32n);
    if (next >= end) return -1;
    if (Atomics.compareExchange(queues, w, v, packShare(next + 1, end)) === v) return next;
  }
}

/**
 * Takes a run of worker `w`'s own tasks at once, from the next one on, while
 * their bytes (`taskBytes`) stay within `capBytes` (always at least one):
 * over the network one native call then has all their transfers in flight,
 * one round trip instead of one per task. Returns the first task and sets
 * `count[0]` to how many, or -1 when the share is empty.
 */
export function takeTasks(
  queues: BigInt64Array,
  w: number,
  taskBytes: Float64Array,
  capBytes: number,
  count: Uint32Array,
): number {
  for (;;) {
    const v = Atomics.load(queues, w);
    const next = Number(v & MASK), end = Number(v >> 32n);
    if (next >= end) return -1;
    let k = 1, bytes = taskBytes[next];
    while (next + k < end && bytes + taskBytes[next + k] <= capBytes) bytes += taskBytes[next + k++];
    if (Atomics.compareExchange(queues, w, v, packShare(next + k, end)) === v) {
      count[0] = k;
      return next;
    }
  }
}

/**
 * Steals the upper half of the fullest other share into worker `w`'s own
 * (empty) share and returns its first task, or -1 when every share is empty.
 */
export function stealTask(queues: BigInt64Array, w: number): number {
  for (;;) {
    let victim = -1, most = 0;
    for (let i = 0; i < queues.length; i++) {
      if (i === w) continue;
      const v = Atomics.load(queues, i);
      const left = Number(v >> 32n) - Number(v & MASK);
      if (left > most) most = left, victim = i;
    }
    if (victim < 0) return -1;
    const v = Atomics.load(queues, victim);
    const next = Number(v & MASK), end = Number(v >> 32n);
    if (next >= end) continue;
    const take = Math.max(1, (end - next) >> 1);
    const cut = end - take;
    if (Atomics.compareExchange(queues, victim, v, packShare(next, cut)) !== v) continue;
    // Our share is empty, so no thief changes it: publish the rest of the loot.
    Atomics.store(queues, w, packShare(cut + 1, end));
    return cut;
  }
}
