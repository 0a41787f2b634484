"""One Python row of bench/remote.ts: obstore (the Rust object_store crate)
reading the spec's ranges, `concurrency` ranged GETs in flight at once
(asyncio + get_range_async), bytes copied into one slab; prints
{"seconds", "checksum"} as bench/remote_child.ts does (fastest of `repeat`)."""
import asyncio
import json
import sys
import time
from array import array

import obstore
from obstore.store import HTTPStore, S3Store


def checksum(buf, n, size):
    s = 0
    for i in range(n):
        o = i * size
        s = (s + buf[o] + buf[o + size - 1] * 3 + buf[o + (size >> 1)] * 7) % 1_000_000_007
    return s


async def main(spec):
    pairs = array("i")
    with open(spec["ranges"], "rb") as f:
        pairs.frombytes(f.read())
    n = len(pairs) // 2
    size = spec["size"]
    slab = bytearray(n * size)
    if spec.get("s3"):
        s3 = spec["s3"]
        store = S3Store(
            spec["bucket"],
            endpoint=s3["endpoint"],
            access_key_id=s3["accessKeyId"],
            secret_access_key=s3["secretAccessKey"],
            region="us-east-1",
            virtual_hosted_style_request=False,
            client_options={"allow_http": True},
        )
    else:
        store = HTTPStore.from_url(spec["base"], client_options={"allow_http": True})
    keys = spec["keys"]
    best = float("inf")
    for _ in range(spec["repeat"]):
        nxt = 0

        async def loop():
            nonlocal nxt
            while nxt < n:
                i = nxt
                nxt += 1
                s = pairs[2 * i + 1]
                b = await obstore.get_range_async(store, keys[pairs[2 * i]], start=s, end=s + size)
                slab[i * size:(i + 1) * size] = memoryview(b)

        t = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(spec["concurrency"])))
        best = min(best, time.perf_counter() - t)
    print(json.dumps({"seconds": best, "checksum": checksum(slab, n, size)}))


asyncio.run(main(json.loads(sys.argv[-1])))
