"""Python peers of the zarr-crops workload (bench/zarr_crops.ts): zarr-python,
zarr-python with the zarrs codec pipeline, and tensorstore, each limited to
`threads` threads, reading every crop of the crop list in batches. Prints one
JSON line (or a skip line when the package is not installed).

    python3 bench/zarr_crops_peer.py '<spec json>'
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor


def emit(**kw):
    print(json.dumps(kw), flush=True)


_last_progress = [0.0]


def progress(done, total):
    # at most every 100 ms (and at the end), like bench/child.mjs: a write per batch would be timed too
    now = time.perf_counter()
    if done < total and now - _last_progress[0] < 0.1:
        return
    _last_progress[0] = now
    print(f"@progress {done} {total}", file=sys.stderr, flush=True)


def ts_kvstore(spec):
    """tensorstore's kvstore for the array: a folder, an HTTP prefix, or an S3 prefix (credentials from the
    environment the bench sets)."""
    where = spec["array"]
    if where.startswith("http"):
        return {"driver": "http", "base_url": where}
    if where.startswith("s3://"):
        bucket, _, prefix = where[5:].partition("/")
        return {"driver": "s3", "bucket": bucket, "path": prefix, "endpoint": spec["s3"]["endpoint"],
                "aws_region": "us-east-1"}
    return {"driver": "file", "path": where}


def zarr_store(spec):
    """zarr-python's store: the folder, or obstore's HTTPStore / S3Store wrapped in zarr's ObjectStore."""
    where = spec["array"]
    if not (where.startswith("http") or where.startswith("s3://")):
        return where
    from zarr.storage import ObjectStore
    from obstore.store import HTTPStore, S3Store
    if where.startswith("http"):
        return ObjectStore(HTTPStore.from_url(where, client_options={"allow_http": True}), read_only=True)
    bucket, _, prefix = where[5:].partition("/")
    s3 = spec["s3"]
    store = S3Store(bucket, prefix=prefix or None, endpoint=s3["endpoint"], access_key_id=s3["accessKeyId"],
                    secret_access_key=s3["secretAccessKey"], region="us-east-1", virtual_hosted_style_request=False,
                    client_options={"allow_http": True})
    return ObjectStore(store, read_only=True)


def main():
    spec = json.loads(sys.argv[-1])
    impl, S, threads = spec["impl"], spec["size"], spec["threads"]
    try:
        import numpy as np
        crops = np.fromfile(spec["crops"], dtype=np.int32, count=spec["count"] * 3).reshape(-1, 3)
        if impl == "tensorstore":
            import tensorstore as ts
            from importlib.metadata import version as pkg_version
            version = f"tensorstore {pkg_version('tensorstore')}"
            ctx = ts.Context({"data_copy_concurrency": {"limit": threads}, "file_io_concurrency": {"limit": threads}})
            arr = ts.open({"driver": "zarr3", "kvstore": ts_kvstore(spec)}, context=ctx).result()

            def start(a, b):
                return [arr[int(t), int(y):int(y) + S, int(x):int(x) + S].read() for t, y, x in crops[a:b]]

            def finish(futs):
                return sum(int(f.result().sum(dtype=np.int64)) for f in futs)
        else:
            import zarr
            version = f"zarr {zarr.__version__}"
            zarr.config.set({"threading.max_workers": threads, "async.concurrency": threads * 4})
            if impl == "zarrs":
                import zarrs  # noqa: F401  (registers the pipeline)
                zarr.config.set({"codec_pipeline.path": "zarrs.ZarrsCodecPipeline"})
                version = f"zarr {zarr.__version__} + zarrs {getattr(zarrs, '__version__', '?')}"
            arr = zarr.open_array(zarr_store(spec), mode="r")
            pool = ThreadPoolExecutor(max_workers=threads)

            def crop(c):
                t, y, x = (int(v) for v in c)
                # t:t+1 rather than t: the zarrs pipeline (0.2.3) fails on an integer index here
                return int(arr[t:t + 1, y:y + S, x:x + S].sum(dtype=np.int64))

            def start(a, b):
                return [pool.submit(crop, c) for c in crops[a:b]]

            def finish(futs):
                return sum(f.result() for f in futs)
    except ImportError as e:
        emit(impl=impl, skipped=True, reason=f"not installed: {e}")
        return
    n, batch, inflight = spec["count"], spec["batch"], int(spec.get("inflight", 1))

    def run_pass(count, report):
        # batch after batch; with inflight 2 the next batch is started before one is summed (as the JS rows)
        queue, total = [], 0
        for a in range(0, count, batch):
            queue.append(start(a, min(count, a + batch)))
            if len(queue) < inflight:
                continue
            total += finish(queue.pop(0))
            if report:
                progress(min(count, a + batch), count)
        while queue:
            total += finish(queue.pop(0))
        return total

    warm = min(n, max(1, int(spec.get("warmup", 1))) * batch)
    run_pass(warm, False)  # warm-up batches from the start of the list, not timed (as the JS rows)
    t0 = time.perf_counter()
    total = run_pass(n, True)
    seconds = time.perf_counter() - t0
    emit(impl=impl, runtime="python", runtime_version=f"{sys.version.split()[0]}, {version}", crops=n,
         seconds=seconds, crops_per_s=n / seconds, checksum=total)


main()
