// https:// (issue 14): nginx serving the corpus over TLS with HTTP/2 offered
// (ALPN), its certificate signed by a private CA made here with openssl, trusted through
// `remote.caFile`. The bytes equal the local files' for reads of every range
// kind, through a Reader and a WorkerPool; the transfers go over HTTP/2,
// multiplexed onto few connections (nginx's access log says which protocol
// and connection served each request); without the CA every chunk fails with
// EPROTO naming its URL; a CA file that cannot be read fails the open; the
// bundle may come from AWS_CA_BUNDLE or CURL_CA_BUNDLE (a child reader).
import * as fs from "node:fs";
import * as path from "node:path";
import { Buffer } from "node:buffer";
import { LsioError, Reader, WorkerPool } from "../mod.ts";
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { removeDir, rng, tempDir } from "./_helpers.ts";
import { makeCertificate, type Nginx, startNginx } from "./_nginx.ts";
import { makeCorpus, randomRequest } from "./_ranges.ts";
import { test } from "./_shim.ts";
import { readInChild } from "./_read_child_run.ts";

const SEED = 20261207;
const corpus = makeCorpus(SEED, "lsio-tls-");
const work = tempDir("lsio-tls-work-");
const { cert, key, ca } = makeCertificate(work);
let nginx: Nginx | undefined;
const url = (p: string) => nginx!.url + path.basename(p);

/** The served requests nginx logged since `from` lines: [protocol, status, connection]. */
function logged(from = 0): string[][] {
  const text = fs.existsSync(nginx!.accessLog) ? fs.readFileSync(nginx!.accessLog, "utf8") : "";
  return text.split("\n").filter(Boolean).slice(from).map((l) => l.split(" "));
}

test("tls: nginx serves https (a certificate openssl made for 127.0.0.1) with HTTP/2 offered", async () => {
  nginx = await startNginx(corpus.dir, path.join(work, "nginx"), { tls: { cert, key }, accessLog: true });
  assert(nginx.url.startsWith("https://127.0.0.1:"), nginx.url);
});

test("tls: with remote.caFile every range kind reads the local bytes, over HTTP/2 on few connections", async () => {
  await using reader = await Reader.open({ remote: { caFile: ca } });
  assertEquals(reader.info.remote.caFile, ca);
  const r = rng(SEED + 1);
  const reqs = Array.from({ length: 2000 }, () => randomRequest(r, corpus));
  const before = logged().length;
  const [local, remote] = [
    await reader.read(reqs.map(({ path, start, end }) => ({ path, start, end }))),
    await reader.read(reqs.map(({ path: p, start, end }) => ({ path: url(p), start, end }))),
  ];
  let bytes = 0;
  local.forEach((a, i) => {
    const b = remote[i];
    if (a instanceof LsioError || b instanceof LsioError) {
      assertEquals(b instanceof LsioError ? b.code : "ok", a instanceof LsioError ? a.code : "ok", `#${i}`);
    } else {
      assert(Buffer.from(b).equals(Buffer.from(a)), `#${i}: ${b.byteLength} bytes, want ${a.byteLength}`);
      bytes += a.byteLength;
    }
  });
  assert(bytes > 1 << 20, `${bytes} bytes compared`);
  const lines = logged(before);
  assert(lines.length > 0, "nginx logged the requests");
  const protocols = new Set(lines.map((l) => l[0]));
  assertEquals([...protocols], ["HTTP/2.0"], "every request over HTTP/2");
  // Multiplexed: many requests in flight at once share a connection (curl waits for the first one's protocol).
  const connections = new Set(lines.map((l) => l[2])).size;
  assert(connections <= 4, `${lines.length} requests over ${connections} connections`);
});

test("tls: a WorkerPool's workers trust remote.caFile too", async () => {
  await using pool = await WorkerPool.open({ workers: 2, remote: { caFile: ca } });
  const files = corpus.paths.filter((_, i) => corpus.contents[i].length >= 4096).slice(0, 8);
  const reqs = files.flatMap((p) => [0, 1000, 3000].map((s) => ({ path: url(p), start: s, end: s + 64 })));
  const out = await pool.map(reqs, { transform: (c: Uint8Array) => Array.from(c.subarray(0, 8)) });
  reqs.forEach((q, i) => {
    const want = corpus.contents[corpus.paths.indexOf(files[Math.floor(i / 3)])].subarray(q.start, q.start + 8);
    assertEquals(out[i], Array.from(want), `request ${i}`);
  });
});

test("tls: without the CA each chunk is EPROTO naming its URL; an unreadable caFile fails the open", async () => {
  await using reader = await Reader.open();
  const target = url(corpus.paths[5]);
  const [res] = await reader.read([{ path: target, start: 0, end: 16 }]);
  assert(res instanceof LsioError, "an untrusted certificate is refused");
  assertEquals([res.code, res.path], ["EPROTO", target]);
  assert(/certificate|SSL/i.test(res.message), res.message);
  const missing = path.join(work, "no-such-ca.pem");
  const e = await assertRejects(() => Reader.open({ remote: { caFile: missing } }), LsioError);
  assertEquals([e.code, e.path], ["ENOENT", missing]);
  await assertRejects(() => Reader.open({ remote: { caFile: "" } }), TypeError, "caFile");
  await assertRejects(() => WorkerPool.open({ workers: 1, remote: { caFile: 7 as never } }), TypeError, "caFile");
});

test("tls: the CA bundle from AWS_CA_BUNDLE or CURL_CA_BUNDLE when remote.caFile is not given; the option beats them", async () => {
  const target = url(corpus.paths[7]);
  const want = corpus.contents[7].subarray(100, 164);
  let sum = 0;
  for (const b of want) sum = (sum * 31 + b) >>> 0;
  const reqs = [{ path: target, start: 100, end: 164 }];
  for (const name of ["AWS_CA_BUNDLE", "CURL_CA_BUNDLE"]) {
    assertEquals(await readInChild(reqs, { [name]: ca }), [{ length: 64, sum }], name);
  }
  const none = await readInChild(reqs, {});
  assertEquals(none[0].code, "EPROTO", "no CA given: the system's, which do not know this one");
  const missing = path.join(work, "missing-ca.pem");
  const wrong = await readInChild(reqs, { AWS_CA_BUNDLE: missing });
  assertEquals([wrong.openError, wrong.path], ["ENOENT", missing], "an unreadable bundle from the environment");
  assert(
    String((wrong as { message?: string }).message).includes("AWS_CA_BUNDLE"),
    "the message says where it came from",
  );
  const option = await readInChild(reqs, { AWS_CA_BUNDLE: missing }, { remote: { caFile: ca } });
  assertEquals(option, [{ length: 64, sum }], "remote.caFile beats the environment");
});

test("tls: cleanup", async () => {
  await nginx?.stop();
  removeDir(work);
  removeDir(corpus.dir);
});
