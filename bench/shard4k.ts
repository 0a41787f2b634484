/**
 * The shard4k workload's parent side: its layout, the data set and read list,
 * and the table of reads issued and planning time next to chunks/s.
 *
 * The data set is laid out like a sharded zarr array on disk: `count` shard
 * files of `shardBytes`, each holding 4 KiB chunks back to back. The read
 * list is every chunk of a random half of the shards (the rest just exist),
 * ordered by (shard, chunk) as zarr readers produce them; every chunk lands in
 * its own place of one final array, and the list is read `passes` times into
 * that same array. Requests that are adjacent in the file and in the array:
 * what an IO planner merges.
 *
 * @module
 */
import { BLOCK, DATA_DIR, ensureShardFiles, selectShards, warmAll, writeShardIndex } from "./data.ts";
import { writeIologFiles } from "./fio.ts";
import type { BenchRecord } from "./report.ts";

const MiB = 2 ** 20;

/** The shape of a shard4k data set and its read list. */
export interface ShardLayout {
  /** Shard files. */
  count: number;
  /** Bytes per shard file (a multiple of 4 KiB). */
  shardBytes: number;
  /** Shards read (every chunk of each). */
  selected: number;
  /** Times the read list is read, into the same final array. */
  passes: number;
}

/** A shard4k record: a BenchRecord plus what the planner did. */
export interface ShardRecord extends BenchRecord {
  /** Requests in the run (every pass). */
  requests?: number | null;
  /** Reads issued in the run: syscalls / SQEs (LSIO stats.readsIssued, fio total_ios). */
  reads_issued?: number | null;
  /** Time LSIO spent planning over the run (stats.planSeconds), when it reports it. */
  plan_seconds?: number | null;
  /** Reads LSIO's planner made of the requests, over the run (stats.plannedReads), when reported. */
  planned_reads?: number | null;
  /** Bytes those reads covered, gaps included (stats.plannedBytes), when reported. */
  planned_bytes?: number | null;
  /** Passes over the read list this implementation made. */
  passes?: number | null;
}

/** The prepared data set of one run. */
export interface ShardData {
  dir: string;
  /** Every shard file. */
  paths: string[];
  /** The selected shards, ascending. */
  selected: Uint32Array;
  /** Files of the selected shards, in order. */
  selectedPaths: string[];
  chunksPerShard: number;
  /** Requests per pass. */
  perPass: number;
  /** Uint32 global chunk ids of one pass. */
  index: string;
  /** fio iolog of every read of the run (4 KiB, the same order), when asked for. */
  iolog: string;
  note: string;
}

/** Writes (or reuses) the shard files, the read list and the iolog; warms the page cache. */
export function prepareShards(
  name: string,
  layout: ShardLayout,
  seed: number,
  withIolog: boolean,
  onProgress: (f: number, what: string) => void,
): ShardData {
  const cps = layout.shardBytes / BLOCK;
  const dir = `${DATA_DIR}${name}-${layout.count}x${layout.shardBytes / MiB}M`;
  const { paths, made } = ensureShardFiles(
    dir,
    layout.count,
    layout.shardBytes,
    (f) => onProgress(f * 0.7, "writing shards"),
  );
  const selected = selectShards(layout.count, layout.selected, seed);
  const selectedPaths = Array.from(selected, (s) => paths[s]);
  const tag = `${name}-${layout.count}x${layout.shardBytes / MiB}M-sel${layout.selected}-seed${seed}`;
  const index = `${DATA_DIR}${tag}.idx`;
  const ids = writeShardIndex(index, selected, cps);
  const iolog = `${DATA_DIR}${tag}-x${layout.passes}.iolog`;
  if (withIolog) {
    onProgress(0.75, "writing fio iolog");
    const file = new Uint32Array(ids.length), offset = new Float64Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      file[i] = Math.floor(i / cps); // shards in selected order, each a run of cps chunks
      offset[i] = (ids[i] % cps) * BLOCK;
    }
    writeIologFiles(iolog, selectedPaths, file, offset, BLOCK, layout.passes);
  }
  onProgress(0.9, "warming the page cache");
  const res = warmAll(paths);
  const note = `${made ? "wrote" : "reused"} ${layout.count} shards of ${layout.shardBytes / MiB} MiB in ${dir}; ` +
    `selected ${layout.selected}: ${Array.from(selected).join(",")}; page cache ${
      res === undefined ? "unknown (no fincore)" : `${(res * 100).toFixed(0)}% resident`
    }`;
  return { dir, paths, selected, selectedPaths, chunksPerShard: cps, perPass: ids.length, index, iolog, note };
}

const fmtInt = (n: number) => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/**
 * The planner's view of a shard4k run: chunks/s, reads issued per pass,
 * chunks per read and planning time per 10^6 requests.
 */
export function shardTable(records: ShardRecord[], passes: number): string {
  const head = ["impl", "runtime", "chunks/s", "vs LSIO", "reads issued/pass", "chunks/read", "plan ms/10^6 req"];
  const rows = records.map((r) => {
    if (r.status !== "ok") return [r.label, r.runtime, r.status, "-", "-", "-", "-"];
    const runs = r.passes ?? passes;
    const issued = r.reads_issued ?? null;
    const requests = r.requests ?? r.chunks;
    return [
      r.label,
      `${r.runtime} ${r.runtime_version}`,
      fmtInt(r.chunks_per_s!),
      r.ratio_vs_lsio === null ? "-" : `${r.ratio_vs_lsio.toFixed(2)}x`,
      issued === null ? "-" : fmtInt(issued / runs),
      issued === null ? "-" : (requests / issued).toFixed(2),
      r.plan_seconds === null || r.plan_seconds === undefined
        ? (r.impl.startsWith("lsio-") ? "not reported" : "-")
        : (r.plan_seconds / requests * 1e6 * 1e3).toFixed(1),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
