//! The `kleber` command.

/// mimalloc instead of the system allocator: a query allocates and frees many small buffers
/// (plans, Arrow arrays, JSON), and glibc's malloc spent half of the server's CPU on the
/// small-dataset load of BENCHMARKS.md (scenario o, `bench/profile.py o`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kleber_server::cli::main()
}
