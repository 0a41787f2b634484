/**
 * Results: the records, the text table, bench/results/<workload>.json and a
 * plain SVG bar chart of chunks/s.
 *
 * @module
 */
export const RESULTS_DIR = new URL("./results/", import.meta.url).pathname;

/** One implementation's result on one workload. */
export interface BenchRecord {
  workload: string;
  impl: string;
  label: string;
  runtime: string;
  runtime_version: string;
  status: "ok" | "skipped" | "failed";
  /** Threads issuing reads (see note): 1 for sync loops and fio's job. */
  threads: number | null;
  /** Peak OS threads of the process (sampled). */
  os_threads: number | null;
  queue_depth: number;
  chunks: number;
  seconds: number | null;
  chunks_per_s: number | null;
  bytes_per_s: number | null;
  peak_rss_bytes: number | null;
  cache: "hot" | "cold";
  ratio_vs_lsio: number | null;
  /** Made by --quick (small sizes): a smoke run, not the figures to quote. */
  quick: boolean;
  note: string;
  /** chunks/s of every run when --repeat > 1 (the record is the median run). */
  runs_chunks_per_s?: (number | null)[];
}

const fmtInt = (n: number) => Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
const fmtMiB = (b: number | null) => (b === null ? "-" : `${(b / 2 ** 20).toFixed(0)} MiB`);

/** Fills ratio_vs_lsio against the record with id `base`. */
export function addRatios(records: BenchRecord[], base: string): void {
  const ref = records.find((r) => r.impl === base && r.chunks_per_s);
  for (const r of records) {
    r.ratio_vs_lsio = ref?.chunks_per_s && r.chunks_per_s ? r.chunks_per_s / ref.chunks_per_s : null;
  }
}

/** The table as text. */
export function table(records: BenchRecord[]): string {
  const head = ["impl", "runtime", "thr", "os thr", "QD", "chunks", "chunks/s", "MB/s", "peak RSS", "vs LSIO"];
  const rows = records.map((r) =>
    r.status !== "ok" ? [r.label, r.runtime, "-", "-", "-", "-", r.status, "-", "-", "-"] : [
      r.label,
      `${r.runtime} ${r.runtime_version}`,
      String(r.threads ?? "-"),
      String(r.os_threads ?? "-"),
      String(r.queue_depth),
      fmtInt(r.chunks),
      fmtInt(r.chunks_per_s!),
      (r.bytes_per_s! / 1e6).toFixed(0),
      fmtMiB(r.peak_rss_bytes),
      r.ratio_vs_lsio === null ? "-" : `${r.ratio_vs_lsio.toFixed(2)}x`,
    ]
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const left = new Set([0, 1]);
  const line = (cells: string[]) =>
    cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A horizontal bar chart of chunks/s, one bar per implementation. */
export function svg(records: BenchRecord[], title: string, subtitle: string): string {
  const rowH = 26, labelW = 340, barW = 460, valueW = 170, top = 48, bottom = 28;
  const width = labelW + barW + valueW;
  const height = top + rowH * records.length + bottom;
  const max = Math.max(1, ...records.map((r) => r.chunks_per_s ?? 0));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="40" fill="#555">${esc(`chunks/s, longer is faster; ${subtitle}`)}</text>`,
  ];
  records.forEach((r, i) => {
    const y = top + i * rowH;
    const color = r.impl.startsWith("lsio") ? "#1f6feb" : r.impl === "fio" ? "#8250df" : "#8c959f";
    out.push(`<text x="${labelW - 8}" y="${y + 17}" text-anchor="end">${esc(`${r.label} (${r.runtime})`)}</text>`);
    if (r.status === "ok" && r.chunks_per_s) {
      const w = Math.max(1, (r.chunks_per_s / max) * barW);
      out.push(`<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${color}"/>`);
      const ratio = r.ratio_vs_lsio === null ? "" : ` (${r.ratio_vs_lsio.toFixed(2)}x)`;
      out.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 17}">${fmtInt(r.chunks_per_s)}${ratio}</text>`);
    } else {
      out.push(`<text x="${labelW + 6}" y="${y + 17}" fill="#cf222e">${r.status}</text>`);
    }
  });
  out.push(
    `<text x="10" y="${height - 10}" fill="#555" font-size="11">${esc(`ratios vs LSIO (Deno) in the same run`)}</text>`,
  );
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

/** Writes bench/results/<workload>.json and .svg; returns their paths. */
export function writeResults(
  workload: string,
  records: BenchRecord[],
  title: string,
  subtitle: string,
  dir: string = RESULTS_DIR,
): string[] {
  Deno.mkdirSync(dir, { recursive: true });
  const json = `${dir}${workload}.json`, chart = `${dir}${workload}.svg`;
  Deno.writeTextFileSync(json, JSON.stringify(records, null, 2) + "\n");
  Deno.writeTextFileSync(chart, svg(records, title, subtitle));
  return [json, chart];
}
