// The LSIO child, the same code under Deno (lsio_deno.ts) and Bun
// (lsio_bun.ts): batches of spec.batch chunks, each read with readColumnar
// into its own place of one prefaulted 4096-aligned slab reused per batch.
import * as c from "./child.mjs";

export async function main(): Promise<void> {
  const spec = c.parseSpec();
  const sampler = new c.ThreadSampler();
  let mod: typeof import("../mod.ts");
  let reader: import("../mod.ts").Reader;
  try {
    mod = await import("../mod.ts");
    reader = await mod.Reader.open({
      queueDepth: spec.qd,
      direct: spec.direct,
      backend: (spec.backend ?? "io_uring") as "io_uring" | "threads",
    });
  } catch (e) {
    sampler.stop();
    // Under Deno, LSIO's home runtime, a load failure is a failed row, not a skip.
    if (c.runtimeName() === "deno") throw e;
    c.skip(`LSIO does not load under ${c.runtimeName()} ${c.runtimeVersion()}: ${(e as Error).message ?? e}`);
    return;
  }
  const index = c.loadIndex(spec.index, spec.reads);
  const bs = spec.blockSize, batch = spec.batch, n = index.length;
  const slab = await mod.allocAligned(batch * bs);
  c.prefault(slab);
  const start = new Float64Array(n), end = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    start[i] = index[i] * bs;
    end[i] = start[i] + bs;
  }
  const file = new Uint32Array(batch); // one file: index 0
  const offsets = new Float64Array(batch);
  for (let i = 0; i < batch; i++) offsets[i] = i * bs;
  let bytes = 0, native = 0, issued = 0, misaligned = 0;
  const t0 = performance.now();
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch), m = e - s;
    const res = await reader.readColumnar({
      paths: [spec.data],
      file: file.subarray(0, m),
      start: start.subarray(s, e),
      end: end.subarray(s, e),
      dest: { buffer: slab, offsets: offsets.subarray(0, m) },
    }, { plan: false }); // raw reads: what this workload measures
    if (res.stats.failed) throw res.error(res.status.findIndex((st) => st !== 0));
    bytes += res.stats.bytes;
    native += res.stats.seconds;
    issued += res.stats.readsIssued;
    misaligned += res.stats.misaligned;
    sampler.sample();
    c.progress(e, n);
  }
  const seconds = (performance.now() - t0) / 1000;
  const info = reader.info;
  await reader.close();
  c.finish({
    spec,
    slab,
    index,
    seconds,
    bytes,
    sampler,
    sync: false,
    queueDepth: info.queueDepth,
    note: `readColumnar, ${batch}-chunk batches into one 4096-aligned slab; backend ${info.backend}` +
      (info.backend === "threads" ? ` (${info.threads} threads)` : "") +
      `; native time ${(100 * native / seconds).toFixed(0)}% of wall; ${issued} reads issued` +
      (misaligned ? `; ${misaligned} misaligned` : ""),
    extra: { backend: info.backend, native_seconds: native },
  });
}
