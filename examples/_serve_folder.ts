/**
 * A small static file server for the remote examples: serves the folder in
 * argv[2] on 127.0.0.1 (a free port, printed as `listening PORT` on stdout),
 * answering GET and HEAD with single byte ranges (`bytes=a-b`, `a-`, `-n`);
 * a request for several ranges gets the whole file, as many servers answer
 * (LSIO notices and asks that host for spans). Runs in its own process, so
 * the example's reader and this server do not share an event loop. Stops
 * when its parent closes stdin or kills it.
 *
 *   deno run -A examples/_serve_folder.ts DIR   |   bun examples/_serve_folder.ts DIR
 *
 * @module
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import process from "node:process";

const root = path.resolve(process.argv[2] ?? ".");
const server = http.createServer((req, res) => {
  const file = path.join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
  if (!file.startsWith(root + path.sep)) return void res.writeHead(403).end();
  let body: Uint8Array;
  try {
    body = fs.readFileSync(file);
  } catch {
    return void res.writeHead(404).end();
  }
  const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "");
  if (!m) return void res.writeHead(200, { "content-length": body.length }).end(req.method === "HEAD" ? "" : body);
  let a: number, b = body.length - 1;
  if (m[1] === "") a = Math.max(0, body.length - Number(m[2])); // the last n bytes
  else {
    a = Number(m[1]);
    if (m[2] !== "") b = Math.min(b, Number(m[2]));
  }
  if (a > b) return void res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
  res.writeHead(206, { "content-range": `bytes ${a}-${b}/${body.length}`, "content-length": b - a + 1 });
  res.end(req.method === "HEAD" ? "" : body.subarray(a, b + 1));
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
