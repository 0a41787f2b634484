/**
 * fio as the reference: it replays the very same read list (a version 2
 * iolog, `--replay_no_stall`) with the io_uring engine, one job, the same
 * iodepth. fio reads into its own per-iodepth buffers, not a slab.
 *
 * @module
 */

/** Opens `path` for writing text in full (for iologs). */
function textWriter(path: string): { f: Deno.FsFile; write: (s: string) => void } {
  const f = Deno.openSync(path, { write: true, create: true, truncate: true });
  const enc = new TextEncoder();
  const write = (s: string) => {
    const b = enc.encode(s);
    let done = 0;
    while (done < b.length) done += f.writeSync(b.subarray(done));
  };
  return { f, write };
}

/** Writes a fio v2 iolog of the first `count` reads of `index`. */
export function writeIolog(path: string, data: string, index: Uint32Array, count: number, block: number): void {
  const { f, write } = textWriter(path);
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

/**
 * Writes a fio v2 iolog over several files: `passes` times the reads
 * `(files[file[i]], offset[i], length)`, every file opened once up front.
 */
export function writeIologFiles(
  path: string,
  files: string[],
  file: Uint32Array,
  offset: Float64Array,
  length: number,
  passes: number,
): void {
  const { f, write } = textWriter(path);
  try {
    write(`fio version 2 iolog\n${files.map((p) => `${p} add\n`).join("")}${files.map((p) => `${p} open\n`).join("")}`);
    // One pass as text once, then written `passes` times.
    const lines: string[] = [];
    for (let i = 0; i < file.length; i++) lines.push(`${files[file[i]]} read ${offset[i]} ${length}\n`);
    const pass = new TextEncoder().encode(lines.join(""));
    for (let p = 0; p < passes; p++) {
      let done = 0;
      while (done < pass.length) done += f.writeSync(pass.subarray(done));
    }
    write(files.map((p) => `${p} close\n`).join(""));
  } finally {
    f.close();
  }
}

/**
 * fio's command line for plain sequential reads of whole files: `files` one
 * after the other (`file_service_type=sequential`), `bs`-byte reads, the
 * whole list `loops` times. No iolog: fio generates the offsets itself.
 */
export function fioSeqArgs(o: { files: string[]; bs: number; qd: number; loops: number; cold: boolean }): string[] {
  return [
    "fio",
    "--name=lsio-bench-seq",
    "--thread",
    "--numjobs=1",
    "--ioengine=io_uring",
    `--iodepth=${o.qd}`,
    `--filename=${o.files.map((p) => p.replace(/:/g, "\\:")).join(":")}`,
    "--rw=read",
    `--bs=${o.bs}`,
    "--file_service_type=sequential",
    `--loops=${o.loops}`,
    "--direct=0",
    `--invalidate=${o.cold ? 1 : 0}`,
    "--output-format=json",
  ];
}
