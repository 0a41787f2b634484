// What the file itself says at detection time: ≤ 50 ms of O_DIRECT reads
// that may correct the sysfs guess (rule 4 of detectProfile), and how much of
// it sits in the page cache (rule 5, through `fincore`).
import * as fs from "node:fs";
import process from "node:process";
import { execFile } from "node:child_process";
import type { Measurement } from "./profiles.ts";
import type { DevicePart } from "./_sysfs.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Regular files this long or longer are measured (rule 4). */
export const MEASURE_MIN_BYTES = 8 * MiB;

/** Rule 4: the measurement corrects the sysfs guess. */
export function refine(part: DevicePart, m: Measurement): void {
  part.measured = m;
  const said = part.deviceProfile;
  const summary = `random 4 KiB O_DIRECT reads ${m.randomReadUs.toFixed(0)} µs (median of ${m.reads}), ` +
    `sequential ${m.sequentialMBps.toFixed(0)} MB/s, break-even gap ~${Math.round(m.breakEvenBytes / KiB)} KiB`;
  if (m.randomReadUs < 1000 && said === "hdd") {
    part.deviceProfile = "ssd";
    part.reason += `; but measured ${summary}: no seeks, so not a spinning disk → ssd`;
  } else if (m.randomReadUs > 2000 && said !== "hdd" && said !== "cloud") {
    part.deviceProfile = "hdd";
    part.reason += `; but measured ${summary}: random reads cost like seeks → hdd`;
  } else {
    part.reason += `; measured ${summary}`;
  }
}

/** ≤ ~50 ms of O_DIRECT reads: random 4 KiB (≤ 25 ms, ≤ 64 reads), then sequential 256 KiB (≤ 25 ms, ≤ 8 MiB). */
export function measure(file: string, size: number): Measurement | undefined {
  const O_DIRECT = fs.constants.O_DIRECT;
  if (!O_DIRECT) return undefined;
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | O_DIRECT);
  } catch {
    return undefined;
  }
  try {
    const SEQ = 256 * KiB, RND = 4 * KiB;
    const raw = new Uint8Array(SEQ + 4096);
    // Find a memory offset the device's DMA alignment accepts (EINVAL otherwise).
    let at = -1;
    for (let k = 0; k < 4096 && at < 0; k += 16) {
      try {
        fs.readSync(fd, raw, k, RND, 0);
        at = k;
      } catch (e) {
        if ((e as { code?: string }).code !== "EINVAL") return undefined;
      }
    }
    if (at < 0) return undefined;
    const now = () => Number(process.hrtime.bigint()) / 1e3; // µs
    const blocks = Math.floor(size / RND);
    let seed = 0x9e3779b9 ^ blocks;
    const rnd = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 4294967296;
    };
    const lat: number[] = [];
    const t0 = now();
    while (lat.length < 64 && now() - t0 < 25_000) {
      const pos = Math.floor(rnd() * blocks) * RND;
      const a = now();
      if (fs.readSync(fd, raw, at, RND, pos) <= 0) break;
      lat.push(now() - a);
    }
    if (lat.length === 0) return undefined;
    lat.sort((x, y) => x - y);
    const randomReadUs = lat[Math.floor(lat.length / 2)];
    // Sequential: the first read pays a seek and is not counted.
    let pos = Math.floor(rnd() * Math.max(1, Math.floor((size - 9 * MiB) / SEQ))) * SEQ;
    let bytes = 0, us = 0, n = 0;
    const t1 = now();
    while (n < 33 && now() - t1 < 25_000) {
      if (pos + SEQ > size) pos = 0;
      const a = now();
      const got = fs.readSync(fd, raw, at, SEQ, pos);
      if (got <= 0) break;
      if (n > 0) (bytes += got), (us += now() - a);
      pos += got;
      n++;
    }
    const sequentialMBps = us > 0 ? bytes / us : 0; // bytes/µs = MB/s
    return {
      randomReadUs: Math.round(randomReadUs * 10) / 10,
      sequentialMBps: Math.round(sequentialMBps),
      breakEvenBytes: Math.round(randomReadUs * sequentialMBps),
      reads: lat.length,
    };
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** Bytes of `file` in the page cache (fincore), or undefined when unknown. */
export function residentBytes(file: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    try {
      execFile(
        "fincore",
        ["--bytes", "--noheadings", "--output", "RES", file],
        { encoding: "utf8", timeout: 5000 },
        (err, stdout) => {
          const n = err ? NaN : Number(String(stdout).trim());
          resolve(Number.isFinite(n) ? n : undefined);
        },
      );
    } catch {
      resolve(undefined);
    }
  });
}
