// Helpers shared by every benchmark child process (Deno, Node and Bun): the
// spec on the command line, the read list, the slab, progress on stderr, the
// thread sampler, verification and the one JSON line on stdout.
// Plain JavaScript with node: builtins so that Node runs it as is.
import fs from "node:fs";
import process from "node:process";

/**
 * What main.ts asks a child to do (one JSON argument, the last on the line).
 * @typedef {object} Spec
 * @property {string} impl Implementation id, e.g. "node-promises".
 * @property {string} data The data file.
 * @property {string} index Uint32 block indices, one per read.
 * @property {number} reads How many reads (a prefix of the index).
 * @property {number} qd Reads in flight at once (async implementations).
 * @property {number} batch Chunks per batch; chunk i lands at slab[(i % batch) * blockSize].
 * @property {number} blockSize Bytes per read.
 * @property {boolean} direct O_DIRECT.
 * @property {string} [backend] LSIO backend.
 */

/** @returns {"deno" | "bun" | "node"} */
export function runtimeName() {
  if ("Bun" in globalThis) return "bun";
  if ("Deno" in globalThis) return "deno";
  return "node";
}

/** @returns {string} */
export function runtimeVersion() {
  const g = /** @type {any} */ (globalThis);
  if (g.Bun) return g.Bun.version;
  if (g.Deno) return g.Deno.version.deno;
  return process.versions.node;
}

/** @returns {Spec} */
export function parseSpec() {
  return JSON.parse(process.argv[process.argv.length - 1]);
}

/**
 * The first `count` block indices of the read list.
 * @param {string} path
 * @param {number} count
 * @returns {Uint32Array}
 */
export function loadIndex(path, count) {
  const bytes = fs.readFileSync(path);
  if (bytes.byteLength < count * 4) throw new Error(`${path} holds ${bytes.byteLength / 4} reads, not ${count}`);
  const out = new Uint32Array(count);
  new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
  return out;
}

/** @param {string} key @returns {number} */
function statusField(key) {
  const m = fs.readFileSync("/proc/self/status", "utf8").match(new RegExp(`^${key}:\\s+(\\d+)`, "m"));
  return m ? Number(m[1]) : 0;
}

/** OS threads of this process now. */
export function threadsNow() {
  return statusField("Threads");
}

/** Peak resident set of this process in bytes (VmHWM). */
export function peakRss() {
  return statusField("VmHWM") * 1024;
}

/** Samples the thread count: at `sample()` calls and every 20 ms while the event loop is free. */
export class ThreadSampler {
  constructor() {
    this.baseline = threadsNow();
    this.peak = this.baseline;
    this.timer = setInterval(() => this.sample(), 20);
  }
  sample() {
    const n = threadsNow();
    if (n > this.peak) this.peak = n;
  }
  stop() {
    this.sample();
    clearInterval(this.timer);
  }
}

/** Touches every page so the timed loop never page-faults on the slab. @param {Uint8Array} slab */
export function prefault(slab) {
  for (let i = 0; i < slab.length; i += 4096) slab[i] = 1;
  if (slab.length) slab[slab.length - 1] = 1;
}

/**
 * Address of a view's first byte, where the runtime can tell (Deno, Bun FFI).
 * @param {Uint8Array} view
 * @returns {Promise<bigint | undefined>}
 */
async function addressOf(view) {
  const g = /** @type {any} */ (globalThis);
  try {
    if (g.Bun) {
      const spec = "bun:ffi";
      const ffi = await import(spec);
      return BigInt(ffi.ptr(view));
    }
    if (g.Deno) return BigInt(g.Deno.UnsafePointer.value(g.Deno.UnsafePointer.of(view)));
  } catch {
    // no FFI permission or API: fall through to probing
  }
  return undefined;
}

/**
 * A zeroed slab of `bytes` bytes, 4096-aligned where the runtime gives
 * addresses. Node gives none: there the start is found by probing O_DIRECT
 * reads of `probePath` (the kernel refuses misaligned buffers), which yields
 * the device's DMA alignment (512 here), well above the 64 that matters.
 * @param {number} bytes
 * @param {string} probePath
 * @returns {Promise<{ slab: Uint8Array, align: string }>}
 */
export async function alignedSlab(bytes, probePath) {
  const all = new Uint8Array(new ArrayBuffer(bytes + 4096));
  const addr = await addressOf(all);
  if (addr !== undefined) {
    const pad = Number((4096n - (addr % 4096n)) % 4096n);
    return { slab: all.subarray(pad, pad + bytes), align: "4096" };
  }
  const fd = fs.openSync(probePath, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  try {
    for (let k = 0; k < 4096; k += 16) {
      try {
        fs.readSync(fd, all, k, 4096, 0);
        return { slab: all.subarray(k, k + bytes), align: "dio (probed)" };
      } catch (e) {
        if (/** @type {any} */ (e).code !== "EINVAL") throw e;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  throw new Error("no offset in the slab satisfies O_DIRECT alignment");
}

/** Reports progress to main.ts on stderr. @param {number} done @param {number} total */
let lastProgress = 0;
/** Reports progress to the parent, at most every 100 ms (and at the end): a write per batch would be timed too. */
export function progress(done, total) {
  const now = performance.now();
  if (done < total && now - lastProgress < 100) return;
  lastProgress = now;
  process.stderr.write(`@progress ${done} ${total}\n`);
}

/**
 * Checks the stamps of the last batch: block b starts with b (u32 LE) and "LSIO".
 * Returns the number of chunks whose bytes are not the block they asked for.
 * @param {Uint8Array} slab
 * @param {Uint32Array} index
 * @param {number} batch
 * @param {number} blockSize
 */
export function verifyLastBatch(slab, index, batch, blockSize) {
  const n = index.length;
  const first = n === 0 ? 0 : Math.floor((n - 1) / batch) * batch;
  const view = new DataView(slab.buffer, slab.byteOffset, slab.byteLength);
  let bad = 0;
  for (let i = first; i < n; i++) {
    const pos = (i - first) * blockSize;
    if (view.getUint32(pos, true) !== index[i] || view.getUint32(pos + 4, true) !== 0x4f49534c) bad++;
  }
  return { checked: n - first, bad };
}

/** Prints the one result line. @param {Record<string, unknown>} result */
export function emit(result) {
  process.stdout.write(JSON.stringify({ runtime: runtimeName(), runtime_version: runtimeVersion(), ...result }) + "\n");
}

/** Prints a skip line (the implementation cannot run here). @param {string} reason */
export function skip(reason) {
  emit({ skipped: true, reason });
}

/**
 * Verifies the last batch and prints the result line.
 * @param {object} r
 * @param {Spec} r.spec
 * @param {Uint8Array} r.slab
 * @param {Uint32Array} r.index
 * @param {number} r.seconds Timed loop only.
 * @param {number} r.bytes
 * @param {ThreadSampler} r.sampler
 * @param {boolean} r.sync The JS thread issues every read itself.
 * @param {number} r.queueDepth
 * @param {string} r.note
 * @param {number} [r.ioThreads] Known I/O threads, where the sampler cannot see them.
 * @param {Record<string, unknown>} [r.extra]
 */
export function finish(r) {
  r.sampler.stop();
  const check = verifyLastBatch(r.slab, r.index, r.spec.batch, r.spec.blockSize);
  if (check.bad > 0) throw new Error(`${check.bad} of ${check.checked} chunks of the last batch hold the wrong block`);
  const extraThreads = r.sampler.peak - r.sampler.baseline;
  emit({
    impl: r.spec.impl,
    chunks: r.index.length,
    bytes: r.bytes,
    seconds: r.seconds,
    queue_depth: r.queueDepth,
    io_threads: r.sync ? 1 : r.ioThreads ?? Math.max(1, extraThreads),
    threads_note: r.sync
      ? "the JS thread issues every read"
      : r.ioThreads !== undefined
      ? `${r.ioThreads} (pool size; ${extraThreads} threads appeared while reading)`
      : `${extraThreads} threads appeared while reading`,
    os_threads: r.sampler.peak,
    threads_added: extraThreads,
    peak_rss_self: peakRss(),
    verified: check.checked,
    note: r.note,
    ...r.extra,
  });
}
