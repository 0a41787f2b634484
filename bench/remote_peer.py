"""One Python row of bench/remote.ts: obstore (the Rust object_store crate)
reading the spec's ranges, `concurrency` ranged GETs in flight at once
(asyncio + get_range_async), bytes copied into one slab; or (s3-large, a
spec with "mode") whole objects; prints {"seconds", "checksum", "cpu"} as
bench/remote_child.ts does (fastest of `repeat`; cpu: this process's CPU
seconds, every thread, over all timed runs). With "grouped": each
object's ranges in one get_ranges_async call (object_store coalesces them)."""
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


def large_checksum(buf):
    s = 0
    for i in range(0, len(buf), 4096):
        s = (s * 31 + buf[i]) % 1_000_000_007
    return s


async def main_large(spec):
    """s3-large: every object read whole, 8 at once; "get": one get_async
    each, "ranges": get_ranges_async in 8 MiB parts each."""
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
    size = spec["objectBytes"]
    keys = spec["keys"]
    slab = bytearray(len(keys) * size)
    part = 8 << 20

    async def one(k, key):
        if spec["mode"] == "get":
            r = await obstore.get_async(store, key)
            b = await r.bytes_async()
            slab[k * size:(k + 1) * size] = memoryview(b)
        else:
            starts = list(range(0, size, part))
            ends = [min(size, s + part) for s in starts]
            parts = await obstore.get_ranges_async(store, key, starts=starts, ends=ends)
            for s, b in zip(starts, parts):
                mv = memoryview(b)
                slab[k * size + s:k * size + s + len(mv)] = mv

    best, cpu = float("inf"), 0.0
    for _ in range(spec["repeat"]):
        t, c = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(k, key) for k, key in enumerate(keys)))
        best = min(best, time.perf_counter() - t)
        cpu += time.process_time() - c
    print(json.dumps({"seconds": best, "checksum": large_checksum(slab), "cpu": cpu}))


def load_ranges(spec):
    """The spec's (object, offset) pairs, their count, the range size and a slab for them."""
    pairs = array("i")
    with open(spec["ranges"], "rb") as f:
        pairs.frombytes(f.read())
    n = len(pairs) // 2
    size = spec["size"]
    return pairs, n, size, bytearray(n * size)


async def main(spec):
    pairs, n, size, slab = load_ranges(spec)
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
        options = {"allow_http": True}
        if spec.get("insecure"):  # https with the bench's own certificate: obstore takes no CA bundle
            options["allow_invalid_certificates"] = True
        store = HTTPStore.from_url(spec["base"], client_options=options)
    keys = spec["keys"]
    if spec.get("grouped"):
        return await main_grouped(spec, store, pairs, n, size, slab)
    best, cpu = float("inf"), 0.0
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

        t, c = time.perf_counter(), time.process_time()
        await asyncio.gather(*(loop() for _ in range(spec["concurrency"])))
        best = min(best, time.perf_counter() - t)
        cpu += time.process_time() - c
    print(json.dumps({"seconds": best, "checksum": checksum(slab, n, size), "cpu": cpu}))


async def main_grouped(spec, store, pairs, n, size, slab):
    """The same ranges, one get_ranges_async call per object (object_store
    coalesces an object's ranges across gaps of up to 1 MiB), `concurrency`
    objects at once."""
    keys = spec["keys"]
    by_object = {}
    for i in range(n):
        by_object.setdefault(pairs[2 * i], []).append(i)
    best, cpu = float("inf"), 0.0
    for _ in range(spec["repeat"]):
        todo = list(by_object.items())

        async def loop():
            while todo:
                obj, idx = todo.pop()
                starts = [pairs[2 * i + 1] for i in idx]
                parts = await obstore.get_ranges_async(
                    store, keys[obj], starts=starts, ends=[s + size for s in starts])
                for i, b in zip(idx, parts):
                    slab[i * size:(i + 1) * size] = memoryview(b)

        t, c = time.perf_counter(), time.process_time()
        await asyncio.gather(*(loop() for _ in range(spec["concurrency"])))
        best = min(best, time.perf_counter() - t)
        cpu += time.process_time() - c
    print(json.dumps({"seconds": best, "checksum": checksum(slab, n, size), "cpu": cpu}))


if __name__ == "__main__":
    _spec = json.loads(sys.argv[-1])
    asyncio.run(main_large(_spec) if "mode" in _spec else main(_spec))
