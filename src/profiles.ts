/**
 * Storage profiles for the IO planner: how far apart two requests of one
 * file may be and still be read as one read, how long a merged read may get,
 * and when one long read is split into pieces in flight at once.
 *
 * - {@linkcode PROFILES}: the defaults per kind of storage, with the reasoning.
 * - {@linkcode detectProfile}: which kind of storage holds a path (sysfs, the
 *   page cache, an optional ≤ 50 ms measurement), cached per device.
 * - {@linkcode resolvePlanOptions}: a profile plus explicit overrides → the
 *   thresholds the planner uses.
 *
 * Runs under Deno and Bun alike: node: builtins only. Under Deno,
 * {@linkcode detectProfile} wants read access to the path, `/proc` and `/sys`,
 * env + write access for its cache and run access for `fincore`; whatever it is
 * denied, it answers with a reason instead of throwing.
 *
 * @example
 * ```ts
 * import { detectProfile, resolvePlanOptions } from "./profiles.ts";
 * await Deno.writeTextFile("/tmp/lsio_profiles_module_example.txt", "hello");
 * const detected = await detectProfile("/tmp/lsio_profiles_module_example.txt");
 * console.log(detected.profile, detected.reason);
 * const plan = resolvePlanOptions({ profile: "auto", mergeMax: 128 * 1024 }, detected);
 * console.log(plan.mergeMax); // 131072
 * ```
 *
 * @module
 */
import { checkBoolean, checkEnum, checkKeys, describe, options as checkOptions } from "./_strict.ts";
import { type CacheEntry, loadCache, profileCachePath, saveCache } from "./_profile_cache.ts";
import { measure, MEASURE_MIN_BYTES, refine, residentBytes } from "./_profile_measure.ts";
import { deviceOf, type DevicePart, findMount, type Stat, statExisting } from "./_sysfs.ts";

/** A kind of storage with its own planning defaults (see {@linkcode PROFILES}). */
export type ProfileName = "ram" | "nvme" | "ssd" | "hdd" | "cloud";

/**
 * How LSIO plans the reads of one call (the `plan` option of a read call;
 * `plan: false` reads every request as asked).
 *
 * Thresholds given here override the profile's; the rest come from the
 * profile ({@linkcode resolvePlanOptions}).
 *
 * @example
 * ```ts
 * import type { PlanThresholds } from "./profiles.ts";
 * const plan: PlanThresholds = { profile: "hdd", mergeMax: 4 * 2 ** 20 };
 * console.log(plan.profile); // hdd
 * ```
 */
export interface PlanThresholds {
  /** Which defaults to start from; `"auto"` (or omitted): the detected profile, else `"ssd"`. */
  profile?: ProfileName | "auto";
  /** Bytes: requests of one file whose gap is <= this are read as one read. */
  mergeGap?: number;
  /** Bytes: a merged read is at most this long. */
  mergeMax?: number;
  /**
   * Bytes: a read longer than this is split into pieces in flight at once (0 = never).
   * Remote objects: pieces grow past it when there would be more of them than
   * the reader's transfers in flight (`remote.inflight`, or the fewer a paced
   * run settled on), so no GET waits for a transfer to free up (every GET costs
   * a round trip and, on S3, a request).
   */
  splitSize?: number;
}

/** The planner's thresholds, every one set: what {@linkcode resolvePlanOptions} returns. */
export interface ResolvedPlanOptions {
  /** The profile the defaults came from (never `"auto"`). */
  profile: ProfileName;
  /** Bytes: requests of one file whose gap is <= this are read as one read. */
  mergeGap: number;
  /** Bytes: a merged read is at most this long. */
  mergeMax: number;
  /** Bytes: a read longer than this is split into pieces in flight at once (0 = never). */
  splitSize: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The planning defaults of each kind of storage.
 *
 * The rule behind every `mergeGap`: reading the gap is worth it when
 * transferring its bytes costs less than the one extra read it saves
 * (per-read cost × sequential bandwidth = the break-even gap). `mergeMax`
 * bounds what one merged read costs in latency, memory and cache; `splitSize`
 * only pays where one stream cannot reach the bandwidth (networks).
 *
 * @example
 * ```ts
 * import { PROFILES } from "./profiles.ts";
 * console.log(PROFILES.hdd.mergeGap, PROFILES.cloud.splitSize); // 1048576 8388608
 * for (const [name, p] of Object.entries(PROFILES)) console.log(name, p.mergeGap, p.mergeMax, p.splitSize);
 * ```
 */
export const PROFILES: Readonly<Record<ProfileName, Readonly<Required<Omit<PlanThresholds, "profile">>>>> = Object
  .freeze({
    /**
     * Page cache, tmpfs, zram, pmem: a read is a memory copy plus a fixed cost
     * per read. Measured here (fio, io_uring QD 64, hot 256 MiB file, 2-core VM):
     * 4 KiB reads 1.52 µs each, 12 KiB reads 2.14 µs, so two 4 KiB reads with a
     * 4 KiB hole cost 3.0 µs apart and 2.1 µs merged; the break-even gap is
     * ~16 KiB with cache-hot buffers, less once the gap bytes land in cold memory
     * or a scratch buffer. Merge only near-adjacent requests: at most one page
     * between them. Cap 256 KiB: 64–256 KiB reads beat 1 MiB here (14.3 and
     * 18.3 GB/s vs 13.1 GB/s; a 1 MiB copy no longer fits the CPU caches).
     * Never split: a cached read completes inline on the ring's thread, so pieces
     * gain no parallelism.
     */
    ram: Object.freeze({ mergeGap: 4 * KiB, mergeMax: 256 * KiB, splitSize: 0 }),
    /**
     * NVMe: ~0.5–1 M random 4 KiB IOPS and 3–7 GB/s per device, so one more
     * command costs the device about as much as 4–14 KiB of transfer: a small
     * gap (one page) pays, more wastes bandwidth. Cap 256 KiB: typical
     * max_sectors_kb / MDTS is 128–512 KiB (the block layer splits beyond), and
     * the copy into memory, as on "ram", prefers 64–256 KiB. No split: the
     * controller already spreads a long read across its flash channels.
     */
    nvme: Object.freeze({ mergeGap: 4 * KiB, mergeMax: 256 * KiB, splitSize: 0 }),
    /**
     * SATA/SAS SSDs and virtual disks: ~60–100 µs per random 4 KiB read at
     * 0.5–1 GB/s sequential, a break-even gap of ~50–100 KB (measured here on the
     * virtio disk: 57 µs × 950 MB/s ≈ 54 KB). 32 KiB stays below it because NCQ
     * hides part of the per-read cost when many reads are in flight. Cap
     * 512 KiB: AHCI's max_sectors_kb is usually 512–1280; beyond the device's
     * sequential rate is reached already. No split.
     */
    ssd: Object.freeze({ mergeGap: 32 * KiB, mergeMax: 512 * KiB, splitSize: 0 }),
    /**
     * Spinning disks: a seek plus half a rotation is ~8 ms, worth ~1.2–2 MB of
     * transfer at 150–250 MB/s. Merge aggressively: read 1 MiB gaps rather than
     * seek over them (reading a whole file can beat reading every third block).
     * Cap 8 MiB (~40 ms of transfer): longer reads add latency and memory, not
     * bandwidth. No split: one head, pieces only add seeks.
     */
    hdd: Object.freeze({ mergeGap: 1 * MiB, mergeMax: 8 * MiB, splitSize: 0 }),
    /**
     * Network and object storage (NFS, SMB, FUSE mounts of S3/GCS, ...): 1–100 ms
     * to the first byte and often a price per request, so merge generously
     * (1 MiB gaps) and allow long merged reads (16 MiB). One stream rarely gets
     * past 50–100 MB/s, so reads over 8 MiB go as 8 MiB pieces in flight at once
     * (8–16 MiB is the part size object stores recommend for ranged GETs), and
     * as larger pieces when 8 MiB ones would outnumber the transfers in flight:
     * 8 objects of 256 MiB over 64 transfers are 64 GETs of 32 MiB, not 256 of
     * 8 MiB (s3-large on versitygw: 0.86–0.94× curl → 0.97–1.06×, bench/README.md).
     */
    cloud: Object.freeze({ mergeGap: 1 * MiB, mergeMax: 16 * MiB, splitSize: 8 * MiB }),
  });

/** The profile names, in order from fastest to slowest per read. */
const NAMES: readonly ProfileName[] = ["ram", "nvme", "ssd", "hdd", "cloud"];

/**
 * A profile and its thresholds, with explicit thresholds overriding the
 * profile's. `profile: "auto"` (or none) takes `detected.profile` (from
 * {@linkcode detectProfile}), else `"ssd"`. Throws `TypeError` for an unknown
 * profile, `RangeError` for a threshold that is not an integer >= 0.
 *
 * @example
 * ```ts
 * import { resolvePlanOptions } from "./profiles.ts";
 * console.log(resolvePlanOptions({ profile: "hdd" }));
 * // { profile: "hdd", mergeGap: 1048576, mergeMax: 8388608, splitSize: 0 }
 * console.log(resolvePlanOptions({ profile: "auto", mergeGap: 0 }, { profile: "nvme" }).mergeGap); // 0
 * console.log(resolvePlanOptions(undefined).profile); // ssd
 * ```
 */
export function resolvePlanOptions(
  opts: PlanThresholds | undefined,
  detected?: { profile: ProfileName },
): ResolvedPlanOptions {
  if (opts !== undefined && (opts === null || typeof opts !== "object")) {
    throw new TypeError(`Plan options are an object, got ${describe(opts)}`);
  }
  // (`gaps` belongs to the reader's plan options, which extend these.)
  if (opts) checkKeys(opts, ["profile", "mergeGap", "mergeMax", "splitSize", "gaps"], "plan");
  const asked = checkEnum(opts?.profile, ["auto", ...NAMES], "plan.profile") ?? "auto";
  const profile: ProfileName = asked !== "auto"
    ? asked
    : detected && NAMES.includes(detected.profile)
    ? detected.profile
    : "ssd";
  const base = PROFILES[profile];
  return {
    profile,
    mergeGap: threshold(opts?.mergeGap, base.mergeGap, "mergeGap"),
    mergeMax: threshold(opts?.mergeMax, base.mergeMax, "mergeMax"),
    splitSize: threshold(opts?.splitSize, base.splitSize, "splitSize"),
  };
}

function threshold(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number") throw new TypeError(`plan.${name} is a number (bytes), got ${describe(v)}`);
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} is an integer >= 0 (bytes), got ${v}`);
  return v;
}

/** What {@linkcode detectProfile} found. */
export interface DetectedProfile {
  /** The profile to plan with: `deviceProfile`, or `"ram"` when the file sits in the page cache. */
  profile: ProfileName;
  /** The storage: a block device name (`"nvme0n1"`, `"vda"`), a filesystem type (`"tmpfs"`), or `"unknown"`. */
  device: string;
  /** Why, in one line. */
  reason: string;
  /** What the storage alone says (this part is cached per device). */
  deviceProfile: ProfileName;
  /** Filesystem type from /proc/self/mountinfo, when known. */
  fsType?: string;
  /** The device's queue limits and model from sysfs, when there is a block device. */
  sysfs?: DeviceFacts;
  /** The ≤ 50 ms measurement on the file, when one was made (now or when cached). */
  measured?: Measurement;
  /** The device part came from the cache file. */
  cached: boolean;
}

/** sysfs facts about a block device. */
export interface DeviceFacts {
  /** queue/rotational (1: spinning, or a virtual disk's default). */
  rotational?: number;
  /** queue/logical_block_size in bytes. */
  logicalBlockSize?: number;
  /** queue/physical_block_size in bytes. */
  physicalBlockSize?: number;
  /** queue/max_sectors_kb: the longest request the block layer sends (KiB). */
  maxSectorsKb?: number;
  /** queue/optimal_io_size in bytes (0: none reported). */
  optimalIoSize?: number;
  /** device/model. */
  model?: string;
  /** The disks under a device-mapper or md device (slaves), when any. */
  under?: string[];
}

/** The optional measurement of {@linkcode detectProfile}. */
export interface Measurement {
  /** Median latency of one random 4 KiB O_DIRECT read, µs. */
  randomReadUs: number;
  /** Sequential O_DIRECT rate with 256 KiB reads, MB/s (10^6 B/s). */
  sequentialMBps: number;
  /** randomReadUs × sequentialMBps: bytes one random read costs in transfer time (the break-even gap). */
  breakEvenBytes: number;
  /** Random reads made. */
  reads: number;
}

/** Options of {@linkcode detectProfile}. */
export interface DetectOptions {
  /** Refine the sysfs guess by ≤ 50 ms of O_DIRECT reads of the file, when it is a regular file of >= 8 MiB (default true). */
  measure?: boolean;
  /** Answer `"ram"` when the file is fully in the page cache (`fincore`; default true). */
  pageCache?: boolean;
  /** Use and update the per-device cache file (default true). */
  cache?: boolean;
  /** Detect the device again even when it is cached (and update the cache). */
  refresh?: boolean;
}

/**
 * Which kind of storage holds `path`, for `plan: { profile: "auto" }`.
 *
 * Rules, in order:
 * 1. tmpfs/ramfs (or a zram/ram/pmem disk) → `"ram"`;
 * 2. NFS, SMB, Ceph, Lustre, FUSE mounts of object stores → `"cloud"`;
 * 3. the block device under the path (`stat` dev major:minor →
 *    `/sys/dev/block/MAJ:MIN`, up to the whole disk; device-mapper and md
 *    through their `slaves`; loop devices through their backing file):
 *    `queue/rotational` = 1 → `"hdd"`, a name `nvme*` → `"nvme"`, else
 *    `"ssd"`. A virtio/Xen disk that claims to rotate (their default) counts
 *    as `"ssd"` unless measured otherwise;
 * 4. when the path is a regular file of >= 8 MiB, ≤ 50 ms of O_DIRECT reads
 *    (random 4 KiB, then sequential 256 KiB) may correct rule 3: random reads
 *    under 1 ms are not a spinning disk (→ `"ssd"`), over 2 ms they cost like
 *    seeks (→ `"hdd"`);
 * 5. a file fully in the page cache (`fincore`) → `"ram"`, whatever the device.
 *
 * Rules 3–4 are cached per device in {@linkcode profileCachePath}. A path that
 * does not exist is answered for its nearest existing parent. Never throws:
 * anything unknown or denied gives `"ssd"` with the reason.
 *
 * @example
 * ```ts
 * import { detectProfile } from "./profiles.ts";
 * const shm = await detectProfile("/dev/shm");
 * console.log(shm.profile, shm.device); // ram tmpfs
 * const here = await detectProfile("/tmp", { measure: false });
 * console.log(here.profile, here.device, here.reason);
 * ```
 */
export async function detectProfile(target: string, options: DetectOptions = {}): Promise<DetectedProfile> {
  checkOptions(options, ["measure", "pageCache", "cache", "refresh"], "detectProfile options");
  for (const k of ["measure", "pageCache", "cache", "refresh"] as const) checkBoolean(options[k], k);
  if (typeof target !== "string") throw new TypeError(`detectProfile takes a path, got ${describe(target)}`);
  try {
    return await detect(String(target), options);
  } catch (e) {
    return fallback("unknown", `detection failed: ${(e as Error)?.message ?? e}`);
  }
}

function fallback(device: string, why: string, fsType?: string): DetectedProfile {
  return {
    profile: "ssd",
    deviceProfile: "ssd",
    device,
    reason: `${why}; "ssd" as the middle ground`,
    fsType,
    cached: false,
  };
}

async function detect(target: string, options: DetectOptions): Promise<DetectedProfile> {
  const st = statExisting(target);
  const dev = deviceOf(st.path);
  let out: DetectedProfile;
  if (!dev) {
    const mount = findMount(st.major, st.minor);
    out = fallback(
      mount ? `${mount.fsType} ${mount.source}` : "unknown",
      `no block device found behind ${st.path} (${
        mount ? `fs ${mount.fsType}, source ${mount.source}` : `dev ${st.major}:${st.minor}`
      })`,
      mount?.fsType,
    );
  } else if (!dev.key) {
    // tmpfs, network: nothing to measure or cache.
    out = { profile: dev.deviceProfile, ...strip(dev), cached: false };
  } else {
    out = deviceWithCache(dev as DevicePart & { key: string; fsType?: string }, st, options);
  }
  if (options.pageCache !== false && st.isFile && st.size > 0 && out.profile !== "ram") {
    const resident = await residentBytes(st.path);
    if (resident !== undefined && resident >= st.size) {
      out.profile = "ram";
      out.reason = `${st.path} is fully in the page cache (fincore: ${st.size} bytes resident): reads are memory ` +
        `copies; the device alone: ${out.deviceProfile} (${out.reason})`;
    }
  }
  return out;
}

function strip(d: DevicePart & { fsType?: string }): Omit<DetectedProfile, "profile" | "cached"> {
  const out: Omit<DetectedProfile, "profile" | "cached"> = {
    device: d.device,
    deviceProfile: d.deviceProfile,
    reason: d.reason,
  };
  if (d.fsType) out.fsType = d.fsType;
  if (d.sysfs) out.sysfs = d.sysfs;
  if (d.measured) out.measured = d.measured;
  return out;
}

/** Rules 3–4 through the cache file. */
function deviceWithCache(
  dev: DevicePart & { key: string; fsType?: string },
  st: Stat,
  options: DetectOptions,
): DetectedProfile {
  const useCache = options.cache !== false;
  const file = useCache ? profileCachePath() : "";
  const canMeasure = options.measure !== false && st.isFile && st.size >= MEASURE_MIN_BYTES;
  // Notes about this call only: the cache keeps what the device said.
  const unmeasured = options.measure === false
    ? ""
    : `; not measured (${st.isFile ? "file under 8 MiB" : "not a regular file"})`;
  if (useCache && !options.refresh) {
    const hit = loadCache(file)[dev.key];
    // A cached guess without a measurement is redone once a measurement is possible.
    if (hit && NAMES.includes(hit.deviceProfile) && (hit.measured || !canMeasure)) {
      return {
        profile: hit.deviceProfile,
        device: hit.device,
        deviceProfile: hit.deviceProfile,
        reason: `${hit.reason} (cached ${hit.detectedAt} in ${file})${hit.measured ? "" : unmeasured}`,
        ...(dev.fsType ? { fsType: dev.fsType } : {}),
        ...(hit.sysfs ? { sysfs: hit.sysfs } : {}),
        ...(hit.measured ? { measured: hit.measured } : {}),
        cached: true,
      };
    }
  }
  const part: DevicePart = { ...dev };
  let note = "";
  if (part.deviceProfile !== "ram") {
    if (!canMeasure) note = unmeasured;
    else {
      const m = measure(st.path, st.size);
      if (m) refine(part, m);
      else note = "; not measured (O_DIRECT refused)";
    }
  }
  const out: DetectedProfile = {
    profile: part.deviceProfile,
    ...strip({ ...part, fsType: dev.fsType }),
    cached: false,
  };
  out.reason += note;
  if (useCache) {
    const entry: CacheEntry = {
      device: part.device,
      deviceProfile: part.deviceProfile,
      reason: part.reason,
      detectedAt: new Date().toISOString(),
    };
    if (part.sysfs) entry.sysfs = part.sysfs;
    if (part.measured) entry.measured = part.measured;
    const err = saveCache(file, dev.key, entry);
    if (err) out.reason += `; not cached (${err})`;
  }
  return out;
}
