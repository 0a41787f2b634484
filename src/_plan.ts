// The IO planner's settings for a reader's batch: the `plan` option turned
// into thresholds and flags on the batch, with the storage profile of
// `profile: "auto"` detected once per folder.
import { BatchFlag } from "../ffi/native.ts";
import type { NativeBatch } from "./_batch.ts";
import { storageOf } from "./_storage.ts";
import { detectProfile, type ProfileName, resolvePlanOptions } from "./profiles.ts";
import type { PlanOptions } from "./reader.ts";

/** The default plan: merge only what touches or overlaps, up to 256 KiB reads. */
export const ORDERED_PLAN: PlanOptions = { profile: "ram", mergeGap: 0, mergeMax: 256 * 1024, splitSize: 0 };

/**
 * The detected profile of a path's storage, remembered per folder (a
 * detection costs ≈ 0.5 ms; a reader planning batch after batch of the same
 * files asks once).
 */
export class FolderProfiles {
  /** Profiles detected, by folder of a batch's first file (bounded). */
  readonly #profiles = new Map<string, ProfileName>();

  /** The profile of `path`'s storage: its own (`"cloud"` for a remote object), else detected (sysfs, no measurement). */
  async detect(path: string): Promise<{ profile: ProfileName }> {
    const known = storageOf(path).profile;
    if (known) return { profile: known };
    const slash = path.lastIndexOf("/");
    const folder = slash > 0 ? path.slice(0, slash) : path;
    let profile = this.#profiles.get(folder);
    if (profile === undefined) {
      profile = (await detectProfile(path, { measure: false, pageCache: false })).profile;
      if (this.#profiles.size >= 256) this.#profiles.delete(this.#profiles.keys().next().value!);
      this.#profiles.set(folder, profile);
    }
    return { profile };
  }
}

/**
 * Sets `plan`'s thresholds (profile defaults from `detected`, overridden by
 * the plan's own) and flags on the batch; `ordered`: the "ordered" plan, which
 * is only applied when the requests already come in (file, offset) order.
 */
export function setPlan(
  batch: NativeBatch,
  plan: PlanOptions,
  detected: { profile: ProfileName } | undefined,
  ordered: boolean,
): void {
  const t = resolvePlanOptions(plan, detected);
  batch.setPlan(t);
  batch.profile = t.profile;
  if (plan.gaps === "copy") batch.flags = batch.flags | BatchFlag.planCopy;
  if (ordered) batch.flags = batch.flags | BatchFlag.planIfOrdered;
}
