//! The `kleber` command.

/// mimalloc instead of the system allocator: a query allocates and frees many small buffers
/// (plans, Arrow arrays, JSON), and glibc's malloc spent half of the server's CPU on the
/// small-dataset load of BENCHMARKS.md (scenario o, `bench/profile.py o`). Version 2 (the
/// crate's `v2` feature): version 3 keeps freed pages for a second instead of 10 ms, and the
/// peak of a CSV export under load was 380 MiB with it against 324 MiB, for the same CPU per
/// request (BENCHMARKS.md, issue 17, fifth round; docs/configuration.md#memory-under-load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kleber_server::cli::main()
}
