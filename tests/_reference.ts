// The documented range semantics, written independently of the C code, so
// the differential test compares LSIO with node:fs bytes *and* with the rules
// the README states.

export type Expected = { ok: true; offset: number; length: number } | { ok: false; code: string };

/** Resolves [start, end) against `size` (negative: from the end; end undefined: EOF). */
export function expectRange(size: number, start: number, end: number | undefined, truncate: boolean): Expected {
  let s = start < 0 ? size + start : start;
  let e = end === undefined ? size : end < 0 ? size + end : end;
  if (s < 0 && end === undefined) s = 0; // a pure suffix longer than the file: all of it (as HTTP)
  const bad = s < 0 || e > size || s > size || e < s;
  if (bad && !truncate) return { ok: false, code: "ERANGE" };
  s = Math.min(Math.max(s, 0), size);
  e = Math.min(Math.max(e, s), size);
  return { ok: true, offset: s, length: e - s };
}
