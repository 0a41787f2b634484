// Builds the npm packages of light-speed-io into dist/ (run through .ci/pack,
// which installs the toolchains first). Every package gets one version: the
// one package.json, deno.json and ffi/version.ts agree on (checked here).
//
//   deno run -A .ci/pack.ts [--no-tarballs]
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { libraryFileName, platformPackage, PLATFORMS } from "../ffi/library.ts";
import { VERSION } from "../ffi/version.ts";

const ROOT = path.resolve(new URL("..", import.meta.url).pathname);
const DIST = path.join(ROOT, "dist");
const NPM = path.join(DIST, "npm");
const ZIG = path.join(ROOT, ".tools/ziglang/ziglang/zig");
const ARM64 = path.join(ROOT, ".tools/arm64/usr/lib/aarch64-linux-gnu");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");

type Platform = (typeof PLATFORMS)[number];

/**
 * How each platform's library is built. The Linux builds target glibc 2.28
 * (Debian 10, RHEL 8 and newer) and, on x86-64, the x86-64-v2 level (SSE4.2,
 * every x86 server since 2009) instead of this machine's CPU, so the library
 * loads wherever the package installs; a local build (`bash .ci/setup`) uses
 * the native CPU.
 */
const BUILDS: Record<Platform, { target: string; cpu?: string; os: string; cpuField: string; libc?: string }> = {
  "linux-x64-gnu": { target: "x86_64-linux-gnu.2.28", cpu: "x86_64_v2", os: "linux", cpuField: "x64", libc: "glibc" },
  "linux-arm64-gnu": { target: "aarch64-linux-gnu.2.28", os: "linux", cpuField: "arm64", libc: "glibc" },
  "darwin-arm64": { target: "aarch64-macos", os: "darwin", cpuField: "arm64" },
  "darwin-x64": { target: "x86_64-macos", os: "darwin", cpuField: "x64" },
  "win32-x64": { target: "x86_64-windows-gnu", os: "win32", cpuField: "x64" },
};

function run(cmd: string, args: string[], cwd = ROOT): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

function say(msg: string): void {
  console.error(`[pack] ${msg}`);
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
}

/** The repo's package.json, deno.json and ffi/version.ts must name one version. */
function checkVersions(): Record<string, any> {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const deno = JSON.parse(fs.readFileSync(path.join(ROOT, "deno.json"), "utf8"));
  if (pkg.version !== VERSION || deno.version !== VERSION) {
    throw new Error(
      `versions differ: package.json ${pkg.version}, deno.json ${deno.version}, ffi/version.ts ${VERSION}`,
    );
  }
  return pkg;
}

/** One platform package: the library, and index.js exporting its path. */
function buildPlatform(platform: Platform): void {
  const b = BUILDS[platform];
  const prefix = path.join(DIST, "native", platform);
  const args = ["build", "lib", `-Dtarget=${b.target}`, "-Doptimize=ReleaseFast", "-Dstrip=true", "--prefix", prefix];
  if (b.cpu) args.push(`-Dcpu=${b.cpu}`);
  if (platform === "linux-arm64-gnu") args.push(`-Dliburing=${ARM64}/liburing.a`, `-Dzstd=${ARM64}/libzstd.a`);
  say(`zig ${args.join(" ")}`);
  run(ZIG, args);
  const file = libraryFileName(b.os);
  const built = path.join(prefix, b.os === "win32" ? "bin" : "lib", file);
  const dir = path.join(NPM, platform);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(built, path.join(dir, file));
  fs.copyFileSync(path.join(ROOT, "LICENSE"), path.join(dir, "LICENSE"));
  fs.writeFileSync(
    path.join(dir, "index.js"),
    `// The LSIO native library for ${platform}. light-speed-io finds it through\n` +
      `// this package (Node resolution, or Deno's npm: import); nothing else uses it.\n` +
      `import { fileURLToPath } from "node:url";\n\n` +
      `/** Absolute path of ${file} in this package. */\n` +
      `export const libraryPath = fileURLToPath(new URL("./${file}", import.meta.url));\n`,
  );
  fs.writeFileSync(
    path.join(dir, "index.d.ts"),
    `/** Absolute path of ${file} in this package. */\nexport declare const libraryPath: string;\n`,
  );
  const untested = b.os === "linux"
    ? ""
    : " Cross-compiled (portable backend, no io_uring); not run by LSIO's CI, which has only Linux.";
  fs.writeFileSync(
    path.join(dir, "README.md"),
    `# ${
      platformPackage(platform)
    }\n\nThe native library of [light-speed-io](https://www.npmjs.com/package/light-speed-io) ` +
      `for ${platform}, installed as its optional dependency. Install \`light-speed-io\`, not this.${untested}\n`,
  );
  writeJson(path.join(dir, "package.json"), {
    name: platformPackage(platform),
    version: VERSION,
    description: `The light-speed-io native library for ${platform}.`,
    license: "MIT",
    type: "module",
    os: [b.os],
    cpu: [b.cpuField],
    ...(b.libc ? { libc: [b.libc] } : {}),
    main: "./index.js",
    types: "./index.d.ts",
    exports: { ".": { types: "./index.d.ts", default: "./index.js" }, "./package.json": "./package.json" },
    files: [file, "index.js", "index.d.ts", "README.md", "LICENSE"],
  });
}

/**
 * The main package: the TypeScript sources compiled by tsc to JavaScript and
 * declarations, so no runtime has to strip types under node_modules.
 */
function buildMain(pkg: Record<string, any>): void {
  const dir = path.join(NPM, "light-speed-io");
  const work = path.join(DIST, ".tsc");
  fs.mkdirSync(work, { recursive: true });
  // Deno's own declarations (ffi/deno.ts calls Deno.dlopen), without the
  // `/// <reference lib="deno.*">` lines only Deno's checker knows.
  const denoTypes = run(path.join(ROOT, "node_modules/.bin/deno"), ["types"]);
  fs.writeFileSync(
    path.join(work, "deno.d.ts"),
    denoTypes.split("\n").filter((l) => !l.startsWith("/// <reference")).join("\n"),
  );
  // ffi/_deno_npm.ts imports the platform packages by npm: specifier (Deno only).
  fs.writeFileSync(
    path.join(work, "npm_specifiers.d.ts"),
    'declare module "npm:*" {\n  export const libraryPath: string;\n}\n',
  );
  writeJson(path.join(work, "tsconfig.json"), {
    compilerOptions: {
      target: "es2022",
      module: "esnext",
      moduleResolution: "bundler",
      lib: ["esnext"],
      types: [],
      strict: true,
      skipLibCheck: true,
      declaration: true,
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
      rootDir: ROOT,
      outDir: dir,
    },
    include: [
      `${ROOT}/mod.ts`,
      `${ROOT}/zarr.ts`,
      `${ROOT}/src/**/*.ts`,
      `${ROOT}/ffi/**/*.ts`,
      "./deno.d.ts",
      "./npm_specifiers.d.ts",
      `${ROOT}/node_modules/@types/node/index.d.ts`,
    ],
    exclude: [`${ROOT}/**/*_test.ts`],
  });
  say("tsc: mod.ts, zarr.ts, src/, ffi/ → dist/npm/light-speed-io (JavaScript + .d.ts)");
  fs.rmSync(dir, { recursive: true, force: true });
  run("node", [TSC, "-p", path.join(work, "tsconfig.json")]);
  rewriteSpecifiers(dir);
  for (const f of ["README.md", "LICENSE"]) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  const entry = (name: string) => ({
    types: `./${name}.d.ts`,
    bun: `./${name}.js`,
    deno: `./${name}.js`,
    default: `./${name}.js`,
  });
  writeJson(path.join(dir, "package.json"), {
    name: pkg.name,
    version: VERSION,
    description: pkg.description,
    license: pkg.license,
    type: "module",
    main: "./mod.js",
    types: "./mod.d.ts",
    exports: { ".": entry("mod"), "./zarr": entry("zarr"), "./package.json": "./package.json" },
    files: ["mod.js", "mod.d.ts", "zarr.js", "zarr.d.ts", "src/", "ffi/", "README.md", "LICENSE"],
    engines: pkg.engines,
    dependencies: pkg.dependencies,
    optionalDependencies: Object.fromEntries(PLATFORMS.map((p) => [platformPackage(p), VERSION])),
  });
}

/**
 * tsc rewrites `./x.ts` in import statements but not in module URLs built by
 * hand (`new URL("./_pool_worker.ts", import.meta.url)`, the Worker and the
 * decode module) nor in the declarations; both are rewritten here, and any
 * relative `.ts` specifier left over fails the build.
 */
function rewriteSpecifiers(dir: string): void {
  const walk = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]
    );
  for (const file of walk(dir)) {
    if (!file.endsWith(".js") && !file.endsWith(".d.ts")) continue;
    const before = fs.readFileSync(file, "utf8");
    const after = before
      .replace(/new URL\("(\.\.?\/[^"]+)\.ts", import\.meta\.url\)/g, 'new URL("$1.js", import.meta.url)')
      .replace(/(from |import\()"(\.\.?\/[^"]+)\.ts"/g, '$1"$2.js"');
    if (after !== before) fs.writeFileSync(file, after);
    const left = after.match(/(from |import\(|new URL\()["'`]\.\.?\/[^"'`]*\.ts["'`]/);
    if (left) throw new Error(`${path.relative(dir, file)} still names a .ts module: ${left[0]}`);
  }
}

function main(): void {
  const pkg = checkVersions();
  fs.rmSync(NPM, { recursive: true, force: true });
  for (const platform of PLATFORMS) buildPlatform(platform);
  buildMain(pkg);
  if (Deno.args.includes("--no-tarballs")) return;
  const out = path.join(DIST, "tarballs");
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  for (const d of ["light-speed-io", ...PLATFORMS]) {
    run("npm", ["pack", "--silent", "--pack-destination", out], path.join(NPM, d));
  }
  say(`${fs.readdirSync(out).length} tarballs in ${path.relative(ROOT, out)}/: ${fs.readdirSync(out).join(", ")}`);
}

main();
