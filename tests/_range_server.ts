// A small HTTP server over a folder, in the test's own process, that answers
// GET and HEAD with byte ranges (`bytes=a-b`, `bytes=a-`, `bytes=-n`) and
// counts what it was asked: how many HEADs and GETs, and each Range header.
// For what nginx cannot show (its requests) or do on cue (ignore Range, be
// slow). Started by the tests that need it on 127.0.0.1, closed after.
import * as http from "node:http";
import * as fs from "node:fs";
import * as path from "node:path";
import { Buffer } from "node:buffer";

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
  /**
   * How a GET for several ranges (`bytes=a-b,c-d`) is answered. Unset: 200 with the whole file (as a server
   * without multi-range support may); "multipart": 206 multipart/byteranges, parts in order (a quoted
   * boundary); "reorder": the same, parts last first; "first": 206 with the first range only; "coalesce":
   * 206 with one range from the first byte asked to the last; "truncate-once": multipart, but the first such
   * answer stops halfway through and drops the connection.
   */
  multiRange?: "multipart" | "reorder" | "first" | "coalesce" | "truncate-once";
}

const BOUNDARY = "lsio test boundary 0042";

/** A multipart/byteranges body of `parts` of `body`. */
function multipart(body: Buffer, parts: [number, number][]): Buffer {
  const chunks: Buffer[] = [];
  for (const [a, b] of parts) {
    chunks.push(Buffer.from(
      `\r\n--${BOUNDARY}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${a}-${b}/${body.length}\r\n\r\n`,
    ));
    chunks.push(body.subarray(a, b + 1));
  }
  chunks.push(Buffer.from(`\r\n--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

export async function rangeServer(root: string, options: RangeServerOptions = {}): Promise<RangeServer> {
  let heads = 0, gets = 0, truncated = false;
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
    const several = /^bytes=\d+-\d+(,\d+-\d+)+$/.test(range) && options.multiRange && !options.ignoreRange;
    setTimeout(() => {
      if (several) {
        const parts = range.slice(6).split(",").map((r) => r.split("-").map(Number) as [number, number])
          .map(([a, b]) => [a, Math.min(b, body.length - 1)] as [number, number]);
        const mode = options.multiRange!;
        if (mode === "first" || mode === "coalesce") {
          const [a, b] = mode === "first" ? parts[0] : [parts[0][0], parts[parts.length - 1][1]];
          res.writeHead(206, { "content-range": `bytes ${a}-${b}/${body.length}`, "content-length": b - a + 1 });
          return void res.end(body.subarray(a, b + 1));
        }
        const out = multipart(body, mode === "reorder" ? parts.reverse() : parts);
        res.writeHead(206, {
          "content-type": `multipart/byteranges; boundary="${BOUNDARY}"`,
          "content-length": out.length,
        });
        if (mode === "truncate-once" && !truncated) {
          truncated = true;
          res.write(out.subarray(0, out.length >> 1));
          return void setTimeout(() => res.socket?.destroy(), 10);
        }
        return void res.end(out);
      }
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
