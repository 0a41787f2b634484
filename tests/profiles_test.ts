// Storage profiles of the IO planner (src/profiles.ts): the defaults,
// overrides, and device detection (sysfs, page cache, measurement, cache file).
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import {
  type DetectedProfile,
  detectProfile,
  type PlanThresholds,
  PROFILES,
  resolvePlanOptions,
} from "../src/profiles.ts";
import { profileCachePath } from "../src/_profile_cache.ts";
import { Reader } from "../mod.ts";
import { assert, assertEquals, assertGreater, assertStrictEquals, assertThrows } from "./_assert.ts";
import { removeDir, tempDir } from "./_helpers.ts";
import { test } from "./_shim.ts";

const KiB = 1024, MiB = 1024 * KiB;
const NAMES = ["ram", "nvme", "ssd", "hdd", "cloud"];

/** Runs fn with XDG_CACHE_HOME pointing at a fresh directory; returns that directory. */
async function withCacheHome(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir("lsio-profiles-cache-");
  const before = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = dir;
  try {
    await fn(dir);
  } finally {
    if (before === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = before;
    removeDir(dir);
  }
}

/** A file of `bytes` bytes, written through to the device. */
function writeFile(dir: string, name: string, bytes: number): string {
  const p = path.join(dir, name);
  const fd = fs.openSync(p, "w");
  try {
    const piece = new Uint8Array(MiB).fill(0x5a);
    for (let off = 0; off < bytes; off += piece.length) {
      fs.writeSync(fd, piece, 0, Math.min(piece.length, bytes - off), off);
    }
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return p;
}

function checkShape(d: DetectedProfile, what: string): void {
  assert(NAMES.includes(d.profile), `${what}: profile ${d.profile}`);
  assert(NAMES.includes(d.deviceProfile), `${what}: deviceProfile ${d.deviceProfile}`);
  assert(typeof d.device === "string" && d.device.length > 0, `${what}: device ${d.device}`);
  assert(typeof d.reason === "string" && d.reason.length > 10, `${what}: reason ${d.reason}`);
  assertEquals(typeof d.cached, "boolean");
}

test("profiles: each profile's thresholds", () => {
  assertEquals(Object.keys(PROFILES).sort(), [...NAMES].sort());
  assertEquals(PROFILES.ram, { mergeGap: 4 * KiB, mergeMax: 256 * KiB, splitSize: 0 });
  assertEquals(PROFILES.nvme, { mergeGap: 4 * KiB, mergeMax: 256 * KiB, splitSize: 0 });
  assertEquals(PROFILES.ssd, { mergeGap: 32 * KiB, mergeMax: 512 * KiB, splitSize: 0 });
  assertEquals(PROFILES.hdd, { mergeGap: 1 * MiB, mergeMax: 8 * MiB, splitSize: 0 });
  assertEquals(PROFILES.cloud, { mergeGap: 1 * MiB, mergeMax: 16 * MiB, splitSize: 8 * MiB });
  for (const [name, p] of Object.entries(PROFILES)) {
    assert(p.mergeGap < p.mergeMax, `${name}: a gap shorter than the longest merged read`);
    assert(p.splitSize === 0 || p.splitSize <= p.mergeMax, `${name}: split pieces no longer than a merged read`);
  }
  // Slower per read → merge over longer gaps.
  assert(PROFILES.ram.mergeGap <= PROFILES.ssd.mergeGap && PROFILES.ssd.mergeGap <= PROFILES.hdd.mergeGap);
  // The defaults cannot be changed by accident.
  assert(Object.isFrozen(PROFILES) && Object.isFrozen(PROFILES.hdd));
  assertThrows(() => {
    (PROFILES.hdd as { mergeGap: number }).mergeGap = 1;
  }, TypeError);
  assertEquals(PROFILES.hdd.mergeGap, MiB);
});

test("profiles: resolvePlanOptions takes the profile's defaults, explicit thresholds override", () => {
  for (const name of NAMES) {
    const r = resolvePlanOptions({ profile: name as PlanThresholds["profile"] });
    assertEquals(r, { profile: name, ...PROFILES[name as keyof typeof PROFILES] });
  }
  assertEquals(resolvePlanOptions({ profile: "hdd", mergeGap: 0 }), {
    profile: "hdd",
    mergeGap: 0,
    mergeMax: 8 * MiB,
    splitSize: 0,
  });
  assertEquals(resolvePlanOptions({ profile: "ram", mergeMax: MiB, splitSize: 2 * MiB, mergeGap: 64 }), {
    profile: "ram",
    mergeGap: 64,
    mergeMax: MiB,
    splitSize: 2 * MiB,
  });
  // "auto" and no profile: the detected one, else ssd; an explicit profile ignores the detected one.
  assertEquals(resolvePlanOptions({ profile: "auto" }, { profile: "nvme" }).profile, "nvme");
  assertEquals(resolvePlanOptions({}, { profile: "cloud" }).splitSize, 8 * MiB);
  assertEquals(resolvePlanOptions(undefined, { profile: "hdd" }).profile, "hdd");
  assertEquals(resolvePlanOptions(undefined), { profile: "ssd", ...PROFILES.ssd });
  assertEquals(resolvePlanOptions({ profile: "ram" }, { profile: "hdd" }).profile, "ram");
  assertEquals(resolvePlanOptions({ profile: "auto", mergeMax: 1 }, { profile: "hdd" }).mergeMax, 1);
  // The result is a copy: changing it leaves PROFILES alone.
  const r = resolvePlanOptions({ profile: "ssd" });
  r.mergeGap = 7;
  assertEquals(PROFILES.ssd.mergeGap, 32 * KiB);
});

test("profiles: resolvePlanOptions refuses unknown profiles and bad thresholds", () => {
  assertThrows(() => resolvePlanOptions({ profile: "tape" as "hdd" }), TypeError, '"tape"');
  assertThrows(() => resolvePlanOptions(null as unknown as PlanThresholds), TypeError);
  for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) {
    assertThrows(() => resolvePlanOptions({ mergeGap: bad }), RangeError, "mergeGap");
    assertThrows(() => resolvePlanOptions({ mergeMax: bad }), RangeError, "mergeMax");
    assertThrows(() => resolvePlanOptions({ splitSize: bad }), RangeError, "splitSize");
  }
  assertThrows(() => resolvePlanOptions({ mergeGap: "4096" as unknown as number }), TypeError, "a string");
});

test("profiles: detectProfile on a file under /tmp answers with a reason and caches per device", async () => {
  const dir = tempDir("lsio-profiles-");
  try {
    const file = writeFile(dir, "data.bin", 16 * MiB);
    await withCacheHome(async (cacheHome) => {
      assertEquals(profileCachePath(), path.join(cacheHome, "lsio", "profiles.json"));
      const t0 = performance.now();
      const first = await detectProfile(file, { pageCache: false });
      const ms = performance.now() - t0;
      checkShape(first, "first");
      assertEquals(first.cached, false);
      assertEquals(first.profile, first.deviceProfile, "pageCache: false → the device's profile");
      if (first.fsType === "tmpfs") {
        // /tmp is tmpfs on some machines: memory, nothing to cache.
        assertEquals(first.profile, "ram");
        return;
      }
      assert(first.sysfs !== undefined, `a block device under /tmp: ${first.reason}`);
      assertEquals(typeof first.sysfs.logicalBlockSize, "number");
      assert(ms < 2000, `detection took ${ms.toFixed(0)} ms`);
      if (first.measured) {
        assertGreater(first.measured.reads, 0);
        assertGreater(first.measured.randomReadUs, 0);
        assert(first.reason.includes("measured"), first.reason);
      }
      console.log(`detectProfile(${file}): ${JSON.stringify(first)} in ${ms.toFixed(1)} ms`);

      const cacheFile = profileCachePath();
      const stored = JSON.parse(fs.readFileSync(cacheFile, "utf8"));
      assertEquals(stored.version, 1);
      const entries = Object.values(stored.devices) as { device: string; deviceProfile: string }[];
      assertEquals(entries.length, 1);
      assertEquals(entries[0].device, first.device);
      assertEquals(entries[0].deviceProfile, first.deviceProfile);

      // Second call: from the cache, same answer, and another path on the same device too.
      const second = await detectProfile(file, { pageCache: false });
      assertEquals(second.cached, true);
      assertEquals([second.profile, second.device, second.measured], [first.profile, first.device, first.measured]);
      assert(second.reason.includes(cacheFile), second.reason);
      const sibling = await detectProfile(path.join(dir, "not-there-yet", "chunk"), { pageCache: false });
      assertEquals([sibling.cached, sibling.profile, sibling.device], [true, first.profile, first.device]);

      // refresh detects again; cache: false neither reads nor writes the file.
      assertEquals((await detectProfile(file, { pageCache: false, refresh: true })).cached, false);
      fs.rmSync(cacheFile);
      const uncached = await detectProfile(file, { pageCache: false, cache: false, measure: false });
      assertEquals(uncached.cached, false);
      assert(!fs.existsSync(cacheFile), "cache: false writes no cache file");

      // The file was just written: fully in the page cache → "ram", the device's word in the reason.
      const hot = await detectProfile(file);
      if (hot.profile === "ram") {
        assert(hot.reason.includes("page cache"), hot.reason);
        assertEquals(hot.deviceProfile, first.deviceProfile);
      } else {
        assert(!hot.reason.includes("fully in the page cache"), hot.reason); // evicted, or no fincore
      }
    });
  } finally {
    removeDir(dir);
  }
});

test("profiles: detectProfile on /dev/shm (tmpfs) → ram", async () => {
  if (!fs.existsSync("/dev/shm")) return;
  await withCacheHome(async () => {
    const dir = fs.mkdtempSync("/dev/shm/lsio-profiles-");
    try {
      const file = writeFile(dir, "x.bin", 64 * KiB);
      for (const p of ["/dev/shm", dir, file]) {
        const d = await detectProfile(p);
        checkShape(d, p);
        assertEquals([d.profile, d.deviceProfile, d.device, d.fsType], ["ram", "ram", "tmpfs", "tmpfs"], d.reason);
        assert(d.reason.includes("tmpfs"), d.reason);
      }
      assert(!fs.existsSync(profileCachePath()), "nothing to cache for tmpfs");
    } finally {
      removeDir(dir);
    }
  });
});

test("profiles: detectProfile never throws: no device, no path, odd input", async () => {
  await withCacheHome(async () => {
    const proc = await detectProfile("/proc/self/status");
    checkShape(proc, "/proc");
    assertEquals(proc.profile, "ssd");
    assert(proc.reason.includes("no block device"), proc.reason);
    const missing = await detectProfile("/definitely/not/here/at/all");
    checkShape(missing, "missing"); // answered for "/"
    const empty = await detectProfile("");
    checkShape(empty, "empty path"); // the working directory
    const weird = await detectProfile("bad\0path");
    assertStrictEquals(weird.profile, "ssd");
    assert(weird.reason.includes("detection failed"), weird.reason);
  });
});

test('profiles: a reader planning with profile "auto" detects a folder\'s profile once, not per batch', async () => {
  const dir = tempDir("lsio-profiles-reader-");
  try {
    const file = writeFile(dir, "data.bin", 64 * KiB);
    await withCacheHome(async () => {
      const first = await detectProfile(file, { measure: false, pageCache: false });
      if (!first.cached && first.fsType === "tmpfs") return assertEquals(first.profile, "ram"); // no device cache
      const cacheFile = profileCachePath();
      const claim = (profile: string) => {
        const stored = JSON.parse(fs.readFileSync(cacheFile, "utf8"));
        for (const e of Object.values(stored.devices) as { deviceProfile: string }[]) e.deviceProfile = profile;
        fs.writeFileSync(cacheFile, JSON.stringify(stored));
      };
      await using reader = await Reader.open({ plan: { profile: "auto" } });
      const requests = [{ path: file, start: 0, end: 4096 }, { path: file, start: 8192, end: 12288 }];
      claim("hdd");
      const a = await reader.readColumnar(columns(file, requests));
      assertEquals(a.stats.profile, "hdd", "the first batch detects (through the device cache)");
      claim("nvme"); // a detection now would say nvme
      for (let k = 0; k < 3; k++) {
        const b = await reader.readColumnar(columns(file, requests));
        assertEquals(b.stats.profile, "hdd", "later batches reuse the reader's answer for the folder");
      }
      await using fresh = await Reader.open({ plan: { profile: "auto" } });
      assertEquals((await fresh.readColumnar(columns(file, requests))).stats.profile, "nvme", "a new reader detects");
    });
  } finally {
    removeDir(dir);
  }
});

function columns(path: string, requests: { start: number; end: number }[]) {
  return {
    paths: [path],
    file: new Uint32Array(requests.length),
    start: Float64Array.from(requests, (q) => q.start),
    end: Float64Array.from(requests, (q) => q.end),
  };
}
