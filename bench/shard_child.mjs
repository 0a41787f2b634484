// Helpers shared by the shard4k children (LSIO under Deno and Bun, the
// node:fs peer): the read list of one pass mapped onto the shard files.
// Plain JavaScript with node: builtins so that Node runs it as is.
import * as c from "./child.mjs";

/**
 * What main.ts asks a shard4k child to do (one JSON argument, the last on the
 * line): the common Spec (`data` = the first shard, `reads` = every read of
 * the run, `batch` = one pass) plus the shard layout.
 * @typedef {object} ShardFields
 * @property {string[]} shards Every shard file of the data set; global chunk id g is chunk g % chunksPerShard of shard floor(g / chunksPerShard).
 * @property {number} chunksPerShard Chunks per shard file.
 * @property {number} passes Times the pass (spec.batch requests from spec.index, ordered by (shard, chunk)) is read into the same final array.
 * @property {false | { profile?: "ram" | "nvme" | "ssd" | "hdd" | "cloud" | "auto", mergeGap?: number, mergeMax?: number, splitSize?: number }} [plan] LSIO's plan option.
 * @typedef {import("./child.mjs").Spec & ShardFields} ShardSpec
 */

/** @returns {ShardSpec} */
export function parseShardSpec() {
  return /** @type {ShardSpec} */ (/** @type {unknown} */ (c.parseSpec()));
}

/**
 * One pass of the read list, as columns over the shards it touches (in the
 * order first touched): `paths[file[i]]`, chunk `chunk[i]` of that shard.
 * @param {ShardSpec} spec
 */
export function loadPass(spec) {
  const ids = c.loadIndex(spec.index, spec.batch);
  const cps = spec.chunksPerShard;
  /** @type {Map<number, number>} */
  const local = new Map();
  /** @type {string[]} */
  const paths = [];
  const file = new Uint32Array(ids.length);
  const chunk = new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const s = Math.floor(ids[i] / cps);
    let f = local.get(s);
    if (f === undefined) {
      f = paths.length;
      paths.push(spec.shards[s]);
      local.set(s, f);
    }
    file[i] = f;
    chunk[i] = ids[i] % cps;
  }
  return { ids, paths, file, chunk };
}

/**
 * The byte ranges of one pass (chunk[i] of its shard) and each chunk's place
 * in the final array (chunk i at i * blockSize).
 * @param {Uint32Array} chunk
 * @param {number} bs
 */
export function passRanges(chunk, bs) {
  const m = chunk.length;
  const start = new Float64Array(m), end = new Float64Array(m), offsets = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    start[i] = chunk[i] * bs;
    end[i] = start[i] + bs;
    offsets[i] = i * bs;
  }
  return { start, end, offsets };
}

/**
 * The ids of every read of the run (`passes` times the pass), which is what
 * c.finish counts and verifies (its "last batch" is the last pass).
 * @param {Uint32Array} ids
 * @param {number} passes
 */
export function allReads(ids, passes) {
  const out = new Uint32Array(ids.length * passes);
  for (let p = 0; p < passes; p++) out.set(ids, p * ids.length);
  return out;
}
