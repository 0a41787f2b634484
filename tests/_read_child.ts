// A child process for tests that need an environment of their own (proxy
// variables libcurl reads): reads the JSON list of requests in argv[2] with a
// Reader (its options the JSON in argv[3], if any) and prints one JSON line:
// each result's byte length and a sum of its bytes, or its error code (a
// reader that cannot open: `{ openError, path }`).
import process from "node:process";
import { LsioError, Reader } from "../mod.ts";

const requests = JSON.parse(process.argv[2]) as { path: string; start?: number; end?: number }[];
let reader: Reader;
try {
  reader = await Reader.open(process.argv[3] ? JSON.parse(process.argv[3]) : {});
} catch (e) {
  if (!(e instanceof LsioError)) throw e;
  console.log(JSON.stringify({ openError: e.code, path: e.path, message: e.message }));
  process.exit(0);
}
const out = (await reader.read(requests)).map((r) => {
  if (r instanceof LsioError) return { code: r.code, message: r.message };
  let sum = 0;
  for (const b of r) sum = (sum * 31 + b) >>> 0;
  return { length: r.byteLength, sum };
});
console.log(JSON.stringify(out));
await reader.close();
