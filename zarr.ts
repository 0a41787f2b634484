/**
 * Zarr v3 on LSIO (`light-speed-io/zarr`): a zarrita store whose reads are
 * LSIO batches ({@linkcode LsioStore}), the batched reader for sharded and
 * unsharded arrays ({@linkcode ShardedArray}: crops and ML loaders, decoded
 * natively or in the worker pool) and a writer for sharded arrays
 * ({@linkcode writeShardedArray}). Reads go through zarrita's codec registry
 * where LSIO has no native path.
 *
 * @example
 * ```ts
 * import { ShardedArray, writeShardedArray } from "./zarr.ts";
 * const dir = await Deno.makeTempDir();
 * await writeShardedArray(dir, Uint16Array.from({ length: 64 }, (_, i) => i), {
 *   shape: [8, 8], dtype: "uint16", shardShape: [8, 8], chunkShape: [4, 4],
 * });
 * await using arr = await ShardedArray.open(dir);
 * const { data } = await arr.read([[1, 2], [0, 4]]);
 * console.log(Array.from(data as Uint16Array)); // [ 8, 9, 10, 11 ]
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export {
  LsioStore,
  type LsioStoreOptions,
  type LsioStoreStats,
  type RangeQuery,
  type StoreKey,
} from "./src/zarr/store.ts";
export {
  type DimSelection,
  type ReadArray,
  type ReadBatchesOptions,
  type ReadDtype,
  type SelectionResult,
  ShardedArray,
  type ShardedArrayOptions,
  type ShardedReadOptions,
  ZarrFormatError,
} from "./src/zarr/sharded.ts";
export type { ArrayMeta, CodecMeta } from "./src/zarr/_meta.ts";
export { writeShardedArray, type WriteShardedOptions } from "./src/zarr/write.ts";
export { crc32c } from "./src/zarr/crc32c.ts";
