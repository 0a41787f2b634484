// Proxies (issue 14): libcurl takes `http_proxy` / `HTTPS_PROXY` and
// `NO_PROXY` from the environment, as curl does, and LSIO passes them through
// untouched. A child reader (tests/_read_child.ts, its own environment) reads
// ranges of http:// URLs of an origin server with `http_proxy` pointing at a
// second server on 127.0.0.1: every GET reaches the proxy, none the origin,
// and the bytes are the files'. With `NO_PROXY` naming the host they go
// straight to the origin. https:// URLs take `HTTPS_PROXY`: a CONNECT proxy
// (node:http, in this process) tunnels them to nginx over TLS.
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import type { Buffer } from "node:buffer";
import { assert, assertEquals } from "./_assert.ts";
import { makeCertificate, startNginx } from "./_nginx.ts";
import { removeDir, tempDir, writeRandomFile } from "./_helpers.ts";
import { rangeServer } from "./_range_server.ts";
import { test } from "./_shim.ts";
import { readInChild } from "./_read_child_run.ts";
import * as fs from "node:fs";

const dir = tempDir("lsio-proxy-");
const files = [0, 1, 2].map((i) => writeRandomFile(dir, `p${i}.bin`, 100_000 + i, 70 + i));

/** What the child must print for the requests. */
function expected(requests: { start: number; end: number; f: number }[]) {
  return requests.map(({ start, end, f }) => {
    const bytes = fs.readFileSync(files[f]).subarray(start, end);
    let sum = 0;
    for (const b of bytes) sum = (sum * 31 + b) >>> 0;
    return { length: bytes.length, sum };
  });
}

test("proxy: http_proxy routes every GET through the proxy; NO_PROXY for the host goes straight to the origin", async () => {
  const origin = await rangeServer(dir);
  const proxy = await rangeServer(dir); // answers absolute-form requests ("GET http://host/p0.bin") from the same files
  try {
    const want = files.flatMap((_, f) => [0, 5000, 99_000].map((start) => ({ start, end: start + 1000, f })));
    const requests = want.map(({ start, end, f }) => ({ path: origin.url + path.basename(files[f]), start, end }));
    const viaProxy = await readInChild(requests, { http_proxy: proxy.url.replace(/\/$/, "") });
    assertEquals(viaProxy, expected(want));
    assertEquals([proxy.gets, origin.gets], [requests.length, 0], "every GET through the proxy");
    const direct = await readInChild(requests, { http_proxy: proxy.url.replace(/\/$/, ""), NO_PROXY: "127.0.0.1" });
    assertEquals(direct, expected(want));
    assertEquals([proxy.gets, origin.gets], [requests.length, requests.length], "NO_PROXY: straight to the origin");
  } finally {
    await origin.close();
    await proxy.close();
  }
});

test("proxy: HTTPS_PROXY tunnels https:// GETs through a CONNECT proxy (TLS end to end)", async () => {
  const work = tempDir("lsio-proxy-tls-");
  const { cert, key, ca } = makeCertificate(work);
  const nginx = await startNginx(dir, path.join(work, "nginx"), { tls: { cert, key } });
  const tunnels: string[] = [];
  const proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on("connect", (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url!);
    const [host, port] = req.url!.split(":");
    const upstream = net.connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  try {
    const want = files.flatMap((_, f) => [0, 70_000].map((start) => ({ start, end: start + 3000, f })));
    const requests = want.map(({ start, end, f }) => ({ path: nginx.url + path.basename(files[f]), start, end }));
    const got = await readInChild(requests, { HTTPS_PROXY: proxyUrl }, { remote: { caFile: ca } });
    assertEquals(got, expected(want));
    assert(tunnels.length > 0, "the GETs went through CONNECT tunnels");
    assert(tunnels.every((t) => t === `127.0.0.1:${nginx.port}`), tunnels.join(", "));
  } finally {
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
    await nginx.stop();
    removeDir(work);
  }
});

test("proxy: cleanup", () => removeDir(dir));
