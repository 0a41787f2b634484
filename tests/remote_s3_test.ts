// s3:// paths against a real S3 server (versitygw over a local folder, started
// by the test on 127.0.0.1): the same random ranges read as local paths, as
// s3:// objects and (nginx) as http:// URLs are byte-identical; signing with
// wrong or no credentials is refused (EACCES); missing keys and buckets are
// ENOENT; keys with spaces and '+' are encoded as SigV4 wants. The settings'
// resolution (options, environment, ~/.aws profiles) is checked on its own.
import * as fs from "node:fs";
import * as path from "node:path";
import { Buffer } from "node:buffer";
import { LsioError, Reader, resolveS3Config, type S3Environment, WorkerPool } from "../mod.ts";
import { ShardedArray, writeShardedArray } from "../zarr.ts";
import { assert, assertEquals } from "./_assert.ts";
import { randInt, removeDir, rng, tempDir } from "./_helpers.ts";
import { type Nginx, startNginx } from "./_nginx.ts";
import { startVersitygw, type Versitygw } from "./_versitygw.ts";
import { makeCorpus, plain, randomRequest } from "./_ranges.ts";
import { test } from "./_shim.ts";

const SEED = 20261205;
const work = tempDir("lsio-s3-");
const data = path.join(work, "data");
const corpus = makeCorpus(SEED, "lsio-s3-corpus-");
const KEY = `key${Math.floor(Math.random() * 1e9)}`;
const SECRET = `secret${Math.floor(Math.random() * 1e9)}`;
let gateway: Versitygw | undefined;
let endpoint = "";
let nginx: Nginx | undefined;
const s3 = () => ({ endpoint, accessKeyId: KEY, secretAccessKey: SECRET });
const key = (p: string) => `s3://corpus/${path.basename(p)}`;

test("s3: versitygw (a real S3 server over a folder) starts on 127.0.0.1", async () => {
  // A bucket is a folder, an object a file: the corpus is copied straight in.
  fs.mkdirSync(path.join(data, "corpus"), { recursive: true });
  for (const p of corpus.paths) fs.copyFileSync(p, path.join(data, "corpus", path.basename(p)));
  fs.mkdirSync(path.join(data, "corpus", "dir one"), { recursive: true });
  fs.copyFileSync(corpus.paths[8], path.join(data, "corpus", "dir one", "a b+c.bin"));
  fs.copyFileSync(corpus.paths[9], path.join(data, "corpus", "dir one", "ünï=~(x)&y;z.bin"));
  gateway = await startVersitygw(data, KEY, SECRET);
  endpoint = gateway.endpoint;
  nginx = await startNginx(corpus.dir, path.join(work, "nginx"));
});

test("s3: 10^4 random ranges of every kind: local, s3:// (versitygw) and http:// (nginx) byte-identical", async () => {
  await using reader = await Reader.open({ s3: s3() });
  const reqs = plain(Array.from({ length: 10_000 }, () => randomRequest(rng(SEED), corpus)));
  const r = rng(SEED + 1);
  const many = plain(Array.from({ length: 10_000 }, () => randomRequest(r, corpus)));
  for (const batch of [reqs.slice(0, 10), many]) {
    const local = await reader.read(batch);
    const viaS3 = await reader.read(batch.map((q) => ({ ...q, path: key(q.path) })));
    const viaHttp = await reader.read(batch.map((q) => ({ ...q, path: nginx!.url + path.basename(q.path) })));
    let bytes = 0;
    for (let i = 0; i < batch.length; i++) {
      const [a, b, c] = [local[i], viaS3[i], viaHttp[i]];
      if (a instanceof LsioError) {
        assertEquals([(b as LsioError).code, (c as LsioError).code], [a.code, a.code], `request ${i}`);
        assertEquals((b as LsioError).path, key(batch[i].path));
        continue;
      }
      assert(b instanceof Uint8Array && c instanceof Uint8Array, `request ${i}: ${b} / ${c}`);
      assert(Buffer.from(a).equals(Buffer.from(b)) && Buffer.from(a).equals(Buffer.from(c)), `request ${i} differs`);
      bytes += a.byteLength;
    }
    if (batch.length > 10) assert(bytes > 1 << 20, `${bytes} bytes compared`);
  }
});

test("s3: planned reads (cloud profile), keys needing escapes, sizes by HEAD", async () => {
  await using reader = await Reader.open({ s3: s3() });
  const n = 2000;
  const file = new Uint32Array(n), start = new Float64Array(n), end = new Float64Array(n);
  const r = rng(SEED + 2);
  for (let i = 0; i < n; i++) {
    file[i] = i % 4;
    start[i] = Math.floor(r() * 60_000);
    end[i] = start[i] + Math.floor(r() * 3000);
  }
  const names = [8, 9, 11, 12].map((k) => corpus.paths[k]);
  const col = await reader.readColumnar(
    { paths: names.map(key), file, start, end },
    { plan: { profile: "cloud" } },
  );
  assertEquals(col.stats.failed, 0);
  assert(col.stats.readsIssued < n / 4, `the plan merged ${n} ranges into ${col.stats.readsIssued} GETs`);
  for (let i = 0; i < n; i++) {
    const want = fs.readFileSync(names[file[i]]).subarray(start[i], end[i]);
    if (!Buffer.from(col.chunk(i) as Uint8Array).equals(want)) throw new Error(`chunk ${i} differs`);
  }
  const [escaped] = await reader.read([{ path: "s3://corpus/dir one/a b+c.bin", start: 5, end: 25 }]);
  assertEquals(Array.from(escaped as Uint8Array), Array.from(corpus.contents[8].subarray(5, 25)));
  // UTF-8, '=', '~', '(', '&', ';' in a key: the signature covers the path exactly as it is sent.
  const [utf8] = await reader.read([{ path: "s3://corpus/dir one/ünï=~(x)&y;z.bin", start: -100 }]);
  assertEquals(Array.from(utf8 as Uint8Array), Array.from(corpus.contents[9].subarray(-100)));
  const sizes = await reader.fileSizes([key(corpus.paths[9]), "s3://corpus/missing", "s3://no-such-bucket/x"]);
  assertEquals(sizes[0], corpus.contents[9].length);
  assertEquals([(sizes[1] as LsioError).code, (sizes[2] as LsioError).code], ["ENOENT", "ENOENT"]);
  const [gone] = await reader.read([{ path: "s3://corpus/missing", start: 0, end: 10 }]);
  assertEquals([(gone as LsioError).code, (gone as LsioError).httpStatus], ["ENOENT", 404]);
});

test("s3: a wrong secret and unsigned requests are refused (EACCES); the environment's settings are used", async () => {
  await using wrong = await Reader.open({ s3: { ...s3(), secretAccessKey: "not-it" } });
  const [a] = await wrong.read([{ path: key(corpus.paths[3]) }]);
  assertEquals((a as LsioError).code, "EACCES");
  assertEquals((a as LsioError).httpStatus, 403);
  await using anonymous = await Reader.open({ s3: { ...s3(), anonymous: true } });
  const [b] = await anonymous.read([{ path: key(corpus.paths[3]) }]);
  assertEquals((b as LsioError).code, "EACCES");
  // Options beat the environment: AWS_* point at the server, and reads work with no s3 option at all.
  const saved = { ...process.env };
  try {
    process.env.AWS_ENDPOINT_URL_S3 = endpoint;
    process.env.AWS_ACCESS_KEY_ID = KEY;
    process.env.AWS_SECRET_ACCESS_KEY = SECRET;
    process.env.AWS_REGION = "us-east-1";
    await using fromEnv = await Reader.open();
    const [c] = await fromEnv.read([{ path: key(corpus.paths[3]), start: 1, end: 3 }]);
    assertEquals(Array.from(c as Uint8Array), Array.from(corpus.contents[3].subarray(1, 3)));
  } finally {
    for (const k of ["AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
});

test("s3: a sharded Zarr array in a bucket (ShardedArray, main thread and a pool whose workers sign too)", async () => {
  const r = rng(SEED + 3);
  const shape = [30, 44];
  const values = Int32Array.from({ length: 30 * 44 }, () => randInt(r, -1e9, 1e9));
  const local = path.join(work, "arr.zarr");
  await writeShardedArray(local, values, { shape, dtype: "int32", shardShape: [15, 22], chunkShape: [5, 11] });
  fs.cpSync(local, path.join(data, "corpus", "arr.zarr"), { recursive: true });
  await using reader = await Reader.open({ s3: s3() });
  await using pool = await WorkerPool.open({ workers: 2, s3: s3() });
  await using a = await ShardedArray.open(local);
  await using b = await ShardedArray.open("s3://corpus/arr.zarr", { reader });
  for (let k = 0; k < 10; k++) {
    const y = randInt(r, 0, 29), x = randInt(r, 0, 43);
    const sel: [number, number][] = [[y, randInt(r, y, 30)], [x, randInt(r, x, 44)]];
    const want = Array.from((await a.read(sel)).data as Int32Array);
    assertEquals(Array.from((await b.read(sel)).data as Int32Array), want);
    assertEquals(Array.from((await b.read(sel, { pool })).data as Int32Array), want, "through the pool");
  }
});

test("s3 settings: options beat the environment, the environment beats ~/.aws, profiles and defaults", () => {
  const files: Record<string, string> = {
    "/home/u/.aws/credentials": "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n" +
      "[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = DEVSECRET\naws_session_token = DEVTOKEN\n",
    "/home/u/.aws/config":
      "[default]\nregion = eu-west-1\n[profile dev]\nregion = ap-south-1\nendpoint_url = http://dev:9000\n",
  };
  const environment = (vars: Record<string, string>): S3Environment => ({
    env: (k) => vars[k],
    readFile: (f) => files[f],
    home: "/home/u",
  });
  assertEquals(resolveS3Config({}, environment({})), {
    region: "eu-west-1",
    addressing: "virtual",
    accessKeyId: "FILEKEY",
    secretAccessKey: "FILESECRET",
  });
  assertEquals(resolveS3Config({}, environment({ AWS_PROFILE: "dev" })), {
    region: "ap-south-1",
    addressing: "path",
    endpoint: "http://dev:9000",
    accessKeyId: "DEVKEY",
    secretAccessKey: "DEVSECRET",
    sessionToken: "DEVTOKEN",
  });
  const vars = {
    AWS_ACCESS_KEY_ID: "ENVKEY",
    AWS_SECRET_ACCESS_KEY: "ENVSECRET",
    AWS_REGION: "us-west-2",
    AWS_DEFAULT_REGION: "ignored",
    AWS_ENDPOINT_URL: "http://generic:1",
    AWS_ENDPOINT_URL_S3: "http://s3only:2",
  };
  assertEquals(resolveS3Config({}, environment(vars)), {
    region: "us-west-2",
    addressing: "path",
    endpoint: "http://s3only:2",
    accessKeyId: "ENVKEY",
    secretAccessKey: "ENVSECRET",
  });
  assertEquals(
    resolveS3Config(
      { region: "r", endpoint: "http://e", accessKeyId: "K", secretAccessKey: "S", addressing: "virtual" },
      environment(vars),
    ),
    { region: "r", addressing: "virtual", endpoint: "http://e", accessKeyId: "K", secretAccessKey: "S" },
  );
  assertEquals(resolveS3Config({ anonymous: true }, environment(vars)).accessKeyId, undefined);
  assertEquals(resolveS3Config({}, { env: () => undefined, readFile: () => undefined, home: "" }), {
    region: "us-east-1",
    addressing: "virtual",
  });
});

test("s3: cleanup", async () => {
  await gateway?.stop();
  await nginx?.stop();
  removeDir(work);
  removeDir(corpus.dir);
});
