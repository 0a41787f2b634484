/**
 * fio as the reference: it replays the very same read list (a version 2
 * iolog, `--replay_no_stall`) with the io_uring engine, one job, the same
 * iodepth. fio reads into its own per-iodepth buffers, not a slab.
 *
 * @module
 */

/** Writes a fio v2 iolog of the first `count` reads of `index`. */
export function writeIolog(path: string, data: string, index: Uint32Array, count: number, block: number): void {
  const f = Deno.openSync(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  const write = (s: string) => {
    const b = enc.encode(s);
    let done = 0;
    while (done < b.length) done += f.writeSync(b.subarray(done));
  };
  try {
    write(`fio version 2 iolog\n${data} add\n${data} open\n`);
    const step = 1 << 15;
    for (let s = 0; s < count; s += step) {
      const lines: string[] = [];
      for (let i = s; i < Math.min(count, s + step); i++) lines.push(`${data} read ${index[i] * block} ${block}\n`);
      write(lines.join(""));
    }
    write(`${data} close\n`);
  } finally {
    f.close();
  }
}

/** fio's command line. */
export function fioArgs(o: { iolog: string; qd: number; direct: boolean; cold: boolean }): string[] {
  return [
    "fio",
    "--name=lsio-bench",
    "--thread",
    "--numjobs=1",
    "--ioengine=io_uring",
    `--iodepth=${o.qd}`,
    `--read_iolog=${o.iolog}`,
    "--replay_no_stall=1",
    `--direct=${o.direct ? 1 : 0}`,
    `--invalidate=${o.cold ? 1 : 0}`,
    "--output-format=json",
  ];
}

/** fio's version, or undefined when fio is not installed. */
export function fioVersion(): string | undefined {
  try {
    const out = new Deno.Command("fio", { args: ["--version"], stdout: "piped", stderr: "null" }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim().replace(/^fio-/, "") : undefined;
  } catch {
    return undefined;
  }
}

/** Chunks, bytes, seconds and IOPS from fio's JSON output. */
export function parseFio(stdout: string): { chunks: number; bytes: number; seconds: number; iops: number } {
  // fio may print notes before the JSON object.
  const json = JSON.parse(stdout.slice(stdout.indexOf("{")));
  const read = json.jobs[0].read;
  if (json.jobs[0].error) throw new Error(`fio job error ${json.jobs[0].error}`);
  return { chunks: read.total_ios, bytes: read.io_bytes, seconds: read.runtime / 1000, iops: read.iops };
}
