// node:fs peers: fs.readSync and fs.promises FileHandle.read, positional
// reads of the same list into the same kind of slab. Runs under Node
// (peer_node.mjs), Deno's Node compatibility (deno run peer_node.mjs) and Bun
// (peer_bun.ts). Mode "sync" or "promises" from the spec's impl id suffix.
import fs from "node:fs";
import process from "node:process";
import * as c from "./child.mjs";

/** @param {import("./child.mjs").Spec} spec */
export async function main(spec = c.parseSpec()) {
  const mode = spec.impl.endsWith("-promises") ? "promises" : "sync";
  const sampler = new c.ThreadSampler();
  const index = c.loadIndex(spec.index, spec.reads);
  const { slab, align } = await c.alignedSlab(spec.batch * spec.blockSize, spec.data);
  c.prefault(slab);
  const flags = fs.constants.O_RDONLY | (spec.direct ? fs.constants.O_DIRECT : 0);
  const bs = spec.blockSize, batch = spec.batch, n = index.length;
  let seconds = 0;
  let bytes = 0;
  if (mode === "sync") {
    const fd = fs.openSync(spec.data, flags);
    const t0 = performance.now();
    for (let s = 0; s < n; s += batch) {
      const e = Math.min(n, s + batch);
      for (let i = s; i < e; i++) {
        const got = fs.readSync(fd, slab, (i - s) * bs, bs, index[i] * bs);
        if (got !== bs) throw new Error(`short read at chunk ${i}: ${got}`);
        bytes += got;
      }
      sampler.sample();
      c.progress(e, n);
    }
    seconds = (performance.now() - t0) / 1000;
    fs.closeSync(fd);
  } else {
    const fh = await fs.promises.open(spec.data, flags);
    const t0 = performance.now();
    for (let s = 0; s < n; s += batch) {
      const e = Math.min(n, s + batch);
      let next = s;
      const lane = async () => {
        while (next < e) {
          const i = next++;
          const { bytesRead } = await fh.read(slab, (i - s) * bs, bs, index[i] * bs);
          if (bytesRead !== bs) throw new Error(`short read at chunk ${i}: ${bytesRead}`);
          bytes += bytesRead;
        }
      };
      await Promise.all(Array.from({ length: Math.min(spec.qd, e - s) }, lane));
      sampler.sample();
      c.progress(e, n);
    }
    seconds = (performance.now() - t0) / 1000;
    await fh.close();
  }
  const how = mode === "sync"
    ? "fs.readSync(fd, slab, off, len, pos), one fd"
    : `fs.promises FileHandle.read, one handle, ${spec.qd} reads in flight (awaited lanes)`;
  c.finish({
    spec,
    slab,
    index,
    seconds,
    bytes,
    sampler,
    sync: mode === "sync",
    queueDepth: mode === "sync" ? 1 : spec.qd,
    note: `${how}; slab align ${align}`,
    // Node starts its libuv pool before user code runs, so the sampler sees no new threads.
    ioThreads: mode === "promises" && c.runtimeName() === "node"
      ? Number(process.env.UV_THREADPOOL_SIZE) || 4
      : undefined,
  });
}
