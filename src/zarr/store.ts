/**
 * `LsioStore`: a zarrita store over a local directory, an `s3://` prefix or
 * an `http(s)://` URL, whose reads go through LSIO. Every `get`/`getRange`
 * made in the same event-loop turn — zarrita asks for all the chunks of a
 * selection at once — is gathered into one LSIO batch: one native call reads
 * them all.
 *
 * @module
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type ByteRange, fsError, LsioError } from "../errors.ts";
import { Reader, type ReaderOptions, type ReadOptions, type ReadRequest } from "../reader.ts";
import { checkKeys, describe, options as checkOptions } from "../_strict.ts";
import { storageOf } from "../_storage.ts";
import { rootOf, under } from "./_location.ts";
import { CACHE, type CacheOverride } from "../_internal.ts";
import { type Cache, releaseCache, retainCache } from "../cache.ts";
import type { Native } from "../../ffi/native.ts";

/** A zarrita store key: an absolute path in the store, e.g. `"/c/0/0"`. */
export type StoreKey = `/${string}`;

/** zarrita's range query: `{ offset, length }` or the last `suffixLength` bytes. */
export type RangeQuery = { offset: number; length: number } | { suffixLength: number };

/** Options of {@linkcode LsioStore.open}. */
export interface LsioStoreOptions {
  /** A reader to share (not closed by the store); default: the store opens its own. */
  reader?: Reader;
  /**
   * Options for the store's own reader. Over an object store (`s3://`,
   * `http(s)://` roots) every batch is planned with the `cloud` profile — an
   * object's ranges asked for in one turn are sorted and merged across small
   * gaps into fewer GETs, with a shared reader too — unless `plan` is given
   * here; local roots use the reader's plan.
   */
  readerOptions?: ReaderOptions;
  /**
   * A RAM cache of raw byte ranges for the store's reads (see
   * {@linkcode Cache}); held until the store closes.
   */
  cache?: Cache;
}

/** What a store did so far. */
export interface LsioStoreStats {
  /** LSIO batches run. */
  batches: number;
  /** Keys and ranges read through them. */
  requests: number;
}

interface Pending {
  request: ReadRequest;
  resolve(v: Uint8Array | undefined): void;
  reject(e: unknown): void;
}

const schedule: (fn: () => void) => void = (globalThis as { setImmediate?: (fn: () => void) => void }).setImmediate ??
  ((fn) => setTimeout(fn, 0));

/**
 * A read-only zarrita store over a directory or an object-store prefix,
 * reading through LSIO. Use it wherever zarrita takes a store (`zarr.open`,
 * `zarr.get`). Missing keys give `undefined`; keys that would leave the root
 * (`..`, NUL bytes) are refused with a `TypeError` and never read.
 *
 * @example
 * ```ts
 * import * as zarr from "zarrita";
 * import { LsioStore } from "./store.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${root}/zarr.json`, JSON.stringify({ zarr_format: 3, node_type: "group", attributes: {} }));
 * await using store = await LsioStore.open(root);
 * const group = await zarr.open(store, { kind: "group" });
 * console.log(group.attrs, await store.get("/missing")); // {} undefined
 * ```
 */
export class LsioStore implements AsyncDisposable {
  /** The directory the keys are relative to (absolute). */
  readonly root: string;
  readonly #reader: Reader;
  readonly #ownsReader: boolean;
  #pending: Pending[] = [];
  #scheduled = false;
  readonly #stats: LsioStoreStats = { batches: 0, requests: 0 };
  /** The plan of every batch: undefined, the reader's own. */
  readonly #plan: ReadOptions["plan"];

  /** The range cache every read goes through (a reference held until close), if any. */
  #cache: { lib: Native; handle: bigint } | undefined;

  private constructor(
    root: string,
    reader: Reader,
    ownsReader: boolean,
    plan: ReadOptions["plan"],
    cache?: { lib: Native; handle: bigint },
  ) {
    this.#cache = cache;
    this.#plan = plan;
    this.root = root;
    this.#reader = reader;
    this.#ownsReader = ownsReader;
  }

  /**
   * A store over `root` (a directory). A root that is missing or not a
   * folder is an {@linkcode LsioError} (`ENOENT`, `ENOTDIR`) naming it.
   */
  static async open(root: string, options: LsioStoreOptions = {}): Promise<LsioStore> {
    if (typeof root !== "string" || root.length === 0 || root.includes("\0")) {
      throw new TypeError(`root is a non-empty path without NUL bytes, got ${describe(root)}`);
    }
    checkOptions(options, ["reader", "readerOptions", "cache"], "LsioStore.open options");
    if (options.reader !== undefined && !(options.reader instanceof Reader)) {
      throw new TypeError(`reader is a Reader, got ${describe(options.reader)}`);
    }
    const full = rootOf(root);
    if (storageOf(full).hasFolders) { // an object store's prefix is no folder: nothing to check before the first read
      try {
        if (!(await fs.promises.stat(full)).isDirectory()) {
          throw new LsioError(-20, { path: full, op: "open store: its root is a folder" });
        }
      } catch (e) {
        throw fsError(e, full, "open store");
      }
    }
    const reader = options.reader ?? await Reader.open({ plan: "ordered", ...options.readerOptions });
    const cache = options.cache === undefined ? undefined : retainCache(options.cache);
    // An object store's profile (cloud) sorts and merges the ranges zarrita asks for in one turn — a sharded
    // array's chunks of one shard — into fewer GETs; local roots keep the reader's cheap in-order merging.
    const profile = storageOf(full).profile;
    const plan = options.readerOptions?.plan === undefined && profile ? { profile } : undefined;
    return new LsioStore(full, reader, options.reader === undefined, plan, cache);
  }

  /** Batches and requests so far. */
  get stats(): LsioStoreStats {
    return { ...this.#stats };
  }

  /**
   * The whole value of `key`, or undefined when there is none. (`options` are
   * what zarrita passes through per request: `signal` is taken, other keys of
   * other stores' options are ignored.)
   */
  get(key: StoreKey, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    return this.#enqueue({ path: this.#resolve(key) }, options.signal);
  }

  /** A byte range of `key`'s value, or undefined when there is no such key. */
  getRange(key: StoreKey, range: RangeQuery, options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    const p = this.#resolve(key);
    if (range === null || typeof range !== "object") {
      throw new TypeError(`range is { offset, length } or { suffixLength }, got ${describe(range)}`);
    }
    checkKeys(range, "suffixLength" in range ? ["suffixLength"] : ["offset", "length"], "range");
    if ("suffixLength" in range) {
      const n = range.suffixLength;
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`suffixLength ${n} is not a byte count`);
      return this.#enqueue(n === 0 ? { path: p, start: 0, end: 0 } : { path: p, start: -n }, options.signal);
    }
    const { offset, length } = range ?? ({} as { offset: number; length: number });
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`range { offset: ${offset}, length: ${length} } is not a byte range`);
    }
    return this.#enqueue({ path: p, start: offset, end: offset + length }, options.signal);
  }

  /** Closes the store's own reader (a shared one stays open). Idempotent. */
  async close(): Promise<void> {
    if (this.#ownsReader) await this.#reader.close();
    releaseCache(this.#cache);
    this.#cache = undefined;
  }

  /** Same as {@linkcode LsioStore.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** The file of `key`: refused when it would leave the root. */
  #resolve(key: string): string {
    if (typeof key !== "string" || !key.startsWith("/")) {
      throw new TypeError(`A store key is an absolute path in the store ("/..."), got ${JSON.stringify(key)}`);
    }
    if (key.includes("\0")) throw new TypeError(`Store key ${JSON.stringify(key)} contains a NUL byte`);
    const parts = key.split("/");
    if (parts.some((s) => s === "..")) {
      throw new TypeError(`Store key ${JSON.stringify(key)} leaves the store root (..)`);
    }
    if (!storageOf(this.root).hasFolders) return under(this.root, parts.filter((s) => s !== "" && s !== ".").join("/"));
    const full = path.join(this.root, ...parts);
    if (full !== this.root && !full.startsWith(this.root + path.sep)) {
      throw new TypeError(`Store key ${JSON.stringify(key)} resolves outside ${this.root}`);
    }
    return full;
  }

  #enqueue(request: ReadRequest, signal?: AbortSignal): Promise<Uint8Array | undefined> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      this.#pending.push({ request, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        schedule(() => this.#flush());
      }
    });
  }

  /** Reads everything asked for in this turn as one batch. */
  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    this.#stats.batches++;
    this.#stats.requests += batch.length;
    try {
      const through: ReadOptions & CacheOverride = this.#cache ? { [CACHE]: this.#cache.handle } : {};
      if (this.#plan !== undefined) through.plan = this.#plan;
      const results = await this.#reader.read(batch.map((p) => p.request), through);
      results.forEach((r, i) => {
        const p = batch[i];
        if (r instanceof LsioError) {
          if (r.code === "ENOENT" || r.code === "ENOTDIR") p.resolve(undefined);
          else p.reject(r);
        } else {
          // A view into the batch's slab: copy small values so one kept key does not pin the slab.
          p.resolve(r.byteLength < 4096 ? r.slice() : r);
        }
      });
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }
}

export type { ByteRange };
