// The worker pool: every read mode against node:fs, errors per chunk, a dying
// worker, cancellation, progress, pinning, work stealing, close without leaks.
import * as fs from "node:fs";
import * as path from "node:path";
import { LsioError, TransformError, WorkerPool } from "../mod.ts";
import { assert, assertEquals, assertGreater, assertInstanceOf, assertLess, assertRejects } from "./_assert.ts";
import { randInt, removeDir, rng, tempDir, writeRandomFile } from "./_helpers.ts";
import { expectRange } from "./_reference.ts";
import { test } from "./_shim.ts";
import { fillShares, stealTask, takeTask, takeTasks } from "../src/_pool_shared.ts";

const dir = tempDir("lsio-pool-");

/** This process's open fds and what they point at. */
function openFds(): string[] {
  return fs.readdirSync("/proc/self/fd").map((f) => {
    try {
      return `${f}->${fs.readlinkSync(`/proc/self/fd/${f}`)}`;
    } catch {
      return f;
    }
  });
}
const FIX = new URL("./fixtures/transforms.ts", import.meta.url).href;
const sizes = [0, 100, 4096, 65536 + 17, 1 << 20, (3 << 20) + 5];
const paths = sizes.map((s, i) => writeRandomFile(dir, `p${i}.bin`, s, 4000 + i));
const contents = paths.map((p) => fs.readFileSync(p));

/** Random requests of every range kind over the files, in random (unsorted) order. */
function randomRequests(seed: number, n: number) {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const f = randInt(r, 0, paths.length - 1), size = sizes[f];
    const s = randInt(r, 0, size), e = Math.min(size, s + randInt(r, 0, 9000));
    switch (randInt(r, 0, 4)) {
      case 0:
        return { path: paths[f], start: -(size - s) || 0 }; // from the end, to EOF
      case 1:
        return { path: paths[f], start: s, end: e + randInt(r, 0, 3) }; // sometimes past EOF
      default:
        return { path: paths[f], start: s, end: e };
    }
  });
}

function expected(q: { path: string; start?: number; end?: number }) {
  const f = paths.indexOf(q.path);
  const x = expectRange(sizes[f], q.start ?? 0, q.end, false);
  return x.ok ? { ok: true as const, bytes: contents[f].subarray(x.offset, x.offset + x.length) } : x;
}

/** Places for the chunks of (valid) requests in one shared final array, 64-byte aligned. */
function sharedLayout(reqs: { path: string; start?: number; end?: number }[]) {
  const offsets = new Float64Array(reqs.length);
  let at = 0;
  reqs.forEach((q, i) => {
    offsets[i] = at;
    at += Math.ceil(((expected(q) as { bytes: Uint8Array }).bytes.length + 1) / 64) * 64;
  });
  return { offsets, out: new Uint8Array(new SharedArrayBuffer(at)) };
}

/** The requests as columns. */
function toColumns(reqs: { path: string; start?: number; end?: number }[]) {
  const paths = [...new Set(reqs.map((q) => q.path))];
  return {
    paths,
    file: Uint32Array.from(reqs, (q) => paths.indexOf(q.path)),
    start: Float64Array.from(reqs, (q) => q.start ?? 0),
    end: Float64Array.from(reqs, (q) => q.end ?? Infinity),
  };
}

/** The requests, each with its slot of `out` as its dest (the list form of readInto). */
function withDest(reqs: { path: string; start?: number; end?: number }[], out: Uint8Array, offsets: Float64Array) {
  return reqs.map((q, i) => ({
    ...q,
    dest: out.subarray(offsets[i], i + 1 < reqs.length ? offsets[i + 1] : out.length),
  }));
}

const pool = await WorkerPool.open({ workers: 2, bufferBytes: 64 * 1024, taskChunks: 32 });

test("pool: map returns each transform's value in request order, errors in place", async () => {
  const reqs = randomRequests(1, 5000);
  const out = await pool.map(reqs, { transform: (c: Uint8Array) => Array.from(c.subarray(0, 8)).concat(c.length) });
  let errs = 0;
  reqs.forEach((q, i) => {
    const x = expected(q);
    if (!x.ok) {
      assertInstanceOf(out[i], LsioError);
      assertEquals((out[i] as LsioError).code, x.code);
      assertEquals((out[i] as LsioError).path, q.path);
      errs++;
    } else assertEquals(out[i], Array.from(x.bytes.subarray(0, 8)).concat(x.bytes.length), `request ${i}`);
  });
  assertGreater(errs, 0, "some ranges past EOF");
});

test("pool: transformInto with a module transform fills the final array; float32 views", async () => {
  const reqs = Array.from({ length: 256 }, (_, k) => ({ path: paths[4], start: k * 4096, end: k * 4096 + 4096 }));
  const out = new Float64Array(new SharedArrayBuffer(reqs.length * 8));
  const res = await pool.transformInto(reqs, {
    transform: { module: FIX, name: "sumInto" },
    dtype: "float32",
    dest: out,
  });
  assertEquals(res.errors.size, 0);
  assertEquals(res.stats.chunks, 256);
  const f = new Float32Array(contents[4].buffer.slice(contents[4].byteOffset, contents[4].byteOffset + (1 << 20)));
  for (let k = 0; k < 256; k++) {
    let s = 0;
    for (let i = 0; i < 1024; i++) s += f[k * 1024 + i];
    assertEquals(out[k], s, `chunk ${k}`);
  }
  // stride: each request owns destStart..destEnd of a byte dest
  const bytes = new Uint8Array(new SharedArrayBuffer(reqs.length * 16));
  await pool.transformInto(reqs, { transform: { module: FIX, name: "plusOne" }, dest: bytes, stride: 16 });
  for (let k = 0; k < 256; k += 17) {
    for (let i = 0; i < 16; i++) assertEquals(bytes[k * 16 + i], (contents[4][k * 4096 + i] + 1) & 255);
  }
  await assertRejects(
    () => pool.transformInto(reqs, { transform: { module: FIX, name: "plusOne" }, dest: new Uint8Array(10) }),
    TypeError,
    "SharedArrayBuffer",
  );
});

test("pool: readInto puts every chunk at its offset of a shared final array", async () => {
  const reqs = randomRequests(2, 3000).filter((q) => expected(q).ok);
  const { offsets, out } = sharedLayout(reqs);
  for (const form of ["list", "columns"]) {
    out.fill(0);
    const res = form === "list"
      ? await pool.readInto(withDest(reqs, out, offsets))
      : await pool.readInto({ ...toColumns(reqs), dest: { buffer: out, offsets } });
    assertEquals(res.errors.size, 0);
    reqs.forEach((q, i) => {
      const b = (expected(q) as { bytes: Uint8Array }).bytes;
      assert(Buffer.from(out.subarray(offsets[i], offsets[i] + b.length)).equals(b), `${form}: request ${i}`);
    });
  }
  // A chunk that does not fit fails alone with ENOBUFS (a list dest's length, a column's rest of the buffer).
  const small = new Uint8Array(new SharedArrayBuffer(8192));
  const r2 = await pool.readInto({
    paths: [paths[4]],
    file: new Uint32Array(2),
    start: new Float64Array([0, 0]),
    end: new Float64Array([4096, 4096]),
    dest: { buffer: small, offsets: new Float64Array([0, 6000]) },
  });
  assertEquals(r2.errors.size, 1);
  assertEquals((r2.errors.get(1) as LsioError).code, "ENOBUFS");
  const r3 = await pool.readInto([
    { path: paths[4], start: 0, end: 4096, dest: small.subarray(0, 4096) },
    { path: paths[4], start: 0, end: 4096, dest: small.subarray(4096, 8000) },
  ]);
  assertEquals([...r3.errors.keys()], [1]);
  assertEquals((r3.errors.get(1) as LsioError).code, "ENOBUFS");
  // Every dest of a list is a view of one SharedArrayBuffer.
  await assertRejects(
    () =>
      pool.readInto([{ path: paths[4], dest: new Uint8Array(new SharedArrayBuffer(64)) }, {
        path: paths[4],
        dest: small,
      }]),
    TypeError,
    "one SharedArrayBuffer",
  );
});

test("pool: native reduce equals a JS reduction for every dtype, with histogram", async () => {
  const reqs = Array.from({ length: 200 }, (_, k) => ({ path: paths[4], start: k * 4096, end: k * 4096 + 4096 }));
  reqs.push({ path: path.join(dir, "missing"), start: 0, end: 8 });
  const raw = contents[4].subarray(0, 200 * 4096);
  const ab = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
  const types = {
    int8: Int8Array,
    uint8: Uint8Array,
    int16: Int16Array,
    uint16: Uint16Array,
    int32: Int32Array,
    uint32: Uint32Array,
    float64: Float64Array,
  } as const;
  for (const [dtype, T] of Object.entries(types)) {
    const a = new T(ab);
    let sum = 0, min = Infinity, max = -Infinity;
    for (let i = 0; i < a.length; i++) sum += a[i], min = Math.min(min, a[i]), max = Math.max(max, a[i]);
    const r = await pool.reduce(reqs, { dtype: dtype as keyof typeof types });
    assertEquals(r.elements, a.length, dtype);
    assertEquals(r.chunks, 200);
    assertEquals(r.errors.size, 1);
    assertEquals(r.errors.get(200)!.code, "ENOENT");
    if (dtype === "float64") {
      // random bits: NaNs propagate into the sum
      const nans = a.filter((x) => Number.isNaN(x)).length;
      assertEquals(r.nans, nans);
      const clean = a.filter((x) => !Number.isNaN(x));
      assertEquals(r.min, Math.min(...clean));
    } else {
      assertEquals(r.sum, sum, dtype);
      assertEquals(r.min, min, dtype);
      assertEquals(r.max, max, dtype);
      assertEquals(r.mean, sum / a.length);
    }
  }
  const u8 = new Uint8Array(ab);
  const want = [0, 0, 0, 0];
  let above = 0;
  for (const v of u8) v >= 200 ? above++ : want[Math.floor(v / 50)]++;
  const h = await pool.reduce(reqs, { dtype: "uint8", bins: 4, range: [0, 200] });
  assertEquals(h.histogram!.counts, want);
  assertEquals(h.histogram!.above, above);
  assertEquals(h.histogram!.below, 0);
});

test("pool: stream yields every chunk in request order with a bounded window", async () => {
  const reqs = randomRequests(3, 2000);
  let i = 0;
  for await (const c of pool.stream(reqs, { window: 97 })) {
    assertEquals(c.index, i);
    const x = expected(reqs[i]);
    if (x.ok) assert(Buffer.from(c.bytes!).equals(x.bytes), `chunk ${i}`);
    else assertEquals(c.error?.code, x.code);
    i++;
  }
  assertEquals(i, reqs.length);
  // Stopping early leaves nothing behind: the pool streams again at once.
  let seen = 0;
  for await (const _ of pool.stream(reqs, { window: 50 })) if (++seen === 10) break;
  let again = 0;
  for await (const c of pool.stream(reqs.slice(0, 120), { window: 50 })) again += c.index === again ? 1 : 0;
  assertEquals(again, 120);
});

test("pool: args reach every worker; async transforms are awaited, their rejections fail one chunk", async () => {
  const reqs = Array.from({ length: 300 }, (_, k) => ({ path: paths[4], start: k * 8, end: k * 8 + 8 }));
  const out = await pool.map(reqs, {
    args: { add: 1000, bad: 7 },
    transform: async (c: Uint8Array, ctx: { index: number; args: { add: number; bad: number } }) => {
      const { index, args } = ctx; // read the reused context before awaiting
      await new Promise((r) => setTimeout(r, 0));
      if (index === args.bad) throw new Error("async failure");
      return c[0] + args.add;
    },
  });
  for (let k = 0; k < 300; k++) {
    if (k === 7) assertInstanceOf(out[k], TransformError);
    else assertEquals(out[k], contents[4][k * 8] + 1000);
  }
});

test("pool: a transform that throws fails only its chunk, naming path, range and message", async () => {
  const reqs = Array.from({ length: 100 }, (_, k) => ({ path: paths[4], start: k * 100, end: k * 100 + 50 }));
  const out = await pool.map(reqs, {
    transform: (c: Uint8Array, ctx: { index: number }) => {
      if (ctx.index % 10 === 3) throw new RangeError(`bad chunk ${ctx.index}`);
      return c.length;
    },
  });
  for (let i = 0; i < 100; i++) {
    if (i % 10 === 3) {
      const e = out[i] as TransformError;
      assertInstanceOf(e, TransformError);
      assertEquals(e.path, paths[4]);
      assertEquals(e.range, { start: i * 100, end: i * 100 + 50 });
      assertEquals(e.causeName, "RangeError");
      assert(e.message.includes(`bad chunk ${i}`), e.message);
    } else assertEquals(out[i], 50);
  }
  // A module without the export fails the batch, clearly.
  await assertRejects(() => pool.map(reqs, { transform: { module: FIX, name: "nope" } }), Error, "no function export");
});

test("pool: workers are pinned to their own core (sched_setaffinity on the worker thread)", async () => {
  const cores = navigator.hardwareConcurrency;
  const seen = new Set(
    await pool.map(Array.from({ length: 400 }, () => ({ path: paths[2], start: 0, end: 8 })), {
      transform: { module: FIX, name: "affinity" },
    }) as string[],
  );
  for (const s of seen) {
    const [w, cpus] = s.split(":");
    assertEquals(cpus, String(Number(w) % cores), `worker ${w} runs on ${cpus}`);
  }
  assertEquals(pool.workers.map((w) => w.pinnedCpu), [0, 1 % cores]);
  await using free = await WorkerPool.open({ workers: 1, pin: false });
  assertEquals(free.workers[0].pinnedCpu, -1);
  const [s] = await free.map([{ path: paths[2], start: 0, end: 8 }], { transform: { module: FIX, name: "affinity" } });
  assertEquals((s as string).split(":")[1], cores > 1 ? `0-${cores - 1}` : "0");
});

test("pool: a slow worker's tasks are stolen by the other", async () => {
  const reqs = Array.from({ length: 1024 }, (_, k) => ({ path: paths[4], start: k * 1024, end: k * 1024 + 1024 }));
  const before = performance.now();
  const out = await pool.map(reqs, { transform: { module: FIX, name: "slowOnWorker0" } });
  const ms = performance.now() - before;
  assertEquals(out.filter((x) => x === 1024).length, 1024);
  // Pool-level stats come from transformInto/reduce; map reports through a second call:
  const res = await pool.transformInto(reqs, {
    transform: { module: FIX, name: "slowOnWorker0" },
    dest: new Uint8Array(new SharedArrayBuffer(1024)),
  });
  const [w0, w1] = res.stats.workers;
  assertGreater(w1.stolen, 0, "worker 1 stole");
  assertGreater(w1.chunks, w0.chunks, "the fast worker did more");
  assertLess(ms, 1024 * 2 * 0.9, "faster than worker 0 alone");
});

test("pool: AbortSignal cancels a running batch; progress reports; the pool stays usable", async () => {
  const reqs = Array.from(
    { length: 4000 },
    (_, k) => ({ path: paths[4], start: (k % 256) * 4096, end: (k % 256) * 4096 + 4096 }),
  );
  const ac = new AbortController();
  const slow = { module: FIX, name: "slowEverywhere" }; // ≈ 1 s of work: the abort lands midway
  setTimeout(() => ac.abort(new Error("stop now")), 30);
  await assertRejects(() => pool.map(reqs, { transform: slow, signal: ac.signal }), Error, "stop now");
  const seen: number[] = [];
  const out = await pool.reduce(reqs, {
    dtype: "uint8",
    onProgress: (p) => seen.push(p.chunksDone),
    progressIntervalMs: 1,
  });
  assertEquals(out.chunks, 4000);
  assertEquals(seen.at(-1), 4000);
});

test("pool: calls in flight at once (more than it dispatches together) each get their own results; one aborted alone", async () => {
  const reqs = randomRequests(7, 600);
  const good = reqs.filter((q) => expected(q).ok);
  const ac = new AbortController();
  const slow = { module: FIX, name: "slowEverywhere" };
  const slowReqs = Array.from(
    { length: 2000 },
    (_, k) => ({ path: paths[4], start: (k % 256) * 4096, end: (k % 256) * 4096 + 4096 }),
  );
  const calls = [
    pool.map(reqs, { transform: (c: Uint8Array) => c.length }),
    pool.reduce(good, { dtype: "uint8" }),
    pool.map(slowReqs, { transform: slow, signal: ac.signal }),
    pool.map(reqs, { transform: (c: Uint8Array) => (c.length ? c[0] : -1) }),
    pool.reduce(good, { dtype: "uint8" }),
  ];
  setTimeout(() => ac.abort(new Error("only this one")), 20);
  const settled = await Promise.allSettled(calls);
  const lengths = (settled[0] as PromiseFulfilledResult<unknown[]>).value;
  const firsts = (settled[3] as PromiseFulfilledResult<unknown[]>).value;
  reqs.forEach((q, i) => {
    const x = expected(q);
    if (x.ok) {
      assertEquals(lengths[i], x.bytes.length, `request ${i}`);
      assertEquals(firsts[i], x.bytes.length ? x.bytes[0] : -1, `request ${i}`);
    } else {
      assertInstanceOf(lengths[i], LsioError);
    }
  });
  let total = 0;
  for (const q of good) for (const b of (expected(q) as { bytes: Uint8Array }).bytes) total += b;
  assertEquals((settled[1] as PromiseFulfilledResult<{ sum: number }>).value.sum, total);
  assertEquals((settled[4] as PromiseFulfilledResult<{ sum: number }>).value.sum, total);
  assertEquals(settled[2].status, "rejected");
  assert(String((settled[2] as PromiseRejectedResult).reason).includes("only this one"));
});

test("pool: a worker that dies fails the batch clearly and is replaced", async () => {
  const reqs = Array.from({ length: 3000 }, (_, k) => ({ path: paths[4], start: k * 300, end: k * 300 + 300 }));
  // Two batches in flight when the worker dies: both fail, naming the death.
  const dying = await Promise.allSettled([
    pool.map(reqs, { transform: { module: FIX, name: "killWorker" } }),
    pool.map(reqs, { transform: { module: FIX, name: "slowEverywhere" } }),
  ]);
  assertEquals(dying[0].status, "rejected");
  assert(String((dying[0] as PromiseRejectedResult).reason).includes("died"));
  // (The second fails with it when it was handed out before the death, as it almost always is.)
  if (dying[1].status === "rejected") assert(/died|not running/.test(String(dying[1].reason)), String(dying[1].reason));
  else assertEquals(dying[1].value.filter((x) => x === 300).length, 3000);
  // The replacement takes over: the next batches run on every worker.
  // (A worker starts in ≈ 0.1 s; on a loaded 2-core machine it took over 1 s once.)
  for (let k = 0; k < 200 && pool.workers.some((w) => w.pinnedCpu < 0); k++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const out = await pool.map(reqs, { transform: (c: Uint8Array) => c.length });
  assertEquals(out.filter((x) => x === 300).length, 3000);
  const res = await pool.reduce(reqs, { dtype: "uint8" });
  assertEquals(res.stats.workers.length, 2);
});

test("pool: bad options and requests are refused before any work", async () => {
  await assertRejects(() => WorkerPool.open({ workers: 0 }), RangeError);
  await assertRejects(() => pool.reduce([], { dtype: "complex" as "uint8" }), TypeError);
  await assertRejects(() => pool.reduce([], { dtype: "uint8", bins: 3 }), TypeError, "range");
  await assertRejects(() => pool.reduce([], { dtype: "uint8", bins: 3, range: [1, 0] }), RangeError, "lo < hi");
  await assertRejects(() => pool.map([], { transform: 42 as never }), TypeError);
  await assertRejects(() => pool.map([], { transform: (c: Uint8Array) => c, dtype: "float16" as "uint8" }), TypeError);
  assertEquals(await pool.map([], { transform: (c: Uint8Array) => c.length }), []);
});

// Cleanup tests stay last.
test("pool: keepOpen keeps files open between tasks (same bytes), and closes them with the pool", async () => {
  const reqs = randomRequests(7, 400).filter((q) => expected(q).ok);
  const { offsets, out } = sharedLayout(reqs);
  const ours = () => openFds().filter((f) => paths.some((p) => f.endsWith(p)));
  const kp = await WorkerPool.open({ workers: 2, keepOpen: 8 });
  for (let round = 0; round < 2; round++) {
    out.fill(0);
    const res = await kp.readInto(withDest(reqs, out, offsets));
    assertEquals(res.errors.size, 0);
    reqs.forEach((q, i) => {
      const b = (expected(q) as { bytes: Uint8Array }).bytes;
      assert(Buffer.from(out.subarray(offsets[i], offsets[i] + b.length)).equals(b), `round ${round}, request ${i}`);
    });
    const kept = ours().length;
    assertGreater(kept, 0, "files stay open between batches");
    assertLess(kept, 2 * paths.length + 1, "at most each worker's files");
  }
  await kp.close();
  let left = ours();
  for (let k = 0; k < 60 && left.length; k++) {
    await new Promise((r) => setTimeout(r, 50));
    left = ours();
  }
  assertEquals(left, [], "closed with the pool");
  await assertRejects(() => WorkerPool.open({ keepOpen: -1 }), RangeError);
});

test("pool: open/close leaks no fds or threads; close is idempotent", async () => {
  await (await WorkerPool.open({ workers: 2 })).close(); // the runtime's own first-worker fds
  const fdsBefore = openFds();
  for (let k = 0; k < 5; k++) {
    const p = await WorkerPool.open({ workers: 2 });
    await p.reduce([{ path: paths[2] }], { dtype: "uint8" });
    await p.close();
    await p.close();
    assert(p.closed);
    await assertRejects(() => p.reduce([{ path: paths[2] }], { dtype: "uint8" }), LsioError, "closed");
  }
  // Worker.terminate() finishes asynchronously: give the threads a moment to go.
  let after = openFds();
  for (let k = 0; k < 60 && after.length - fdsBefore.length >= 4; k++) {
    await new Promise((r) => setTimeout(r, 50));
    after = openFds();
  }
  const grown = after.filter((f) => !fdsBefore.includes(f));
  assertLess(after.length - fdsBefore.length, 4, `fds back where they were; new: ${grown.join(", ")}`);
  await pool.close();
  removeDir(dir);
});

test("pool shares: takeTasks claims a run of a worker's own tasks within a byte cap; steals and the rest still see every task once", () => {
  const queues = new BigInt64Array(new SharedArrayBuffer(16));
  fillShares(queues, 10); // worker 0: tasks 0..5, worker 1: 5..10
  const bytes = Float64Array.from([4, 4, 4, 4, 9, 1, 1, 1, 1, 1]);
  const count = new Uint32Array(1);
  assertEquals([takeTasks(queues, 0, bytes, 10, count), count[0]], [0, 2]); // 4 + 4 fit 10, a third does not
  assertEquals([takeTasks(queues, 0, bytes, 1, count), count[0]], [2, 1]); // at least one, even over the cap
  assertEquals([takeTasks(queues, 0, bytes, 100, count), count[0]], [3, 2]); // never past the share's end
  assertEquals(takeTasks(queues, 0, bytes, 100, count), -1);
  const seen: number[] = [];
  const t = stealTask(queues, 0); // the upper half of worker 1's share
  seen.push(t);
  for (let k; (k = takeTasks(queues, 0, bytes, 100, count)) >= 0;) for (let i = 0; i < count[0]; i++) seen.push(k + i);
  for (let k; (k = takeTask(queues, 1)) >= 0;) seen.push(k);
  assertEquals(seen.sort((a, b) => a - b), [5, 6, 7, 8, 9]);
});
