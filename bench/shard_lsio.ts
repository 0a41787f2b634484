// The shard4k LSIO child, the same file under Deno (`deno run -A
// bench/shard_lsio.ts <spec>`) and Bun (`bun bench/shard_lsio.ts <spec>`):
// every pass is one readColumnar call with every chunk of the selected
// shards, each chunk into its own place of one final array (4096-aligned,
// prefaulted, reused by every pass), with the spec's `plan` option.
import * as c from "./child.mjs";
import * as sc from "./shard_child.mjs";
import type { ReadOptions } from "../mod.ts";

const spec = sc.parseShardSpec();
const sampler = new c.ThreadSampler();
const loaded = await load();
if (loaded) await run(loaded.mod, loaded.reader);

async function load(): Promise<{ mod: typeof import("../mod.ts"); reader: import("../mod.ts").Reader } | undefined> {
  try {
    const mod = await import("../mod.ts");
    return { mod, reader: await mod.Reader.open({ queueDepth: spec.qd }) };
  } catch (e) {
    sampler.stop();
    // Under Deno, LSIO's home runtime, a load failure is a failed row, not a skip.
    if (c.runtimeName() === "deno") throw e;
    c.skip(`LSIO does not load under ${c.runtimeName()} ${c.runtimeVersion()}: ${(e as Error).message ?? e}`);
    return undefined;
  }
}

async function run(mod: typeof import("../mod.ts"), reader: import("../mod.ts").Reader): Promise<void> {
  const { ids, paths, file, chunk } = sc.loadPass(spec);
  const bs = spec.blockSize, m = ids.length;
  const { start, end, offsets } = sc.passRanges(chunk, bs);
  const final = await mod.allocAligned(m * bs);
  c.prefault(final);
  // `plan` is the planner's per-call option; a ReadOptions without it (before
  // the planner lands) ignores the key, so plan on then reads like plan off.
  const options: ReadOptions = { plan: spec.plan ?? false }; // off means off, not the default "ordered"

  let bytes = 0, native = 0, issued = 0, misaligned = 0;
  let planSeconds: number | undefined, plannedReads: number | undefined, plannedBytes: number | undefined;
  const t0 = performance.now();
  for (let p = 0; p < spec.passes; p++) {
    const res = await reader.readColumnar(
      { paths, file, start, end, dest: { buffer: final, offsets } },
      options,
    );
    if (res.stats.failed) throw res.error(res.status.findIndex((st) => st !== 0));
    bytes += res.stats.bytes;
    native += res.stats.seconds;
    issued += res.stats.readsIssued;
    misaligned += res.stats.misaligned;
    // Planner statistics, where the reader reports them.
    const st = res.stats as { planSeconds?: number; plannedReads?: number; plannedBytes?: number };
    if (typeof st.planSeconds === "number") planSeconds = (planSeconds ?? 0) + st.planSeconds;
    if (typeof st.plannedReads === "number") plannedReads = (plannedReads ?? 0) + st.plannedReads;
    if (typeof st.plannedBytes === "number") plannedBytes = (plannedBytes ?? 0) + st.plannedBytes;
    sampler.sample();
    c.progress((p + 1) * m, spec.passes * m);
  }
  const seconds = (performance.now() - t0) / 1000;
  const info = reader.info;
  await reader.close();
  const requests = m * spec.passes;
  const planWord = spec.plan === false || spec.plan === undefined ? "plan off" : `plan ${JSON.stringify(spec.plan)}`;
  const planState = planSeconds !== undefined
    ? `planning ${(planSeconds * 1e3).toFixed(1)} ms in all` +
      (plannedReads !== undefined ? `; planner: ${plannedReads} reads covering ${plannedBytes} bytes` : "")
    : issued < requests
    ? "no stats.planSeconds"
    : spec.plan
    ? "no stats.planSeconds and one read per request: the planner has not landed, so this reads like plan off"
    : "one read per request";
  c.finish({
    spec,
    slab: final,
    index: sc.allReads(ids, spec.passes),
    seconds,
    bytes,
    sampler,
    sync: false,
    queueDepth: info.queueDepth,
    note: `readColumnar, ${planWord}: ${spec.passes} passes of ${m} requests over ${paths.length} shard files, ` +
      `dest = one final ${(m * bs) / 2 ** 20} MiB array (4096-aligned, prefaulted, reused); backend ${info.backend}; ` +
      `native time ${(100 * native / seconds).toFixed(0)}% of wall; ${issued} reads issued ` +
      `(${(requests / issued).toFixed(2)} chunks per read); ${planState}` +
      (misaligned ? `; ${misaligned} misaligned` : ""),
    extra: {
      backend: info.backend,
      native_seconds: native,
      reads_issued: issued,
      plan_seconds: planSeconds ?? null,
      planned_reads: plannedReads ?? null,
      planned_bytes: plannedBytes ?? null,
      requests,
    },
  });
}
