/**
 * Aligned buffers. JavaScript cannot ask for alignment, so LSIO over-allocates
 * and starts the view at the first aligned address. Reads into 16-byte
 * aligned memory ran at well under half the speed of 64-byte aligned memory
 * on the machines we measured; LSIO aligns its own buffers to 4096.
 *
 * @module
 */
import { native } from "../ffi/mod.ts";
import type { Native } from "../ffi/native.ts";
import { checkBoolean, describe, options as checkOptions } from "./_strict.ts";

/** Options for {@linkcode allocAligned}. */
export interface AllocAlignedOptions {
  /** Alignment in bytes, a power of two (default 4096). */
  align?: number;
  /** Back the view with a SharedArrayBuffer (for workers). */
  shared?: boolean;
}

/** Synchronous form for callers that already hold the native library. */
export function allocAlignedWith(
  lib: Native,
  bytes: number,
  options: AllocAlignedOptions = {},
): Uint8Array {
  checkOptions(options, ["align", "shared"], "allocAligned options");
  checkBoolean(options.shared, "shared");
  if (options.align !== undefined && typeof options.align !== "number") {
    throw new TypeError(`align is a number, got ${describe(options.align)}`);
  }
  if (typeof bytes !== "number") throw new TypeError(`bytes is a number, got ${describe(bytes)}`);
  const align = options.align ?? 4096;
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`Cannot allocate ${bytes} bytes: a size is a non-negative integer`);
  }
  if (!Number.isInteger(align) || align < 1 || (align & (align - 1)) !== 0) {
    throw new RangeError(`Alignment ${align} is not a power of two`);
  }
  const total = bytes + align;
  const buf = options.shared ? new SharedArrayBuffer(total) : new ArrayBuffer(total);
  const addr = lib.addressOf(new Uint8Array(buf));
  const pad = Number((BigInt(align) - (addr % BigInt(align))) % BigInt(align));
  return new Uint8Array(buf, pad, bytes);
}

/**
 * Allocates `bytes` zeroed bytes whose first byte sits at a multiple of
 * `align` in memory.
 *
 * @example
 * ```ts
 * import { allocAligned } from "./aligned.ts";
 * const buf = await allocAligned(1 << 20);
 * console.log(buf.byteLength); // 1048576
 * ```
 */
export async function allocAligned(
  bytes: number,
  options: AllocAlignedOptions = {},
): Promise<Uint8Array> {
  return allocAlignedWith(await native(), bytes, options);
}
