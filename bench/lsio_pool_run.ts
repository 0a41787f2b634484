// The LSIO worker-pool child for the one-file workloads (random4k,
// direct4k), the same file under Deno (`deno run -A bench/lsio_pool_run.ts
// <spec>`) and Bun (`bun bench/lsio_pool_run.ts <spec>`): one pinned worker per
// core, each with its own ring at spec.qd / workers (the same total depth as
// every other row), batches of spec.batch chunks read with pool.readInto,
// each chunk into its own place of one shared, prefaulted 4096-aligned slab.
import * as c from "./child.mjs";

const spec = c.parseSpec();
const sampler = new c.ThreadSampler();
const mod = await import("../mod.ts");
const cores = navigator.hardwareConcurrency;
const workers = Math.min(cores, spec.qd);
const pool = await mod.WorkerPool.open({
  workers,
  queueDepth: Math.max(1, Math.floor(spec.qd / workers)),
  direct: spec.direct,
});
const index = c.loadIndex(spec.index, spec.reads);
const bs = spec.blockSize, batch = spec.batch, n = index.length;
const slab = await mod.allocAligned(batch * bs, { shared: true });
c.prefault(slab);
const start = new Float64Array(n), end = new Float64Array(n);
for (let i = 0; i < n; i++) {
  start[i] = index[i] * bs;
  end[i] = start[i] + bs;
}
const file = new Uint32Array(batch);
const offsets = new Float64Array(batch);
for (let i = 0; i < batch; i++) offsets[i] = i * bs;
let bytes = 0, steals = 0, prepare = 0;
const t0 = performance.now();
for (let s = 0; s < n; s += batch) {
  const e = Math.min(n, s + batch), m = e - s;
  const res = await pool.readInto({
    paths: [spec.data],
    file: file.subarray(0, m),
    start: start.subarray(s, e),
    end: end.subarray(s, e),
    dest: { buffer: slab, offsets: offsets.subarray(0, m) },
  });
  if (res.errors.size) throw [...res.errors.values()][0];
  bytes += res.stats.bytes;
  prepare += res.stats.prepareSeconds;
  steals += res.stats.workers.reduce((a, w) => a + w.stolen, 0);
  sampler.sample();
  c.progress(e, n);
}
const seconds = (performance.now() - t0) / 1000;
const pinned = pool.workers.map((w) => w.pinnedCpu).join(",");
const backend = pool.workers[0].backend;
await pool.close();
c.finish({
  spec,
  slab,
  index,
  seconds,
  bytes,
  sampler,
  sync: false,
  queueDepth: spec.qd,
  ioThreads: workers,
  note: `WorkerPool.readInto, ${workers} workers pinned to CPUs ${pinned}, ${backend} ring each at QD ${
    Math.floor(spec.qd / workers)
  }; ${batch}-chunk batches into one shared 4096-aligned slab; resolve+group on the main thread ${
    (prepare * 1e3).toFixed(0)
  } ms in all; ${steals} steals`,
  extra: { backend, workers, prepare_seconds: prepare },
});
