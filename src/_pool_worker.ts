// One worker of the pool (src/pool.ts): pinned to its core, owning an inline
// reader (its own io_uring ring, run on this thread), a reusable aligned
// buffer and one native batch struct. Per task it makes one FFI call that
// lays out, plans and reads the task's chunks into the buffer, then runs the
// transform (or one native reduction call) over them while they are in this
// core's cache. No allocation per chunk: chunk views are cached per buffer
// slot, the context object is reused. Over the network one call takes a run
// of the worker's tasks (one round trip for all their GETs, not one per task).
import { native } from "../ffi/mod.ts";
import {
  BATCH_WORDS,
  BatchFlag,
  BatchWord,
  type Native,
  Op,
  OPTS_WORDS,
  ReaderFlag,
  REDUCTION_WORDS,
  ReductionWord,
} from "../ffi/native.ts";
import { allocAlignedWith } from "./aligned.ts";
import { BoxCopier } from "./_boxcopy.ts";
import type { BatchMessage, DoneMessage, TransformSpec } from "./_pool_shared.ts";
import { stealTask, takeTask, takeTasks } from "./_pool_shared.ts";
import { encodePaths } from "./_paths.ts";
import { batchStorage } from "./_storage.ts";
import { REMOTE_ERROR_BYTES, requestDetails } from "./_batch.ts";

/** Failed remote chunks a native call describes (the first ones; the rest fail with their errno alone). */
const TASK_REMOTE_ERRORS = 256;
/** A remote batch's run of tasks read in one call holds up to this many pool buffers (bufferBytes) of chunks. */
const REMOTE_RUN_BUFFERS = 4;
import { TYPED_ARRAYS } from "./dtype.ts";
import { s3Words } from "./_s3_words.ts";
import { setReaderTls } from "./_tls_words.ts";
import type { ResolvedS3 } from "./s3_config.ts";

/** main → worker: set up. */
export interface InitMessage {
  type: "init";
  worker: number;
  /** CPU to pin to, or -1 for no pinning. */
  cpu: number;
  backend: number;
  queueDepth: number;
  direct: boolean;
  bufferBytes: number;
  scratchBytes: number;
  /** Files the worker's ring keeps open from one task to the next (lsio_reader_opts.keep_open). */
  keepOpen: number;
  /** lsio_reader_opts words 6..10 (remote_inflight … remote_retry_ms). */
  remote: Uint32Array;
  /** The CA bundle https transfers trust (RemoteOptions.caFile); undefined: the system's. */
  caFile: string | undefined;
  /** How s3:// paths are reached (resolved once, in the main thread). */
  s3: ResolvedS3;
}

// deno-lint-ignore no-explicit-any
type AnyFn = (...args: any[]) => unknown;
// deno-lint-ignore no-explicit-any
type TypedArrayCtor = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => any;

const VIEWS = TYPED_ARRAYS as unknown as Record<string, TypedArrayCtor & { BYTES_PER_ELEMENT: number }>;
const EMSGSIZE = 90;

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;

let lib: Native;
let handle = 0n;
let me = -1;
let pinned = -1;
let buffer: Uint8Array;
/** The pool's bufferBytes (the buffer may grow past it for a large task). */
let bufferBytes = 0;
let scratch: Uint8Array;
let maxTask = 0;
/** The lsio_batch struct and the per-task dest array (offsets from dest_base). */
const struct = new BigUint64Array(BATCH_WORDS);
let dest = new BigUint64Array(1);
let dest32 = new Uint32Array(dest.buffer);
const transforms = new Map<string, AnyFn>();

function post(msg: unknown): void {
  scope.postMessage(msg);
}

async function init(m: InitMessage): Promise<void> {
  lib = await native();
  me = m.worker;
  if (m.cpu >= 0) {
    const rc = lib.pinThread(m.cpu);
    pinned = rc === 0 ? m.cpu : rc;
  }
  const opts = new Uint32Array(OPTS_WORDS);
  opts[0] = m.backend;
  opts[1] = m.queueDepth;
  opts[2] = ReaderFlag.inline | (m.direct ? ReaderFlag.direct : 0);
  opts[5] = m.keepOpen;
  opts.set(m.remote, 6);
  const out = new BigUint64Array(1);
  const rc = lib.readerOpen(opts, out);
  if (rc < 0) {
    post({ type: "ready", worker: me, error: rc });
    return;
  }
  handle = out[0];
  const s3 = lib.readerSetS3(handle, s3Words(lib, m.s3));
  if (s3 < 0) {
    post({ type: "ready", worker: me, error: s3 });
    return;
  }
  const tls = setReaderTls(lib, handle, m.caFile);
  if (tls < 0) {
    post({ type: "ready", worker: me, error: tls });
    return;
  }
  const info = new Uint32Array(OPTS_WORDS);
  lib.readerInfo(handle, info);
  bufferBytes = m.bufferBytes;
  buffer = allocAlignedWith(lib, m.bufferBytes, { align: 4096 });
  scratch = allocAlignedWith(lib, m.scratchBytes, { align: 64 });
  post({ type: "ready", worker: me, pinned, backend: info[0], queueDepth: info[1] });
}

function closeReader(): void {
  if (handle !== 0n) lib.readerClose(handle);
  handle = 0n;
}

async function loadTransform(spec: TransformSpec): Promise<AnyFn> {
  const key = spec.source !== undefined ? `src:${spec.source}` : `mod:${spec.module}#${spec.name}`;
  let fn = transforms.get(key);
  if (fn) return fn;
  if (spec.source !== undefined) {
    fn = new Function(`"use strict"; return (${spec.source});`)() as AnyFn;
  } else {
    const mod = await import(spec.module!);
    fn = mod[spec.name ?? "default"];
  }
  if (typeof fn !== "function") {
    throw new TypeError(
      spec.source !== undefined
        ? "The inline transform does not evaluate to a function"
        : `${spec.module} has no function export ${JSON.stringify(spec.name ?? "default")}`,
    );
  }
  transforms.set(key, fn);
  return fn;
}

/** Points the batch struct at this batch's paths (NUL-terminated blob). */
function setPaths(paths: readonly string[]): unknown[] {
  const { blob, offsets } = encodePaths(paths);
  const sizes = new BigInt64Array(Math.max(paths.length, 1));
  struct[BatchWord.fileCount] = BigInt(paths.length);
  struct[BatchWord.paths] = lib.addressOf(blob);
  struct[BatchWord.pathOffsets] = lib.addressOf(offsets);
  struct[BatchWord.fileSize] = lib.addressOf(sizes);
  return [blob, offsets, sizes]; // kept alive by the caller while C may read them
}

function ensureTaskCapacity(m: number): void {
  if (m <= maxTask) return;
  maxTask = m;
  dest = new BigUint64Array(m);
  dest32 = new Uint32Array(dest.buffer);
}

/** The reused per-chunk context handed to transforms. */
class ChunkContext {
  index = 0;
  worker = 0;
  fileIndex = 0;
  fileOffset = 0;
  destStart = 0;
  destEnd = 0;
  dest: unknown = undefined;
  args: unknown = undefined;
  scratch: Uint8Array = new Uint8Array(0);
}

async function runBatch(msg: BatchMessage): Promise<void> {
  const { columns, tasks, taskBytes, queues, progress, control, mode } = msg;
  const { file, offset, length, status, index } = columns;
  const len32 = new Uint32Array(length.buffer, length.byteOffset, length.length * 2);
  const off32 = new Uint32Array(offset.buffer, offset.byteOffset, offset.length * 2);
  const done = doneMessage(msg.id);
  const keep = setPaths(msg.paths);
  const fileAddr = lib.addressOf(file);
  const offsetAddr = lib.addressOf(offset);
  const lengthAddr = lib.addressOf(length);
  const statusAddr = lib.addressOf(status);
  const direct = mode === "read";
  let outBase = 0n, destAddr = 0n;
  if (direct) {
    outBase = lib.addressOf(msg.dest!);
    destAddr = lib.addressOf(msg.destOffsets!);
  }
  const fn = msg.transform ? await loadTransform(msg.transform) : undefined;
  const copier = msg.copyBoxes ? new BoxCopier(lib, msg.copyBoxes, msg.dest!) : undefined;
  const indexAddr = index ? lib.addressOf(index) : 0n;
  const View = msg.dtype ? VIEWS[msg.dtype] : undefined;
  // Chunks that are not a whole number of elements fail (EMSGSIZE) instead of losing their last bytes.
  const elementBytes = msg.elementBytes ?? 1;
  const ctx = new ChunkContext();
  ctx.worker = me;
  ctx.dest = msg.dest;
  ctx.args = msg.args;
  ctx.scratch = scratch;
  const stride = msg.stride ?? 0;
  const values: unknown[] = [];
  const valueIndex: number[] = [];
  const pending: Promise<unknown>[] = [];
  const pendingIndex: number[] = [];
  const fail = (i: number, e: unknown) => {
    const err = e as Error;
    done.errors.push({ index: i, name: err?.name ?? "Error", message: String(err?.message ?? err) });
  };
  // Chunk views cached per task slot: same buffer offset and length → same view.
  let viewOff = new Float64Array(0), viewLen = new Float64Array(0);
  let views: unknown[] = [];
  let viewBuf: Uint8Array | undefined;

  // The reduction struct, accumulated over every task of this batch.
  let red: BigUint64Array | undefined, redF: Float64Array | undefined, hist: BigUint64Array | undefined;
  if (msg.reduce) {
    red = new BigUint64Array(REDUCTION_WORDS);
    redF = new Float64Array(red.buffer);
    red[ReductionWord.dtype] = BigInt(msg.reduce.dtype);
    red[ReductionWord.ops] = BigInt(msg.reduce.ops);
    redF[ReductionWord.min] = Infinity;
    redF[ReductionWord.max] = -Infinity;
    if (msg.reduce.bins > 0) {
      hist = new BigUint64Array(msg.reduce.bins);
      red[ReductionWord.bins] = BigInt(msg.reduce.bins);
      red[ReductionWord.hist] = lib.addressOf(hist);
      redF[ReductionWord.histLo] = msg.reduce.lo;
      redF[ReductionWord.histHi] = msg.reduce.hi;
    }
  }

  // Remote objects: C describes failed chunks in these records (read after each task, sent with "done").
  const storage = batchStorage(msg.paths);
  const remote = storage.describesFailures;
  const records = remote ? new Uint8Array(REMOTE_ERROR_BYTES * TASK_REMOTE_ERRORS) : undefined;
  struct[BatchWord.remoteErrors] = records ? lib.addressOf(records) : 0n;
  struct[BatchWord.remoteErrorsCap] = records ? BigInt(TASK_REMOTE_ERRORS) : 0n;
  // Local files: merge only chunks already in (file, offset) order (sorting a task costs more than it
  // saves on a page-cache read). A storage with a profile (remote: cloud) sorts the chunks of each call,
  // so it asks one GET per object, not one per chunk (zarr chunks come in crop order: a zarr-crops batch
  // over nginx sent 377 GETs for 377 chunks before).
  struct[BatchWord.flags] = storage.profile ? 0n : BigInt(BatchFlag.planIfOrdered);
  struct[BatchWord.layoutAlign] = 64n;
  struct[BatchWord.mergeGap] = BigInt(msg.mergeGap);
  struct[BatchWord.mergeMax] = BigInt(msg.mergeMax);
  struct[BatchWord.splitSize] = 0n;
  struct[BatchWord.cache] = msg.cache;
  const ops = (direct ? 0 : Op.layout) | Op.read | (msg.mergeMax > 0 ? Op.plan : 0);
  let cancelled = false;
  // Remote: a run of this worker's tasks per native call (see takeTasks), up to this many bytes.
  const remoteCap = REMOTE_RUN_BUFFERS * bufferBytes;
  const claimed = new Uint32Array(1);

  for (;;) {
    // Lets microtasks a transform queued run between tasks (an error thrown
    // there is a worker death the pool sees now, not after the batch).
    await undefined;
    claimed[0] = 1;
    let t = remote ? takeTasks(queues, me, taskBytes, remoteCap, claimed) : takeTask(queues, me);
    if (t < 0) {
      t = stealTask(queues, me);
      if (t < 0) break;
      claimed[0] = 1;
      done.stolen++;
    }
    const k = claimed[0];
    const lo = tasks[t], hi = tasks[t + k], m = hi - lo;
    let bytes = 0;
    for (let i = t; i < t + k; i++) bytes += taskBytes[i];
    done.tasks += k;
    if (cancelled || Atomics.load(control, 0) !== 0) {
      cancelled = true;
      for (let j = lo; j < hi; j++) if (status[j] === 0) status[j] = -125; // ECANCELED
      done.chunks += m;
      progress[2 * me] = done.chunks;
      continue;
    }
    ensureTaskCapacity(m);
    if (!direct && bytes > buffer.byteLength) buffer = allocAlignedWith(lib, bytes, { align: 4096 });
    struct[BatchWord.count] = BigInt(m);
    struct[BatchWord.file] = fileAddr + BigInt(4 * lo);
    // READ never looks at start/end; the checks want them non-NULL.
    struct[BatchWord.start] = offsetAddr + BigInt(8 * lo);
    struct[BatchWord.end] = offsetAddr + BigInt(8 * lo);
    struct[BatchWord.offset] = offsetAddr + BigInt(8 * lo);
    struct[BatchWord.length] = lengthAddr + BigInt(8 * lo);
    struct[BatchWord.status] = statusAddr + BigInt(4 * lo);
    if (direct) {
      struct[BatchWord.destBase] = outBase;
      struct[BatchWord.dest] = destAddr + BigInt(8 * lo);
    } else {
      struct[BatchWord.destBase] = lib.addressOf(buffer);
      struct[BatchWord.dest] = lib.addressOf(dest);
    }
    for (let w = BatchWord.chunksDone; w <= BatchWord.readsIssued; w++) struct[w] = 0n;
    struct[BatchWord.remoteErrorsCount] = 0n;
    const rc = lib.runSync(handle, struct, ops);
    if (rc < 0) throw new Error(`lsio_run failed on worker ${me}: ${rc}`);
    const described = records ? Number(struct[BatchWord.remoteErrorsCount]) : 0;
    if (described > 0) {
      for (const r of requestDetails(new DataView(records!.buffer), Math.min(described, TASK_REMOTE_ERRORS))) {
        (done.remote ??= []).push({ column: lo + r.request, httpStatus: r.httpStatus, code: r.code });
      }
    }
    done.readsIssued += Number(struct[BatchWord.readsIssued]);
    done.bytes += Number(struct[BatchWord.bytesDone]);
    if (elementBytes > 1) {
      for (let j = lo; j < hi; j++) if (status[j] === 0 && len32[2 * j] % elementBytes !== 0) status[j] = -EMSGSIZE;
    }

    if (copier) { // raw or zstd chunks: every chunk of the task decoded/copied into its box in one native call
      copier.run(
        m,
        lib.addressOf(buffer),
        lib.addressOf(dest),
        statusAddr + BigInt(4 * lo),
        index ? indexAddr + BigInt(4 * lo) : 0n,
        lo,
        lengthAddr + BigInt(8 * lo),
        (k, errno) => {
          status[lo + k] = errno; // the main thread reports it as an LsioError with path and range
        },
      );
    } else if (red) {
      red[ReductionWord.count] = BigInt(m);
      red[ReductionWord.base] = lib.addressOf(buffer);
      red[ReductionWord.offset] = lib.addressOf(dest);
      red[ReductionWord.length] = lengthAddr + BigInt(8 * lo);
      red[ReductionWord.status] = statusAddr + BigInt(4 * lo);
      const r = lib.reduce(red);
      if (r < 0) throw new Error(`lsio_reduce failed on worker ${me}: ${r}`);
    } else if (fn) {
      if (viewBuf !== buffer || views.length < m) {
        viewBuf = buffer;
        viewOff = new Float64Array(Math.max(m, views.length)).fill(-1);
        viewLen = new Float64Array(viewOff.length);
        views = new Array(viewOff.length);
      }
      for (let k = 0; k < m; k++) {
        const j = lo + k;
        if (status[j] !== 0) continue;
        const off = dest32[2 * k], len = len32[2 * j];
        let view = views[k];
        if (viewOff[k] !== off || viewLen[k] !== len) {
          view = View
            ? new View(buffer.buffer, buffer.byteOffset + off, Math.floor(len / View.BYTES_PER_ELEMENT))
            : buffer.subarray(off, off + len);
          views[k] = view;
          viewOff[k] = off;
          viewLen[k] = len;
        }
        const i = index ? index[j] : j;
        ctx.index = i;
        ctx.fileIndex = file[j];
        ctx.fileOffset = off32[2 * j] + off32[2 * j + 1] * 4294967296;
        ctx.destStart = i * stride;
        ctx.destEnd = ctx.destStart + stride;
        try {
          const v = fn(view, ctx);
          if (v !== null && typeof v === "object" && typeof (v as PromiseLike<unknown>).then === "function") {
            pending.push(v as Promise<unknown>);
            pendingIndex.push(i);
          } else if (mode === "map") {
            values.push(v);
            valueIndex.push(i);
          }
        } catch (e) {
          fail(i, e);
        }
      }
      // Async transforms (e.g. codecs that decompress in WASM): settled before
      // the buffer is reused by the next task.
      if (pending.length) {
        const settled = await Promise.allSettled(pending);
        settled.forEach((r, k) => {
          if (r.status === "rejected") fail(pendingIndex[k], r.reason);
          else if (mode === "map") {
            values.push(r.value);
            valueIndex.push(pendingIndex[k]);
          }
        });
        pending.length = 0;
        pendingIndex.length = 0;
      }
    }
    done.chunks += m;
    progress[2 * me] = done.chunks;
    progress[2 * me + 1] = done.bytes;
  }
  if (mode === "map") {
    done.values = values;
    done.valueIndex = Uint32Array.from(valueIndex);
  }
  if (red) {
    done.reduction = new Float64Array(red.buffer.slice(0));
    done.hist = hist;
  }
  keep.length = 0;
  post(done);
}

/** A "done" report with nothing done yet. */
function doneMessage(id: number): DoneMessage {
  return { type: "done", id, worker: me, tasks: 0, stolen: 0, chunks: 0, bytes: 0, readsIssued: 0, errors: [] };
}

/**
 * Messages are handled one after another: the pool may queue the next batch
 * while this one runs (runBatch awaits between tasks), and a batch owns the
 * worker's batch struct and buffer until it is done.
 */
let handled: Promise<void> = Promise.resolve();
scope.onmessage = (e: MessageEvent) => {
  handled = handled.then(() => onMessage(e.data));
};

async function onMessage(m: { type: string; id?: number }): Promise<void> {
  try {
    if (m.type === "init") await init(m as unknown as InitMessage);
    else if (m.type === "batch") await runBatch(m as unknown as BatchMessage);
    else if (m.type === "close") {
      closeReader();
      post({ type: "closed", worker: me });
    }
  } catch (err) {
    post({ ...doneMessage(m.id ?? -1), fatal: String((err as Error)?.stack ?? err) });
  }
}
