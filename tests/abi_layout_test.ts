// The word layout of every struct TypeScript fills for C (lsio_batch,
// lsio_reduction, lsio_box_copy, lsio_s3_config, lsio_tls_config, lsio_cache_*) is read from the C compiler, not kept in step
// by hand: the fields of each struct are parsed out of csrc/include/lsio.h, a
// small C program printing their offsetof/sizeof is built with the repo's
// zig, and the TypeScript word tables (ffi/native.ts) must match it exactly:
// same fields, same order, one 64-bit word each, nothing missing.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import {
  ABI_VERSION,
  BATCH_WORDS,
  BatchWord,
  BOX_COPY_WORDS,
  BoxCopyWord,
  CACHE_OPTS_WORDS,
  CACHE_STATS_WORDS,
  CacheOptsWord,
  CacheStatsWord,
  OPTS_WORDS,
  REDUCTION_WORDS,
  ReductionWord,
  S3_CONFIG_WORDS,
  S3ConfigWord,
  TLS_CONFIG_WORDS,
  TlsConfigWord,
} from "../ffi/native.ts";
import { assert, assertEquals } from "./_assert.ts";
import { env, test } from "./_shim.ts";

const ROOT = path.resolve(new URL("..", import.meta.url).pathname);
const HEADER = path.join(ROOT, "csrc", "include", "lsio.h");
const ZIG = env("LSIO_ZIG") ?? path.join(ROOT, ".tools", "ziglang", "ziglang", "zig");

/** The field names of `typedef struct name { … } name;` in the header, in order. */
export function structFields(header: string, name: string): string[] {
  const m = header.match(new RegExp(`typedef struct ${name} \\{([\\s\\S]*?)\\} ${name};`));
  if (!m) throw new Error(`struct ${name} not found in lsio.h`);
  const body = m[1].replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  return body.split(";").map((d) => d.trim()).filter(Boolean).map((d) => {
    const f = d.match(/(\w+)\s*(\[[^\]]*\])?$/);
    if (!f) throw new Error(`cannot read the declaration "${d}" of ${name}`);
    return f[1];
  });
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

const TABLES: { struct: string; words: Record<string, number>; count: number }[] = [
  { struct: "lsio_batch", words: BatchWord, count: BATCH_WORDS },
  { struct: "lsio_reduction", words: ReductionWord, count: REDUCTION_WORDS },
  { struct: "lsio_box_copy", words: BoxCopyWord, count: BOX_COPY_WORDS },
  { struct: "lsio_s3_config", words: S3ConfigWord, count: S3_CONFIG_WORDS },
  { struct: "lsio_tls_config", words: TlsConfigWord, count: TLS_CONFIG_WORDS },
  { struct: "lsio_cache_opts", words: CacheOptsWord, count: CACHE_OPTS_WORDS },
  { struct: "lsio_cache_stats", words: CacheStatsWord, count: CACHE_STATS_WORDS },
];

/** offsetof/sizeof of every field of every struct, as the C compiler lays them out. */
function compiledLayout(fields: Record<string, string[]>): Record<string, { size: number; offsets: number[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lsio-abi-"));
  try {
    const lines = [
      "#include <stddef.h>",
      "#include <stdio.h>",
      '#include "lsio.h"',
      "int main(void) {",
      'printf("{");',
    ];
    const structs = [...Object.keys(fields), "lsio_reader_opts", "lsio_reader_info"];
    structs.forEach((s, k) => {
      const offs = (fields[s] ?? []).map((f) => `(unsigned long)offsetof(${s}, ${f})`);
      lines.push(
        `printf("${k ? "," : ""}\\"${s}\\":{\\"size\\":%lu,\\"offsets\\":[${offs.map(() => "%lu").join(",")}]}", ` +
          `(unsigned long)sizeof(${s})${offs.map((o) => `, ${o}`).join("")});`,
      );
    });
    lines.push('printf("}\\n");', "return 0;", "}");
    const src = path.join(dir, "layout.c"), exe = path.join(dir, "layout");
    fs.writeFileSync(src, lines.join("\n"));
    const cc = spawnSync(ZIG, ["cc", "-std=c11", "-I", path.join(ROOT, "csrc", "include"), "-o", exe, src], {
      encoding: "utf8",
    });
    assertEquals(cc.status, 0, `zig cc failed (${ZIG}): ${cc.stderr}`);
    const run = spawnSync(exe, [], { encoding: "utf8" });
    assertEquals(run.status, 0, run.stderr);
    return JSON.parse(run.stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("abi: the TypeScript word tables match the C structs field by field (lsio_batch, lsio_reduction, lsio_box_copy, lsio_s3_config, lsio_tls_config, lsio_cache_opts, lsio_cache_stats)", () => {
  const header = fs.readFileSync(HEADER, "utf8");
  const fields: Record<string, string[]> = {};
  for (const t of TABLES) fields[t.struct] = structFields(header, t.struct);
  const layout = compiledLayout(fields);
  for (const t of TABLES) {
    const names = fields[t.struct];
    const { size, offsets } = layout[t.struct];
    // Every field is one 64-bit word, in order, and the struct is exactly those words.
    offsets.forEach((o, k) => assertEquals(o, 8 * k, `${t.struct}.${names[k]} at byte ${o}, not word ${k}`));
    assertEquals(size, 8 * names.length, `${t.struct}: ${size} bytes for ${names.length} fields`);
    assertEquals(t.count, names.length, `${t.struct}: the TypeScript side counts ${t.count} words`);
    // The TypeScript table names the same fields at the same words.
    const want = Object.fromEntries(names.map((n, k) => [camel(n), k]));
    assertEquals({ ...t.words }, want, `${t.struct}: TypeScript table vs lsio.h`);
  }
  // The option and info structs are OPTS_WORDS 32-bit words each.
  assertEquals(layout.lsio_reader_opts.size, 4 * OPTS_WORDS);
  assertEquals(layout.lsio_reader_info.size, 4 * OPTS_WORDS);
});

test("abi: one ABI version in the header, the export map's version node and the TypeScript side", () => {
  const header = fs.readFileSync(HEADER, "utf8");
  assertEquals(Number(header.match(/#define LSIO_ABI_VERSION (\d+)/)?.[1]), ABI_VERSION);
  const map = fs.readFileSync(path.join(ROOT, "csrc", "lsio.map"), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  assertEquals(map.match(/^\s*(\w+)\s*\{/m)?.[1], `LSIO_ABI_${ABI_VERSION}`, "the version node names the ABI");
  assert(/global:\s*lsio_\*;/.test(map) && /local:\s*\*;/.test(map), map);
});

test("abi: the header parser reads every field (a struct with arrays, pointers and comments)", () => {
  const h = `typedef struct t { uint64_t a; /* x; y */ const char *b; // z;\n int32_t c[4]; } t;`;
  assertEquals(structFields(h, "t"), ["a", "b", "c"]);
  let threw = false;
  try {
    structFields(h, "missing");
  } catch {
    threw = true;
  }
  assert(threw);
});
