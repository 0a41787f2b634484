// A reader's TLS settings (RemoteOptions.caFile) handed to lsio_reader_set_tls,
// for the main thread's readers and each pool worker's alike.
import { type Native, TLS_CONFIG_WORDS, TlsConfigWord } from "../ffi/native.ts";

/** The path bytes of each words array, alive as long as the array is (through the set call; C copies them). */
const kept = new WeakMap<BigUint64Array, Uint8Array>();

/** Sets the reader's CA bundle (`undefined`: the system's); 0 or the C call's -errno. */
export function setReaderTls(lib: Native, handle: bigint, caFile: string | undefined): number {
  if (caFile === undefined) return 0;
  const words = new BigUint64Array(TLS_CONFIG_WORDS);
  const path = new TextEncoder().encode(caFile + "\0");
  kept.set(words, path);
  words[TlsConfigWord.caFile] = lib.addressOf(path);
  return lib.readerSetTls(handle, words);
}
