// A small HTTP server over a folder, in the test's own process, that answers
// GET and HEAD with byte ranges (`bytes=a-b`, `bytes=a-`, `bytes=-n`) and
// counts what it was asked: how many HEADs and GETs, and each Range header.
// For what nginx cannot show (its requests) or do on cue (ignore Range, be
// slow). Started by the tests that need it on 127.0.0.1, closed after.
import * as http from "node:http";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Buffer } from "node:buffer";

export interface RangeServer {
  /** `http://127.0.0.1:PORT/`: the file ROOT/x is URL + "x". */
  url: string;
  readonly heads: number;
  readonly gets: number;
  /** The Range header of every GET, in order ("" when none). */
  readonly ranges: string[];
  close(): Promise<void>;
}

export interface RangeServerOptions {
  /** Each GET is answered after this many milliseconds (default 0). */
  delayMs?: number;
  /** Answer every GET with 200 and the whole file, as a server without range support does. */
  ignoreRange?: boolean;
}

export async function rangeServer(root: string, options: RangeServerOptions = {}): Promise<RangeServer> {
  let heads = 0, gets = 0;
  const ranges: string[] = [];
  const server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url!, "http://x").pathname));
    let body: Buffer;
    try {
      body = fs.readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    if (req.method === "HEAD") {
      heads++;
      res.writeHead(200, { "content-length": body.length }).end();
      return;
    }
    gets++;
    const range = req.headers.range ?? "";
    ranges.push(range);
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    setTimeout(() => {
      if (!m || options.ignoreRange) return void res.writeHead(200, { "content-length": body.length }).end(body);
      let a: number, b = body.length - 1;
      if (m[1] === "") a = Math.max(0, body.length - Number(m[2])); // a suffix: the last n bytes (all, if fewer)
      else {
        a = Number(m[1]);
        if (m[2] !== "") b = Math.min(b, Number(m[2]));
      }
      if (a > b) return void res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
      res.writeHead(206, { "content-range": `bytes ${a}-${b}/${body.length}`, "content-length": b - a + 1 });
      res.end(body.subarray(a, b + 1));
    }, options.delayMs ?? 0);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    get heads() {
      return heads;
    },
    get gets() {
      return gets;
    },
    ranges,
    // close() waits for every connection to end: an idle keep-alive one a client keeps (fetch's pool, as
    // zarrita's FetchStore leaves it) would hold it forever, so close ends them all.
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
