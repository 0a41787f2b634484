// A reader's resolved S3 settings as the lsio_s3_config words C copies, and
// the strict check of ReaderOptions.s3.
import { type Native, S3_CONFIG_WORDS, S3_PATH_STYLE, S3ConfigWord } from "../ffi/native.ts";
import { checkBoolean, checkEnum, describe, options as checkOptions } from "./_strict.ts";
import { type ResolvedS3, S3_KEYS, type S3Options } from "./s3_config.ts";

const encoder = new TextEncoder();

/** `ReaderOptions.s3`, its keys and value types checked. */
export function checkS3Options(s3: S3Options | undefined): S3Options {
  const o = checkOptions(s3, S3_KEYS, "Reader.open s3 options");
  for (const k of ["region", "endpoint", "accessKeyId", "secretAccessKey", "sessionToken", "profile"] as const) {
    if (o[k] !== undefined && typeof o[k] !== "string") {
      throw new TypeError(`s3.${k} is a string, got ${describe(o[k])}`);
    }
  }
  checkBoolean(o.anonymous, "s3.anonymous");
  checkEnum(o.addressing, ["path", "virtual"] as const, "s3.addressing");
  return o;
}

/**
 * The words of lsio_s3_config. The strings' memory only has to live through
 * the lsio_reader_set_s3 call (C copies them): `keep` holds them until then.
 */
export function s3Words(lib: Native, s3: ResolvedS3): BigUint64Array {
  const words = new BigUint64Array(S3_CONFIG_WORDS);
  const keep: Uint8Array[] = [];
  const str = (v: string | undefined) => {
    if (v === undefined) return 0n;
    const bytes = encoder.encode(v + "\0");
    keep.push(bytes);
    return lib.addressOf(bytes);
  };
  words[S3ConfigWord.endpoint] = str(s3.endpoint);
  words[S3ConfigWord.region] = str(s3.region);
  words[S3ConfigWord.accessKeyId] = str(s3.accessKeyId);
  words[S3ConfigWord.secretAccessKey] = str(s3.secretAccessKey);
  words[S3ConfigWord.sessionToken] = str(s3.sessionToken);
  words[S3ConfigWord.flags] = s3.addressing === "path" ? S3_PATH_STYLE : 0n;
  kept.set(words, keep);
  return words;
}

/** The strings of each words array, alive as long as the array is (the caller's set call). */
const kept = new WeakMap<BigUint64Array, Uint8Array[]>();
