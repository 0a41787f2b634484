// Rules 1–3 of detectProfile: the storage under a path, from the mount table
// (/proc/self/mountinfo: memory and network file systems) and the block
// device's sysfs directory (/sys/dev/block/MAJ:MIN up to the whole disk;
// device-mapper and md through their `slaves`, loop devices through their
// backing file). Reads files only; whatever is missing or denied counts as
// unknown.
import * as fs from "node:fs";
import * as path from "node:path";
import type { DeviceFacts, Measurement, ProfileName } from "./profiles.ts";

/** File systems that live in memory. */
const RAM_FS = new Set(["tmpfs", "ramfs", "hugetlbfs", "devtmpfs", "shm"]);
/** Network and object-store file systems. */
const NET_FS = new Set([
  "nfs",
  "nfs4",
  "cifs",
  "smb3",
  "smbfs",
  "ceph",
  "glusterfs",
  "lustre",
  "beegfs",
  "gpfs",
  "afs",
  "fuse.s3fs",
  "fuse.gcsfuse",
  "fuse.goofys",
  "fuse.rclone",
  "fuse.sshfs",
  "fuse.mount-s3",
  "fuse.mountpoint-s3",
  "fuse.juicefs",
  "fuse.blobfuse2",
  "fuse.blobfuse",
]);

/** A path's stat, as detection needs it. */
export interface Stat {
  path: string;
  major: number;
  minor: number;
  size: number;
  isFile: boolean;
}

/** stat of `p`, or of its nearest existing parent. */
export function statExisting(p: string): Stat {
  let cur = path.resolve(p);
  for (;;) {
    try {
      const s = fs.statSync(cur, { bigint: true });
      const { major, minor } = splitDev(s.dev);
      return { path: cur, major, minor, size: Number(s.size), isFile: s.isFile() };
    } catch (e) {
      const code = (e as { code?: string }).code;
      const parent = path.dirname(cur);
      if ((code !== "ENOENT" && code !== "ENOTDIR") || parent === cur) throw e;
      cur = parent;
    }
  }
}

/** glibc's dev_t encoding. */
function splitDev(dev: bigint): { major: number; minor: number } {
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

/** A line of /proc/self/mountinfo. */
export interface Mount {
  fsType: string;
  source: string;
  mountPoint: string;
}

/** The mount whose device is major:minor (/proc/self/mountinfo). */
export function findMount(major: number, minor: number): Mount | undefined {
  let text: string;
  try {
    text = fs.readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return undefined;
  }
  const want = `${major}:${minor}`;
  let found: Mount | undefined;
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f[2] !== want) continue;
    const dash = f.indexOf("-", 6);
    if (dash < 0) continue;
    // The last match wins: a later mount over the same device shadows the earlier.
    found = { fsType: f[dash + 1], source: unescape(f[dash + 2] ?? ""), mountPoint: unescape(f[4]) };
  }
  return found;
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));

function readSys(p: string): string | undefined {
  try {
    return fs.readFileSync(p, "utf8").trim();
  } catch {
    return undefined;
  }
}

function readSysNum(p: string): number | undefined {
  const s = readSys(p);
  const n = s === undefined || s === "" ? NaN : Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** The whole-disk sysfs directory behind a block device number, or undefined. */
function wholeDisk(major: number, minor: number): string | undefined {
  let dir: string;
  try {
    dir = fs.realpathSync(`/sys/dev/block/${major}:${minor}`);
  } catch {
    return undefined;
  }
  return wholeDiskOf(dir);
}

/** A partition's directory → its disk's; a disk's stays. */
function wholeDiskOf(dir: string): string {
  return fs.existsSync(path.join(dir, "partition")) ? path.dirname(dir) : dir;
}

/** The leaf disks under a dm/md device (through `slaves`), or the disk itself. */
function leafDisks(dir: string, depth = 0): string[] {
  let slaves: string[] = [];
  try {
    slaves = fs.readdirSync(path.join(dir, "slaves"));
  } catch {
    // not stacked
  }
  if (slaves.length === 0 || depth > 8) return [dir];
  const out: string[] = [];
  for (const s of slaves) {
    try {
      out.push(...leafDisks(wholeDiskOf(fs.realpathSync(path.join(dir, "slaves", s))), depth + 1));
    } catch {
      // vanished
    }
  }
  return out.length ? out : [dir];
}

function facts(dir: string, under: string[]): DeviceFacts {
  const q = (f: string) => readSysNum(path.join(dir, "queue", f));
  const model = readSys(path.join(dir, "device", "model")) ?? readSys(path.join(dir, "device", "name"));
  const out: DeviceFacts = {
    rotational: q("rotational"),
    logicalBlockSize: q("logical_block_size"),
    physicalBlockSize: q("physical_block_size"),
    maxSectorsKb: q("max_sectors_kb"),
    optimalIoSize: q("optimal_io_size"),
  };
  if (model) out.model = model;
  if (under.length) out.under = under;
  for (const k of Object.keys(out) as (keyof DeviceFacts)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/** What rules 1–3 (and 4, once measured) say about a device. */
export interface DevicePart {
  device: string;
  deviceProfile: ProfileName;
  reason: string;
  sysfs?: DeviceFacts;
  measured?: Measurement;
}

/** Rule 3: the device's own word (sysfs). */
function classify(dir: string, depth: number): DevicePart {
  const name = path.basename(dir);
  if (/^(zram|ram|pmem)\d/.test(name)) {
    return { device: name, deviceProfile: "ram", reason: `${name} is a memory-backed block device` };
  }
  if (/^loop\d/.test(name)) {
    const backing = readSys(path.join(dir, "loop", "backing_file"));
    if (backing && depth < 4) {
      const inner = deviceOf(backing, depth + 1);
      if (inner) {
        return {
          ...inner,
          device: `${name} (${inner.device})`,
          reason: `loop device over ${backing}: ${inner.reason}`,
        };
      }
    }
    return { device: name, deviceProfile: "ssd", reason: `loop device, backing unknown; "ssd" as the middle ground` };
  }
  const leaves = leafDisks(dir);
  const under = leaves[0] === dir ? [] : leaves.map((l) => path.basename(l));
  const sysfs = facts(dir, under);
  const leafNames = leaves.map((l) => path.basename(l));
  const rot = leaves.map((l) => readSysNum(path.join(l, "queue", "rotational")));
  const stacked = under.length ? ` (over ${under.join(", ")})` : "";
  if (rot.some((r) => r === 1)) {
    if (/^(vd|xvd)[a-z]/.test(name) || leafNames.every((n) => /^(vd|xvd)[a-z]/.test(n))) {
      return {
        device: name,
        deviceProfile: "ssd",
        sysfs,
        reason:
          `${name}${stacked} is a virtio/Xen disk: its queue/rotational=1 is the driver's default, not the host's ` +
          `storage; "ssd" as the middle ground`,
      };
    }
    return { device: name, deviceProfile: "hdd", sysfs, reason: `${name}${stacked}: sysfs queue/rotational=1` };
  }
  if (leafNames.every((n) => /^nvme/.test(n))) {
    return { device: name, deviceProfile: "nvme", sysfs, reason: `${name}${stacked}: NVMe, queue/rotational=0` };
  }
  if (rot.every((r) => r === undefined)) {
    return {
      device: name,
      deviceProfile: "ssd",
      sysfs,
      reason: `${name}: no queue/rotational in sysfs; "ssd" as the middle ground`,
    };
  }
  return { device: name, deviceProfile: "ssd", sysfs, reason: `${name}${stacked}: queue/rotational=0, not NVMe` };
}

/** Rules 1–3 for a path: its filesystem and block device. Undefined when there is no device to name. */
export function deviceOf(
  p: string,
  depth = 0,
): (DevicePart & { fsType?: string; key?: string; dir?: string }) | undefined {
  const st = statExisting(p);
  const mount = findMount(st.major, st.minor);
  const fsType = mount?.fsType;
  if (fsType && RAM_FS.has(fsType)) {
    return { device: fsType, deviceProfile: "ram", fsType, reason: `${st.path} is on ${fsType} (memory)` };
  }
  if (fsType && (NET_FS.has(fsType) || /^nfs/.test(fsType))) {
    return {
      device: `${fsType} ${mount!.source}`,
      deviceProfile: "cloud",
      fsType,
      reason: `${st.path} is on ${fsType} (network storage)`,
    };
  }
  let dir = st.major !== 0 ? wholeDisk(st.major, st.minor) : undefined;
  // btrfs & co. report an anonymous device number: ask the mount's source.
  if (!dir && mount?.source.startsWith("/dev/")) {
    try {
      const s = fs.statSync(mount.source, { bigint: true });
      const { major, minor } = splitDev(s.rdev);
      dir = wholeDisk(major, minor);
    } catch {
      // not accessible
    }
  }
  if (!dir) return undefined;
  const part = classify(dir, depth);
  const model = readSys(path.join(dir, "device", "model")) ?? "";
  return { ...part, fsType, dir, key: `${path.basename(dir)}|${readSys(path.join(dir, "dev")) ?? ""}|${model}` };
}
