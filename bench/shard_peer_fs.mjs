// The shard4k node:fs peer: fs.readSync of every chunk (4 KiB) into its
// place of the final array, one fd per shard file opened once. Runs under
// Bun (`bun bench/shard_peer_fs.mjs <spec>`), Node and Deno alike.
import fs from "node:fs";
import * as c from "./child.mjs";
import * as sc from "./shard_child.mjs";

const spec = sc.parseShardSpec();
const sampler = new c.ThreadSampler();
const { ids, paths, file, chunk } = sc.loadPass(spec);
const bs = spec.blockSize, m = ids.length;
const { slab, align } = await c.alignedSlab(m * bs, paths[0]);
c.prefault(slab);
const fds = paths.map((p) => fs.openSync(p, "r"));
let bytes = 0;
const t0 = performance.now();
for (let p = 0; p < spec.passes; p++) {
  for (let i = 0; i < m; i++) {
    const got = fs.readSync(fds[file[i]], slab, i * bs, bs, chunk[i] * bs);
    if (got !== bs) throw new Error(`short read at chunk ${i}: ${got}`);
    bytes += got;
  }
  sampler.sample();
  c.progress((p + 1) * m, spec.passes * m);
}
const seconds = (performance.now() - t0) / 1000;
for (const fd of fds) fs.closeSync(fd);
c.finish({
  spec,
  slab,
  index: sc.allReads(ids, spec.passes),
  seconds,
  bytes,
  sampler,
  sync: true,
  queueDepth: 1,
  note: `fs.readSync(fd, final, i * ${bs}, ${bs}, pos) per chunk, one fd per shard (opened once); ` +
    `${spec.passes} passes of ${m} chunks into one final array; align ${align}`,
  extra: { reads_issued: m * spec.passes, requests: m * spec.passes },
});
