// Strict arguments: every options object and request is checked for keys it
// does not know (a misspelt `queueDepht` would otherwise be ignored without a
// word), every enum for values it does not take, every number for its type.
// The errors are TypeErrors that name the key and the nearest valid name.

/** Old names of the 0.x API, with what replaced them (a hint in the error). */
const RENAMED: Record<string, string> = {
  view: "dtype",
  as: "dtype",
  dataType: "dtype",
  output: "dest",
  outStart: "destStart",
  outEnd: "destEnd",
  pastEOF: "pastEof",
};

/** Levenshtein distance, for the nearest valid name. */
function distance(a: string, b: string): number {
  a = a.toLowerCase(), b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j], prev[j - 2] + 1);
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The valid name closest to `name` (a known rename first), and whether it is close enough to be a slip. */
export function nearest(name: string, valid: readonly string[]): { name: string; close: boolean } | undefined {
  const renamed = RENAMED[name];
  if (renamed && valid.includes(renamed)) return { name: renamed, close: true };
  let best: string | undefined, bestD = Infinity;
  for (const v of valid) {
    const d = distance(name, v);
    if (d < bestD) best = v, bestD = d;
  }
  return best === undefined ? undefined : { name: best, close: bestD <= Math.max(2, Math.floor(name.length / 3)) };
}

/** "; did you mean "x"?", with every valid name when none is close. */
function hint(name: string, valid: readonly string[]): string {
  const near = nearest(name, valid);
  if (!near) return "";
  const list = near.close ? "" : ` (valid: ${valid.map((v) => JSON.stringify(v)).join(", ")})`;
  return `; did you mean ${JSON.stringify(near.name)}?${list}`;
}

/**
 * Throws a TypeError for the first own key of `obj` not in `valid` (keys
 * whose value is undefined included: `{ sclae: undefined }` is still a slip).
 * `what` names the object in the message ("Reader.open options").
 */
export function checkKeys(obj: object, valid: readonly string[], what: string): void {
  for (const key in obj) {
    if (!Object.hasOwn(obj, key) || valid.includes(key)) continue;
    throw new TypeError(`${what}: unknown key ${JSON.stringify(key)}${hint(key, valid)}`);
  }
}

/** An options object (or undefined → {}), its keys checked. */
export function options<T extends object>(obj: T | undefined, valid: readonly string[], what: string): T {
  if (obj === undefined) return {} as T;
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new TypeError(`${what} are an object, got ${describe(obj)}`);
  }
  checkKeys(obj, valid, what);
  return obj;
}

/** Throws a TypeError unless `value` is undefined or one of `valid`. */
export function checkEnum<T extends string>(value: unknown, valid: readonly T[], what: string): T | undefined {
  if (value === undefined || valid.includes(value as T)) return value as T | undefined;
  const near = typeof value === "string" ? nearest(value, valid) : undefined;
  throw new TypeError(
    `${what} is one of ${valid.map((v) => JSON.stringify(v)).join(", ")}, got ${describe(value)}${
      near?.close ? ` (did you mean ${JSON.stringify(near.name)}?)` : ""
    }`,
  );
}

/** Throws a TypeError unless `value` is undefined or a boolean. */
export function checkBoolean(value: unknown, what: string): boolean | undefined {
  if (value === undefined || typeof value === "boolean") return value as boolean | undefined;
  throw new TypeError(`${what} is a boolean, got ${describe(value)}`);
}

/** Throws a TypeError unless `value` is undefined or a function. */
export function checkFunction<F>(value: unknown, what: string): F | undefined {
  if (value === undefined || typeof value === "function") return value as F | undefined;
  throw new TypeError(`${what} is a function, got ${describe(value)}`);
}

/**
 * An integer option in [min, max], or undefined. A value of the wrong type
 * (a string where a number belongs) is a TypeError that says so; a number
 * out of range or not whole is a RangeError.
 */
export function intOption(value: unknown, what: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw new TypeError(`${what} is a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} is an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

/** A finite number option, or undefined (TypeError for another type, RangeError for NaN/±Infinity). */
export function finiteOption(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw new TypeError(`${what} is a number, got ${describe(value)}`);
  if (!Number.isFinite(value)) throw new RangeError(`${what} is a finite number, got ${value}`);
  return value;
}

/** A value as an error message shows it: its type, and the value when short. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)})`;
  if (typeof v === "bigint") return `a bigint (${v}n)`;
  if (typeof v === "number" || typeof v === "boolean" || v === undefined) return String(v);
  if (typeof v === "function") return "a function";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
}
