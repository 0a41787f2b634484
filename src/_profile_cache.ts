// The cache file of detectProfile: what rules 3–4 found per device (sysfs
// facts, measurement, profile), so a device is examined and measured once,
// not once per process. One JSON file, rewritten whole through a rename.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import type { DeviceFacts, Measurement, ProfileName } from "./profiles.ts";

const CACHE_VERSION = 1;

/**
 * The cache file of `detectProfile`:
 * `${XDG_CACHE_HOME ?? ~/.cache}/lsio/profiles.json`, from the environment
 * now.
 *
 * @example
 * ```ts
 * import { profileCachePath } from "./_profile_cache.ts";
 * console.log(profileCachePath().endsWith("/lsio/profiles.json")); // true
 * ```
 */
export function profileCachePath(): string {
  let base: string | undefined;
  try {
    base = process.env.XDG_CACHE_HOME || undefined;
  } catch {
    // no env access (Deno without --allow-env)
  }
  base ??= path.join(os.homedir(), ".cache");
  return path.join(base, "lsio", "profiles.json");
}

/** What the cache file keeps per device. */
export interface CacheEntry {
  device: string;
  deviceProfile: ProfileName;
  reason: string;
  sysfs?: DeviceFacts;
  measured?: Measurement;
  detectedAt: string;
}

/** The devices in the cache file (empty when it is missing, unreadable or of another version). */
export function loadCache(file: string): Record<string, CacheEntry> {
  try {
    const j = JSON.parse(fs.readFileSync(file, "utf8"));
    if (j && j.version === CACHE_VERSION && j.devices && typeof j.devices === "object") return j.devices;
  } catch {
    // missing or unreadable: start afresh
  }
  return {};
}

/** Adds or replaces one device's entry; returns why the file could not be written, or undefined. */
export function saveCache(file: string, key: string, entry: CacheEntry): string | undefined {
  try {
    const devices = loadCache(file);
    devices[key] = entry;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ version: CACHE_VERSION, devices }, null, 2) + "\n");
    fs.renameSync(tmp, file);
    return undefined;
  } catch (e) {
    return (e as Error)?.message ?? String(e);
  }
}
