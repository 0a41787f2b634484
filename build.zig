//! Builds LSIO's native core.
//!
//!   zig build                 liblsio shared library (io_uring + threads backends,
//!                             liburing linked statically: it depends on libc only)
//!   zig build test            C unit tests (csrc/tests: test_core.c, test_plan.c, test_reduce.c), run
//!   zig build fuzz-smoke      the planner fuzz target (csrc/tests/fuzz_plan.c) on 200000
//!                             seeded random inputs, UBSan (args: -- N [SEED] | -- FILE...)
//!   zig build lib             the shared library alone (no test programs); .ci/pack
//!                             builds each npm platform package's library this way
//!   zig build cross           compile-only check of the portable backend for
//!                             x86_64/aarch64 macOS and Windows (nothing is run)
//!   zig build smoke-windows   Windows smoke test exe (zig-out/smoke/, run it under wine64)
//!
//! Options: -Dliburing=<path to liburing.a> (default: Debian's multiarch path),
//!          -Dsanitize=true (UBSan in the test binary), -Dstrip=true (no debug info in the library).
const std = @import("std");

const common_sources = [_][]const u8{
    "csrc/reader.c",
    "csrc/files.c",
    "csrc/keep.c",
    "csrc/resolve.c",
    "csrc/pool.c",
    "csrc/plan.c",
    "csrc/reduce.c",
    "csrc/boxcopy.c",
    "csrc/s3.c",
    "csrc/cache.c",
    "csrc/pace.c",
};
const c_flags = [_][]const u8{ "-std=c11", "-Wall", "-Wextra", "-Werror", "-fvisibility=hidden" };

const Uring = struct { archive: []const u8, include: std.Build.LazyPath, zstd: []const u8 };

fn addCore(b: *std.Build, mod: *std.Build.Module, os_tag: std.Target.Os.Tag, uring: Uring) void {
    mod.addIncludePath(b.path("csrc/include"));
    mod.addIncludePath(b.path("csrc"));
    mod.addCSourceFiles(.{ .files = &common_sources, .flags = &c_flags });
    if (os_tag == .windows) {
        mod.addCSourceFiles(.{ .files = &.{"csrc/os_windows.c"}, .flags = &c_flags });
    } else {
        mod.addCSourceFiles(.{ .files = &.{"csrc/os_posix.c"}, .flags = &c_flags });
    }
    if (os_tag == .linux) {
        // io_uring for local files; libcurl (dlopen'ed at run time, headers only here) for remote objects.
        mod.addCSourceFiles(.{ .files = &.{ "csrc/uring.c", "csrc/http.c", "csrc/sigv4.c" }, .flags = &c_flags });
        mod.addIncludePath(uring.include);
        mod.addObjectFile(.{ .cwd_relative = uring.archive });
        // zstd decoding of Zarr chunks in lsio_copy_boxes (Linux builds; elsewhere -ENOTSUP).
        mod.addCMacro("LSIO_HAVE_ZSTD", "1");
        mod.addObjectFile(.{ .cwd_relative = uring.zstd });
    }
}

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const archive = b.option([]const u8, "liburing", "path to liburing.a") orelse
        "/usr/lib/x86_64-linux-gnu/liburing.a";
    const headers = b.option([]const u8, "liburing-include", "directory holding liburing.h") orelse "/usr/include";
    const zstd_archive = b.option([]const u8, "zstd", "path to libzstd.a") orelse "/usr/lib/x86_64-linux-gnu/libzstd.a";
    // Only liburing's own headers, not the host's whole /usr/include (zig brings its libc headers).
    const inc = b.addWriteFiles();
    _ = inc.addCopyFile(.{ .cwd_relative = b.fmt("{s}/liburing.h", .{headers}) }, "liburing.h");
    for ([_][]const u8{ "io_uring.h", "compat.h", "barrier.h" }) |h| {
        _ = inc.addCopyFile(.{ .cwd_relative = b.fmt("{s}/liburing/{s}", .{ headers, h }) }, b.fmt("liburing/{s}", .{h}));
    }
    for ([_][]const u8{ "zstd.h", "zstd_errors.h" }) |h| {
        _ = inc.addCopyFile(.{ .cwd_relative = b.fmt("{s}/{s}", .{ headers, h }) }, h);
    }
    // libcurl's headers (Debian's libcurl4-openssl-dev): the library itself is loaded at run time.
    const curl_headers = b.option([]const u8, "curl-include", "directory holding curl/curl.h") orelse
        "/usr/include/x86_64-linux-gnu";
    for ([_][]const u8{ "curl.h", "curlver.h", "easy.h", "header.h", "mprintf.h", "multi.h", "options.h", "stdcheaders.h", "system.h", "typecheck-gcc.h", "urlapi.h", "websockets.h" }) |h| {
        _ = inc.addCopyFile(.{ .cwd_relative = b.fmt("{s}/curl/{s}", .{ curl_headers, h }) }, b.fmt("curl/{s}", .{h}));
    }
    const liburing = Uring{ .archive = archive, .include = inc.getDirectory(), .zstd = zstd_archive };
    const sanitize = b.option(bool, "sanitize", "UBSan in the C tests") orelse false;
    const os_tag = target.result.os.tag;

    // The shared library the TypeScript module loads.
    const strip = b.option(bool, "strip", "strip debug information from the library (the npm packages)");
    const lib_mod = b.createModule(.{ .target = target, .optimize = optimize, .link_libc = true, .strip = strip });
    addCore(b, lib_mod, os_tag, liburing);
    const lib = b.addLibrary(.{ .name = "lsio", .linkage = .dynamic, .root_module = lib_mod });
    if (os_tag == .linux) lib.setVersionScript(b.path("csrc/lsio.map"));
    b.installArtifact(lib);
    // `zig build lib -Dtarget=… --prefix DIR`: the library alone (the npm platform packages, .ci/pack).
    b.step("lib", "build and install only the shared library").dependOn(&b.addInstallArtifact(lib, .{}).step);

    // C unit tests.
    const test_mod = b.createModule(.{
        .target = target,
        .optimize = .Debug,
        .link_libc = true,
        .sanitize_c = if (sanitize) .full else .off,
    });
    addCore(b, test_mod, os_tag, liburing);
    test_mod.addCSourceFiles(.{ .files = &.{"csrc/tests/test_core.c"}, .flags = &c_flags });
    const test_exe = b.addExecutable(.{ .name = "lsio_test", .root_module = test_mod });
    b.installArtifact(test_exe);
    const run_tests = b.addRunArtifact(test_exe);
    const test_step = b.step("test", "run the C unit tests");
    test_step.dependOn(&run_tests.step);

    // Plan shape tests (csrc/tests/test_plan.c): the planner alone, no I/O.
    // Run after lsio_test so the two outputs do not interleave.
    const plan_mod = b.createModule(.{
        .target = target,
        .optimize = .Debug,
        .link_libc = true,
        .sanitize_c = if (sanitize) .full else .off,
    });
    plan_mod.addIncludePath(b.path("csrc/include"));
    plan_mod.addIncludePath(b.path("csrc"));
    plan_mod.addCSourceFiles(.{ .files = &.{ "csrc/plan.c", "csrc/tests/test_plan.c" }, .flags = &c_flags });
    const plan_exe = b.addExecutable(.{ .name = "lsio_test_plan", .root_module = plan_mod });
    b.installArtifact(plan_exe);
    const run_plan = b.addRunArtifact(plan_exe);
    run_plan.step.dependOn(&run_tests.step);
    test_step.dependOn(&run_plan.step);

    // Reduction tests (csrc/tests/test_reduce.c): lsio_reduce alone, no I/O.
    const reduce_mod = b.createModule(.{
        .target = target,
        .optimize = .Debug,
        .link_libc = true,
        .sanitize_c = if (sanitize) .full else .off,
    });
    reduce_mod.addIncludePath(b.path("csrc/include"));
    reduce_mod.addIncludePath(b.path("csrc"));
    reduce_mod.addCSourceFiles(.{ .files = &.{ "csrc/reduce.c", "csrc/boxcopy.c", "csrc/tests/test_reduce.c" }, .flags = &c_flags });
    if (os_tag == .linux) { // the zstd path of lsio_copy_boxes, as in the library
        reduce_mod.addCMacro("LSIO_HAVE_ZSTD", "1");
        reduce_mod.addIncludePath(liburing.include);
        reduce_mod.addObjectFile(.{ .cwd_relative = zstd_archive });
    }
    const reduce_exe = b.addExecutable(.{ .name = "lsio_test_reduce", .root_module = reduce_mod });
    b.installArtifact(reduce_exe);
    const run_reduce = b.addRunArtifact(reduce_exe);
    run_reduce.step.dependOn(&run_plan.step);
    test_step.dependOn(&run_reduce.step);

    // Fuzz smoke test: the libFuzzer target csrc/tests/fuzz_plan.c driven by
    // csrc/tests/fuzz_main.c (seeded random inputs), with UBSan.
    //   zig build fuzz-smoke [-- N [SEED]]   or   zig build fuzz-smoke -- crash-file...
    const fuzz_mod = b.createModule(.{
        .target = target,
        .optimize = .ReleaseSafe,
        .link_libc = true,
        .sanitize_c = .full,
    });
    fuzz_mod.addIncludePath(b.path("csrc/include"));
    fuzz_mod.addIncludePath(b.path("csrc"));
    fuzz_mod.addCSourceFiles(.{
        .files = &.{ "csrc/plan.c", "csrc/tests/fuzz_plan.c", "csrc/tests/fuzz_main.c" },
        .flags = &c_flags,
    });
    const fuzz_exe = b.addExecutable(.{ .name = "lsio_fuzz_smoke", .root_module = fuzz_mod });
    const fuzz_install = b.addInstallArtifact(fuzz_exe, .{});
    const run_fuzz = b.addRunArtifact(fuzz_exe);
    run_fuzz.addPassthruArgs();
    run_fuzz.step.dependOn(&fuzz_install.step);
    b.step("fuzz-smoke", "run the planner fuzz target on seeded random inputs (UBSan)").dependOn(&run_fuzz.step);

    // Cross-compile check of the portable backend (compile only).
    const cross = b.step("cross", "compile the portable backend for macOS and Windows (no run)");
    const cross_targets = [_][]const u8{ "x86_64-macos", "aarch64-macos", "x86_64-windows-gnu", "aarch64-windows-gnu" };
    for (cross_targets) |triple| {
        const t = b.resolveTargetQuery(std.Target.Query.parse(.{ .arch_os_abi = triple }) catch unreachable);
        const m = b.createModule(.{ .target = t, .optimize = .ReleaseSafe, .link_libc = true });
        addCore(b, m, t.result.os.tag, liburing);
        const l = b.addLibrary(.{ .name = "lsio", .linkage = .dynamic, .root_module = m });
        const install = b.addInstallArtifact(l, .{ .dest_dir = .{ .override = .{ .custom = b.fmt("cross/{s}", .{triple}) } } });
        cross.dependOn(&install.step);
    }

    // Runtime check of the Windows port: an x86_64-windows-gnu test program
    // (csrc/tests/smoke_windows.c), installed as zig-out/smoke/lsio_smoke.exe;
    // csrc/tests/run.sh runs it under wine64 when wine is installed.
    const smoke = b.step("smoke-windows", "build the Windows smoke test (zig-out/smoke/lsio_smoke.exe)");
    const win = b.resolveTargetQuery(std.Target.Query.parse(.{ .arch_os_abi = "x86_64-windows-gnu" }) catch unreachable);
    const smoke_mod = b.createModule(.{ .target = win, .optimize = .ReleaseSafe, .link_libc = true });
    addCore(b, smoke_mod, .windows, liburing);
    smoke_mod.addCSourceFiles(.{ .files = &.{"csrc/tests/smoke_windows.c"}, .flags = &c_flags });
    const smoke_exe = b.addExecutable(.{ .name = "lsio_smoke", .root_module = smoke_mod });
    const smoke_install = b.addInstallArtifact(smoke_exe, .{ .dest_dir = .{ .override = .{ .custom = "smoke" } } });
    smoke.dependOn(&smoke_install.step);
}
