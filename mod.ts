/**
 * light-speed-io (LSIO): read many byte ranges of many files in one call, as
 * fast as the storage allows — io_uring batches driven from Deno and Bun.
 *
 * This entry point is the core: {@linkcode Reader}, {@linkcode WorkerPool},
 * errors, aligned memory, storage profiles and element types; it loads no
 * Zarr code and no zarrita. Zarr v3 arrays are in `light-speed-io/zarr`
 * (`./zarr.ts`).
 *
 * @example
 * ```ts
 * import { Reader } from "./mod.ts";
 * await Deno.writeTextFile("/tmp/lsio_mod_example.txt", "0123456789");
 * await using reader = await Reader.open();
 * const [chunk] = await reader.read([{ path: "/tmp/lsio_mod_example.txt", start: -4 }]);
 * console.log(new TextDecoder().decode(chunk as Uint8Array)); // 6789
 * ```
 *
 * @module
 */
export {
  type ColumnarRequests,
  HOT_PATH_LIMITS,
  type PlanOptions,
  type Progress,
  Reader,
  type ReaderInfo,
  type ReaderOptions,
  type ReadIntoRequest,
  type ReadOptions,
  type ReadRequest,
} from "./src/reader.ts";
export { type BatchStats, ColumnarResult, ReadPlan } from "./src/read_results.ts";
export { type ByteRange, errnoName, LsioError, type LsioErrorOptions } from "./src/errors.ts";
export {
  type ChunkContext,
  type PoolCallOptions,
  type PoolReadIntoRequests,
  type PoolRequests,
  type PoolResult,
  type PoolStats,
  type ReduceOptions,
  type Reduction,
  type StreamChunk,
  type StreamOptions,
  type Transform,
  TransformError,
  type TransformIntoOptions,
  type TransformOptions,
  WorkerPool,
  type WorkerPoolOptions,
} from "./src/pool.ts";
export { allocAligned, type AllocAlignedOptions } from "./src/aligned.ts";
export { Cache, type CacheOptions, type CacheStats } from "./src/cache.ts";
export type { RemoteOptions } from "./src/remote_options.ts";
export { parseAwsIni, type ResolvedS3, resolveS3Config, type S3Environment, type S3Options } from "./src/s3_config.ts";
export {
  type Dtype,
  type DtypeArrays,
  DTYPES,
  type NumericArray,
  type NumericArrayConstructor,
  TYPED_ARRAYS,
  type TypedArrayOf,
} from "./src/dtype.ts";
export {
  type DetectedProfile,
  type DetectOptions,
  detectProfile,
  type DeviceFacts,
  type Measurement,
  type PlanThresholds,
  type ProfileName,
  PROFILES,
  type ResolvedPlanOptions,
  resolvePlanOptions,
} from "./src/profiles.ts";
