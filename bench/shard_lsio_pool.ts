// The shard4k LSIO worker-pool child, the same file under Deno and Bun: every
// pass is one WorkerPool.readInto call with every chunk of the selected shards,
// each chunk into its own place of one shared final array (4096-aligned,
// prefaulted, reused by every pass), one pinned worker per core, each ring at
// QD spec.qd / workers; tasks of neighbouring chunks are merged into reads of
// up to 256 KiB (the pool's default planning).
import * as c from "./child.mjs";
import * as sc from "./shard_child.mjs";

const spec = sc.parseShardSpec();
const sampler = new c.ThreadSampler();
const mod = await import("../mod.ts");
const cores = navigator.hardwareConcurrency;
const pool = await mod.WorkerPool.open({ queueDepth: Math.max(1, Math.floor(spec.qd / cores)) });
const { ids, paths, file, chunk } = sc.loadPass(spec);
const bs = spec.blockSize, m = ids.length;
const { start, end, offsets } = sc.passRanges(chunk, bs);
const final = await mod.allocAligned(m * bs, { shared: true });
c.prefault(final);
let bytes = 0, issued = 0;
const t0 = performance.now();
for (let p = 0; p < spec.passes; p++) {
  const res = await pool.readInto({ paths, file, start, end, dest: { buffer: final, offsets } });
  if (res.errors.size) throw [...res.errors.values()][0];
  bytes += res.stats.bytes;
  issued += res.stats.readsIssued;
  sampler.sample();
  c.progress((p + 1) * m, spec.passes * m);
}
const seconds = (performance.now() - t0) / 1000;
const workers = pool.size;
await pool.close();
c.finish({
  spec,
  slab: final,
  index: sc.allReads(ids, spec.passes),
  seconds,
  bytes,
  sampler,
  sync: false,
  queueDepth: spec.qd,
  ioThreads: workers,
  note: `WorkerPool.readInto, ${workers} pinned workers (one ring each at QD ${Math.floor(spec.qd / cores)}), ` +
    `${spec.passes} passes of ${m} requests into one shared final ${
      (m * bs) / 2 ** 20
    } MiB array; ${issued} reads issued ` +
    `(${((m * spec.passes) / issued).toFixed(2)} chunks per read)`,
  extra: { reads_issued: issued, requests: m * spec.passes, passes: spec.passes },
});
