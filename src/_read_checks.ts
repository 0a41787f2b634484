// Checks of what callers hand the reader, before any I/O: option keys, types
// and enum values, paths, ranges, columnar requests and plan options. Each
// throws TypeError (wrong kind of value) or RangeError (a value out of range)
// naming the offending field.
import { resolvePlanOptions } from "./profiles.ts";
import {
  checkBoolean,
  checkEnum,
  checkFunction,
  checkKeys,
  describe,
  intOption,
  options as checkOptions,
} from "./_strict.ts";
import type { ColumnarRequests, PlanOptions, ReadOptions } from "./reader.ts";

/** The keys of `ReaderOptions`. */
export const READER_KEYS = [
  "backend",
  "queueDepth",
  "direct",
  "pastEof",
  "maxOpenFiles",
  "threads",
  "keepOpen",
  "hotPath",
  "plan",
  "remote",
  "s3",
  "cache",
] as const;
/** The keys of {@linkcode ReadOptions}. */
export const READ_KEYS = ["signal", "onProgress", "progressIntervalMs", "pastEof", "plan", "hotPath"] as const;
const PLAN_KEYS = ["profile", "mergeGap", "mergeMax", "splitSize", "gaps"] as const;
/** The keys of a request of `Reader.read`. */
export const REQUEST_KEYS = ["path", "start", "end"] as const;
/** The keys of a request of `Reader.readInto`. */
export const INTO_KEYS = ["path", "start", "end", "dest"] as const;
const COLUMN_KEYS = ["paths", "file", "start", "end", "dest"] as const;
const DEST_KEYS = ["buffer", "offsets"] as const;
/** The values of `pastEof`. */
export const PAST_EOF = ["error", "truncate"] as const;

/** A path: a non-empty string without NUL bytes (C reads it NUL-terminated). */
export function checkPath(path: unknown): string {
  if (typeof path !== "string") throw new TypeError(`A path is a string, got ${typeof path}`);
  if (path.length === 0) throw new TypeError("A path is a non-empty string");
  if (path.includes("\0")) throw new TypeError(`Path ${JSON.stringify(path)} contains a NUL byte`);
  return path;
}

/** A list of paths: an array of valid paths. */
export function checkPaths(paths: unknown): void {
  if (!Array.isArray(paths)) throw new TypeError(`paths is an array of strings, got ${describe(paths)}`);
  paths.forEach(checkPath);
}

/** A request's range: safe integers, and (both counted from the start) not ending before it starts. */
export function checkRange(start: unknown, end: unknown, what: string): void {
  if (typeof start !== "number") throw new TypeError(`${what}: start is a number, got ${describe(start)}`);
  if (end !== undefined && typeof end !== "number") {
    throw new TypeError(`${what}: end is a number (or omitted: to EOF), got ${describe(end)}`);
  }
  if (!Number.isSafeInteger(start)) {
    throw new TypeError(`${what}: start ${String(start)} is not a safe integer`);
  }
  if (end !== undefined && !Number.isSafeInteger(end)) {
    throw new TypeError(`${what}: end ${String(end)} is not a safe integer`);
  }
  if ((start as number) >= 0 && end !== undefined && (end as number) >= 0 && (end as number) < (start as number)) {
    throw new RangeError(`${what}: range ${start}..${end} ends before it starts`);
  }
}

/**
 * Columnar requests: an object of columns of the right typed arrays and one
 * length, an optional `{ buffer, offsets }` destination, and valid paths. The
 * ranges themselves are checked while they are copied (fillRanges).
 */
export function checkColumnar(requests: ColumnarRequests): void {
  if (requests === null || typeof requests !== "object" || Array.isArray(requests)) {
    throw new TypeError(`Columnar requests are an object of columns, got ${describe(requests)}`);
  }
  checkKeys(requests, COLUMN_KEYS, "Columnar requests");
  const { paths, file, start, end, dest } = requests;
  if (!(file instanceof Uint32Array)) throw new TypeError(`file is a Uint32Array, got ${describe(file)}`);
  const n = file.length;
  const isColumn = (c: unknown) => c instanceof Float64Array || c instanceof BigInt64Array;
  if (!isColumn(start)) throw new TypeError(`start is a Float64Array or BigInt64Array, got ${describe(start)}`);
  if (end !== undefined && !isColumn(end)) {
    throw new TypeError(`end is a Float64Array or BigInt64Array (or omitted: to EOF), got ${describe(end)}`);
  }
  if (start.length !== n || (end && end.length !== n)) {
    throw new RangeError(`file, start and end differ in length (${n}, ${start?.length}, ${end?.length})`);
  }
  if (dest !== undefined) {
    if (dest === null || typeof dest !== "object") {
      throw new TypeError(`dest is { buffer, offsets }, got ${describe(dest)}`);
    }
    checkKeys(dest, DEST_KEYS, "dest");
    if (!(dest.buffer instanceof Uint8Array)) {
      throw new TypeError(`dest.buffer is a Uint8Array, got ${describe(dest.buffer)}`);
    }
    if (!(dest.offsets instanceof Float64Array || dest.offsets instanceof BigUint64Array)) {
      throw new TypeError(`dest.offsets is a Float64Array or BigUint64Array, got ${describe(dest.offsets)}`);
    }
  }
  checkPaths(paths);
}

/** Checks read options before any I/O: keys, types and enum values. */
export function checkReadOptions(o: ReadOptions, what: string, keys: readonly string[] = READ_KEYS): void {
  checkOptions(o, keys, what);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(`signal is an AbortSignal, got ${describe(o.signal)}`);
  }
  checkFunction(o.onProgress, "onProgress");
  intOption(o.progressIntervalMs, "progressIntervalMs", 1, 2 ** 31);
  checkEnum(o.pastEof, PAST_EOF, "pastEof");
  checkPlanOption(o.plan);
  checkBoolean(o.hotPath, "hotPath");
}

/** `plan`: false, "ordered" or plan options (checked). */
export function checkPlanOption(p: unknown): void {
  if (p === undefined || p === false || p === "ordered") return;
  if (p === null || typeof p !== "object") {
    throw new TypeError(
      `plan is false, "ordered" or { profile?, mergeGap?, mergeMax?, splitSize?, gaps? }, got ${describe(p)}`,
    );
  }
  checkPlan(p as PlanOptions);
}

/** Checks plan options before any I/O (the profile may be resolved later). */
function checkPlan(p: PlanOptions): void {
  checkKeys(p, PLAN_KEYS, "plan");
  checkEnum(p.gaps, ["readv", "copy"] as const, "plan.gaps");
  resolvePlanOptions(p, { profile: "ssd" }); // throws TypeError/RangeError for bad profiles and thresholds
}
