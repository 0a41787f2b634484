// Transforms the pool benchmark loads in its workers (by module URL + name).
import type { ChunkContext } from "../mod.ts";

/** The seed's example: sum each chunk as float32 into dest[request index]. */
export function sumFloat32(chunk: Float32Array, ctx: ChunkContext): void {
  // Four accumulators: the loop is the bottleneck, and independent adds pipeline.
  let a = 0, b = 0, c = 0, d = 0, i = 0;
  const n = chunk.length - 3;
  for (; i < n; i += 4) {
    a += chunk[i];
    b += chunk[i + 1];
    c += chunk[i + 2];
    d += chunk[i + 3];
  }
  for (; i < chunk.length; i++) a += chunk[i];
  (ctx.dest as Float32Array)[ctx.index] = a + b + c + d;
}
