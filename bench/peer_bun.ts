// Entry point of the node:fs peers under Bun: `bun bench/peer_bun.ts <spec>`.
import { main } from "./peer_fs.mjs";

await main();
