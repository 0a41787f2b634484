// The README's TypeScript code blocks are complete programs: each is written
// beside the repo's own files (so `./mod.ts`, `zarrita` and deno.json resolve
// as they do for a reader of the README in a clone), type-checked (Deno), run
// with the runtime the tests run in, and must exit 0. A `// 7` style comment after a console.log
// is what the block prints: the lines printed are checked against those
// comments that carry plain values.
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { spawnSync } from "node:child_process";
import { assert, assertEquals } from "./_assert.ts";
import { runtime, scriptCommand, test } from "./_shim.ts";

const ROOT = path.resolve(new URL("..", import.meta.url).pathname);
const README = path.join(ROOT, "README.md");

/** The ```ts blocks of a markdown text, with the line each starts on. */
export function codeBlocks(markdown: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```ts") continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && lines[j].trim() !== "```") j++;
    out.push({ line: start + 1, code: lines.slice(start, j).join("\n") });
    i = j;
  }
  return out;
}

/**
 * What each `console.log(...); // expected` line says it prints, when the
 * comment is a plain value list (numbers, words, [ … ] arrays) and not prose.
 */
function expectedLines(code: string): string[] {
  const out: string[] = [];
  for (const line of code.split("\n")) {
    const m = line.match(/^\s*console\.log\(.*\); \/\/ (.*)$/);
    if (!m) continue;
    // The printed part ends where prose starts (a ":" or "(" after the values).
    const said = m[1].split(/ \(|: /)[0].trim();
    if (/^[\w\s.,[\]-]+$/.test(said) && !/[a-z]{3,} [a-z]{3,}/.test(said)) out.push(said);
  }
  return out;
}

const blocks = codeBlocks(fs.readFileSync(README, "utf8"));

test("readme: there are TypeScript blocks to run, and every one imports what it uses", () => {
  assert(blocks.length >= 4, `${blocks.length} blocks`);
  for (const b of blocks) assert(b.code.includes('from "./mod.ts"'), `block at line ${b.line} imports ./mod.ts`);
});

for (const b of blocks) {
  test(`readme: the block at README.md line ${b.line} runs as a program (${runtime}) and prints what it says`, () => {
    const dir = path.join(ROOT, ".tools", "readme-blocks");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `line_${b.line}_${process.pid}.ts`);
    // The block's imports are relative to the repo root; the file sits two folders down.
    fs.writeFileSync(file, b.code.replace(/from "\.\/(mod|zarr)\.ts"/g, 'from "../../$1.ts"'));
    try {
      if (runtime === "deno") { // the block type-checks, as the JSDoc examples do under deno test --doc
        const c = spawnSync(process.execPath, ["check", file], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
        assertEquals(c.status, 0, `block at line ${b.line} does not type-check:\n${c.stdout}\n${c.stderr}`);
      }
      const [cmd, ...args] = scriptCommand(file);
      const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
      assertEquals(r.status, 0, `block at line ${b.line} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
      const printed = r.stdout.split("\n").map((l) => l.trim().replace(/\s+/g, " "));
      for (const want of expectedLines(b.code)) {
        const words = want.replace(/\s+/g, " ");
        assert(
          printed.some((l) => l.startsWith(words)),
          `block at line ${b.line}: no line printed "${words}":\n${r.stdout}`,
        );
      }
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
}
