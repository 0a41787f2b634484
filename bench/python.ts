/**
 * Python peers' packages, pip-installed into a folder under .tools/ (never
 * globally) the first time a bench needs them.
 *
 * @module
 */
import { spawnSync } from "node:child_process";

/**
 * Makes `modules` importable with PYTHONPATH=`dir`, installing `packages`
 * there when they are not: undefined when they import, else why not (the
 * bench then reports those rows as skipped).
 */
export function ensurePythonPackages(dir: string, packages: string[], modules: string[]): string | undefined {
  const probe = () =>
    spawnSync("python3", ["-c", `import ${modules.join(", ")}`], { env: { ...Deno.env.toObject(), PYTHONPATH: dir } });
  if (probe().status === 0) return undefined;
  const pip = spawnSync(
    "python3",
    ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target", dir, ...packages],
    { encoding: "utf8" },
  );
  if (pip.status !== 0) {
    return `pip install ${packages.join(" ")} failed: ${(pip.stderr || "").trim().split("\n").slice(-2).join(" ")}`;
  }
  return probe().status === 0 ? undefined : `installed, but python cannot import ${modules.join(", ")}`;
}
