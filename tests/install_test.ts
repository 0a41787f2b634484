// Installing LSIO as a user does, with no checkout, no zig and no build: every
// npm package (.ci/pack) published to a real registry (Verdaccio on
// 127.0.0.1), then in fresh folders outside the repo — PATH stripped of the
// repo's tools, no LSIO_LIBRARY_PATH —
//   * `npm install light-speed-io` (and `bun add`) and a Bun script: reads,
//     WorkerPool transform;
//   * Deno with `npm:light-speed-io` (and `npm:light-speed-io/zarr` on a fixture);
//   * `npm install --omit=optional`: the documented error, word for word;
//   * the JSR-style flow: the published source files served over HTTP and
//     imported by URL, the library found through the platform package.
// One run drives both runtimes, so it is registered under Deno only.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { notFoundMessage } from "../ffi/library.ts";
import { VERSION } from "../ffi/version.ts";
import { assert, assertEquals } from "./_assert.ts";
import { testOnly } from "./_shim.ts";

const ROOT = path.resolve(new URL("..", import.meta.url).pathname);
const DENO = path.join(ROOT, "node_modules/deno/deno");
const BUN = path.join(ROOT, "node_modules/bun/bin/bun.exe");
const FIXTURE = path.join(ROOT, "tests/fixtures/zarr-python-v3/data.zarr/3d.chunked.mixed.compressed.sharded.i2");

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end without blocking this process's event loop (the servers below live in it). */
async function sh(cmd: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<Ran> {
  const out = await new Deno.Command(cmd, { args, cwd: opts.cwd, env: opts.env, clearEnv: true }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function must(r: Ran, what: string): string {
  assertEquals(r.code, 0, `${what} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * The environment of a user's shell: this one's PATH without the repo's tools,
 * the machine's network settings (proxies, CA certificates), nothing LSIO- or
 * npm-specific.
 */
function userEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const path = (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":").filter((d) => d && !d.startsWith(ROOT));
  const network = Object.entries(Deno.env.toObject()).filter(([k]) => /proxy|CERT|CA_BUNDLE|^SSL_/i.test(k));
  return {
    ...Object.fromEntries(network),
    PATH: path.join(":"),
    HOME: home,
    NO_COLOR: "1",
    TMPDIR: os.tmpdir(),
    ...extra,
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitFor(url: string, child: Deno.ChildProcess, what: string): Promise<void> {
  const until = Date.now() + 60_000;
  let exited = false;
  child.status.then(() => (exited = true));
  while (Date.now() < until && !exited) {
    try {
      const r = await fetch(url);
      await r.body?.cancel();
      if (r.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up on ${url}${exited ? " (it exited)" : ""}`);
}

/** The registry this machine's npm uses (where zarrita comes from). */
function upstreamRegistry(): string {
  const r = new Deno.Command("npm", { args: ["config", "get", "registry"], stderr: "null" }).outputSync();
  const url = new TextDecoder().decode(r.stdout).trim();
  return r.success && /^https?:\/\//.test(url) ? url : "https://registry.npmjs.org/";
}

/** Verdaccio on 127.0.0.1 with a fresh storage, and a stop function. */
async function startRegistry(work: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = freePort();
  const dir = path.join(work, "verdaccio");
  fs.mkdirSync(path.join(dir, "plugins"), { recursive: true });
  const config = fs.readFileSync(path.join(ROOT, "tests/registry/config.yaml"), "utf8")
    .replaceAll("@DIR@", dir).replaceAll("@PORT@", String(port)).replaceAll("@UPLINK@", upstreamRegistry());
  fs.writeFileSync(path.join(dir, "config.yaml"), config);
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      `exec node "$0" --config "$1" >"$2" 2>&1`,
      path.join(ROOT, ".tools/verdaccio/node_modules/verdaccio/bin/verdaccio"),
      `${dir}/config.yaml`,
      `${dir}/verdaccio.log`,
    ],
    env: { ...userEnv(work) },
    clearEnv: true,
  }).spawn();
  const url = `http://127.0.0.1:${port}/`;
  await waitFor(`${url}-/ping`, child, "Verdaccio");
  return {
    url,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone already */ }
      await child.status;
    },
  };
}

/** The JSR package's file set (deno.json "publish") copied to `dir`, to be served as JSR serves it: by URL. */
function copyPublishedFiles(dir: string): void {
  const deno = JSON.parse(fs.readFileSync(path.join(ROOT, "deno.json"), "utf8"));
  for (const entry of deno.publish.include as string[]) {
    const from = path.join(ROOT, entry);
    if (!fs.existsSync(from)) throw new Error(`deno.json publish.include names ${entry}, which does not exist`);
    fs.cpSync(from, path.join(dir, entry), {
      recursive: true,
      filter: (p) => !p.endsWith("_test.ts") && !p.includes(`${path.sep}tests${path.sep}`),
    });
  }
}

/** A static file server for `dir` on 127.0.0.1 (TypeScript served as such), in this process. */
function serveFiles(dir: string): { url: string; server: Deno.HttpServer } {
  const port = freePort();
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const rel = decodeURIComponent(new URL(req.url).pathname).replace(/^\/+/, "");
    const file = path.join(dir, rel);
    if (!file.startsWith(dir + path.sep)) return new Response("no", { status: 403 });
    try {
      const body = await Deno.readFile(file);
      const type = file.endsWith(".ts") ? "application/typescript" : "application/octet-stream";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { url: `http://127.0.0.1:${port}/`, server };
}

// The user's script: one range read, then a WorkerPool map whose transform sums each 4 KiB chunk.
const userScript = (specifier: string) => `
import { Reader, WorkerPool } from ${JSON.stringify(specifier)};
const file = process.argv.at(-1);
await using reader = await Reader.open();
const [head] = await reader.read([{ path: file, start: 1000, end: 1016 }]);
await using pool = await WorkerPool.open({ workers: 2 });
const n = 32;
const start = Float64Array.from({ length: n }, (_, k) => k * 4096);
const sums = await pool.map(
  { paths: [file], file: new Uint32Array(n), start, end: start.map((s) => s + 4096) },
  { transform: (chunk) => { let s = 0; for (let i = 0; i < chunk.length; i++) s += chunk[i]; return s; } },
);
console.log(JSON.stringify({ library: reader.info.libraryPath, head: Array.from(head), sums: Array.from(sums) }));
`;

const zarrScript = (specifier: string) => `
import { ShardedArray } from ${JSON.stringify(specifier)};
await using arr = await ShardedArray.open(process.argv.at(-1));
const { data, shape } = await arr.read();
console.log(JSON.stringify({ shape, data: Array.from(data) }));
`;

function lastJson(out: string): Record<string, any> {
  const line = out.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line);
}

testOnly(
  "deno",
  "one run drives the npm, Bun and Deno installs itself",
  "install: npm, Bun and Deno users install light-speed-io from a registry (no checkout, no zig) and read, transform, read Zarr",
  async () => {
    must(
      await sh("bash", [path.join(ROOT, "tests/registry/prepare.sh")], { cwd: ROOT, env: Deno.env.toObject() }),
      "tests/registry/prepare.sh",
    );
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "lsio-install-"));
    const registry = await startRegistry(work);
    const home = path.join(work, "home");
    fs.mkdirSync(home);
    // npm reads no config of the developer's: its own user config with the token Verdaccio takes, its own cache.
    const npmrc = path.join(work, "npmrc");
    fs.writeFileSync(npmrc, `registry=${registry.url}\n//${new URL(registry.url).host}/:_authToken=test-token\n`);
    const npm = (args: string[], cwd: string) =>
      sh("npm", [...args, "--userconfig", npmrc, "--cache", path.join(work, "npm-cache"), "--no-audit", "--no-fund"], {
        cwd,
        env: userEnv(home),
      });
    let served: Deno.HttpServer | undefined;
    try {
      // The compiled core's static import graph holds no Zarr module and no zarrita (as the sources' does).
      const pkgDir = path.join(ROOT, "dist/npm/light-speed-io");
      const graph = new Set<string>();
      const visit = (file: string) => {
        if (graph.has(file)) return;
        graph.add(file);
        for (const m of fs.readFileSync(file, "utf8").matchAll(/^(?:import|export)[^;]*? from "([^"]+)"/gm)) {
          if (m[1].startsWith(".")) visit(path.resolve(path.dirname(file), m[1]));
          else graph.add(m[1]);
        }
      };
      visit(path.join(pkgDir, "mod.js"));
      assert(graph.size > 5, [...graph].join("\n"));
      assertEquals([...graph].filter((m) => m.includes("zarrita") || m.includes("/src/zarr/")), []);

      const tarballs = fs.readdirSync(path.join(ROOT, "dist/tarballs")).filter((f) => f.endsWith(`-${VERSION}.tgz`));
      assertEquals(tarballs.length, 6, tarballs.join(", "));
      for (const t of tarballs) must(await npm(["publish", path.join(ROOT, "dist/tarballs", t)], work), `publish ${t}`);

      const data = path.join(work, "data.bin");
      const bytes = Uint8Array.from({ length: 32 * 4096 }, (_, i) => (i * 7 + (i >> 12)) & 255);
      fs.writeFileSync(data, bytes);
      const expectSums = Array.from(
        { length: 32 },
        (_, k) => bytes.subarray(k * 4096, (k + 1) * 4096).reduce((a, b) => a + b, 0),
      );
      const check = (out: Record<string, any>, libraryUnder: string, who: string) => {
        assertEquals(out.head, Array.from(bytes.subarray(1000, 1016)), `${who}: the range read`);
        assertEquals(out.sums, expectSums, `${who}: the pool's transform`);
        assert(
          String(out.library).startsWith(libraryUnder) && String(out.library).includes("linux-x64-gnu"),
          `${who} loaded ${out.library}, not the platform package under ${libraryUnder}`,
        );
      };

      // 1. npm install + Bun.
      const app = path.join(work, "bun-app");
      fs.mkdirSync(app);
      must(await npm(["init", "-y"], app), "npm init");
      must(await npm(["install", "light-speed-io"], app), "npm install light-speed-io");
      assert(fs.existsSync(path.join(app, "node_modules/@light-speed-io/linux-x64-gnu/liblsio.so")));
      for (const other of ["darwin-arm64", "darwin-x64", "win32-x64", "linux-arm64-gnu"]) {
        assert(!fs.existsSync(path.join(app, `node_modules/@light-speed-io/${other}`)), `${other} not installed`);
      }
      fs.writeFileSync(path.join(app, "read.js"), userScript("light-speed-io"));
      check(
        lastJson(must(await sh(BUN, ["read.js", data], { cwd: app, env: userEnv(home) }), "bun read.js")),
        app,
        "bun",
      );

      // 1b. bun add (Bun's own installer), same script.
      const bunApp = path.join(work, "bun-add-app");
      fs.mkdirSync(bunApp);
      fs.writeFileSync(path.join(bunApp, "package.json"), '{ "name": "bun-add-app", "private": true }\n');
      const bunEnv = userEnv(home, {
        BUN_CONFIG_REGISTRY: registry.url,
        BUN_INSTALL_CACHE_DIR: path.join(work, "bun-cache"),
      });
      must(await sh(BUN, ["add", "light-speed-io"], { cwd: bunApp, env: bunEnv }), "bun add light-speed-io");
      fs.writeFileSync(path.join(bunApp, "read.js"), userScript("light-speed-io"));
      check(
        lastJson(must(await sh(BUN, ["read.js", data], { cwd: bunApp, env: bunEnv }), "bun (bun add)")),
        bunApp,
        "bun add",
      );

      // 2. Deno with npm: specifiers, no package.json, the registry from the environment.
      const denoApp = path.join(work, "deno-app");
      fs.mkdirSync(denoApp);
      const denoDir = path.join(work, "deno-dir");
      const denoEnv = userEnv(home, { NPM_CONFIG_REGISTRY: registry.url, DENO_DIR: denoDir });
      // Packages published a moment ago: Deno holds back versions younger than a day unless told.
      const denoRun = ["run", "-A", "--minimum-dependency-age=0"];
      fs.writeFileSync(path.join(denoApp, "read.js"), userScript(`npm:light-speed-io@${VERSION}`));
      const viaDeno = lastJson(
        must(await sh(DENO, [...denoRun, "read.js", data], { cwd: denoApp, env: denoEnv }), "deno"),
      );
      check(viaDeno, denoDir, "deno npm:");
      fs.writeFileSync(path.join(denoApp, "zarr.js"), zarrScript(`npm:light-speed-io@${VERSION}/zarr`));
      const z = lastJson(
        must(await sh(DENO, [...denoRun, "zarr.js", FIXTURE], { cwd: denoApp, env: denoEnv }), "deno zarr"),
      );
      const arr = await zarr.open.v3(zarr.root(new FileSystemStore(FIXTURE)), { kind: "array" });
      const expect = await zarr.get(arr);
      assertEquals(z.shape, expect.shape);
      assertEquals(z.data, Array.from(expect.data as Int16Array));

      // 3. No platform package (--omit=optional): the documented error, word for word.
      const bare = path.join(work, "no-optional");
      fs.mkdirSync(bare);
      must(await npm(["init", "-y"], bare), "npm init");
      must(await npm(["install", "light-speed-io", "--omit=optional"], bare), "npm install --omit=optional");
      assert(!fs.existsSync(path.join(bare, "node_modules/@light-speed-io")));
      fs.writeFileSync(
        path.join(bare, "open.js"),
        'import { Reader } from "light-speed-io";\n' +
          "try { await Reader.open(); console.log('opened'); } catch (e) { console.log(e.message); }\n",
      );
      const refused = must(await sh(BUN, ["open.js"], { cwd: bare, env: userEnv(home) }), "bun open.js");
      assertEquals(refused.trim(), notFoundMessage("linux-x64-gnu", "linux"));

      // 4. JSR-style: the published sources imported by URL; the library comes through an npm: import.
      const site = path.join(work, "site");
      copyPublishedFiles(site);
      const srv = serveFiles(site);
      served = srv.server;
      const jsrApp = path.join(work, "jsr-app");
      fs.mkdirSync(jsrApp);
      fs.writeFileSync(
        path.join(jsrApp, "read.ts"),
        userScript(`${srv.url}mod.ts`).replace("process.argv.at(-1)", "Deno.args[0]"),
      );
      const jsrDir = path.join(work, "deno-dir-jsr");
      const viaUrl = lastJson(
        must(
          await sh(DENO, [...denoRun, "read.ts", data], {
            cwd: jsrApp,
            env: userEnv(home, { NPM_CONFIG_REGISTRY: registry.url, DENO_DIR: jsrDir }),
          }),
          "deno run (by URL)",
        ),
      );
      check(viaUrl, jsrDir, "deno by URL");
    } catch (e) {
      console.error(`Verdaccio's log:\n${fs.readFileSync(path.join(work, "verdaccio/verdaccio.log"), "utf8")}`);
      throw e;
    } finally {
      await served?.shutdown();
      await registry.stop();
      fs.rmSync(work, { recursive: true, force: true });
    }
  },
);
