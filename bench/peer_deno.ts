// Deno FsFile peers: "deno-fsfile-sync" (seekSync + readSync, one handle) and
// "deno-fsfile-async" (await seek + await read; a handle per lane, since a
// handle's position is shared state, and spec.qd lanes in flight).
import * as c from "./child.mjs";

const spec = c.parseSpec();
if (spec.direct) {
  c.skip("Deno.open has no O_DIRECT option");
} else {
  await run();
}

async function readFull(file: Deno.FsFile, view: Uint8Array): Promise<number> {
  let got = 0;
  while (got < view.length) {
    const n = await file.read(view.subarray(got));
    if (n === null) break;
    got += n;
  }
  return got;
}

function readFullSync(file: Deno.FsFile, view: Uint8Array): number {
  let got = 0;
  while (got < view.length) {
    const n = file.readSync(view.subarray(got));
    if (n === null) break;
    got += n;
  }
  return got;
}

async function run(): Promise<void> {
  const sync = spec.impl.endsWith("-sync");
  const sampler = new c.ThreadSampler();
  const index = c.loadIndex(spec.index, spec.reads);
  const { slab, align } = await c.alignedSlab(spec.batch * spec.blockSize, spec.data);
  c.prefault(slab);
  const bs = spec.blockSize, batch = spec.batch, n = index.length;
  let bytes = 0;
  const lanes = sync ? 1 : spec.qd;
  const files = Array.from({ length: lanes }, () => Deno.openSync(spec.data, { read: true }));
  const t0 = performance.now();
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    if (sync) {
      const f = files[0];
      for (let i = s; i < e; i++) {
        f.seekSync(index[i] * bs, Deno.SeekMode.Start);
        const got = readFullSync(f, slab.subarray((i - s) * bs, (i - s + 1) * bs));
        if (got !== bs) throw new Error(`short read at chunk ${i}: ${got}`);
        bytes += got;
      }
    } else {
      let next = s;
      const lane = async (f: Deno.FsFile) => {
        while (next < e) {
          const i = next++;
          await f.seek(index[i] * bs, Deno.SeekMode.Start);
          const got = await readFull(f, slab.subarray((i - s) * bs, (i - s + 1) * bs));
          if (got !== bs) throw new Error(`short read at chunk ${i}: ${got}`);
          bytes += got;
        }
      };
      await Promise.all(files.slice(0, Math.min(lanes, e - s)).map(lane));
    }
    sampler.sample();
    c.progress(e, n);
  }
  const seconds = (performance.now() - t0) / 1000;
  for (const f of files) f.close();
  c.finish({
    spec,
    slab,
    index,
    seconds,
    bytes,
    sampler,
    sync,
    queueDepth: lanes,
    note: sync
      ? `FsFile seekSync + readSync, one handle; slab align ${align}`
      : `FsFile await seek + await read, ${lanes} handles = ${lanes} reads in flight; slab align ${align}`,
  });
}
