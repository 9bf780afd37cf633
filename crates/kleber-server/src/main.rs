//! The `kleber` command.

/// mimalloc instead of the system allocator: a query allocates and frees many small buffers
/// (plans, Arrow arrays, JSON), and glibc's malloc spent half of the server's CPU on the
/// small-dataset load of BENCHMARKS.md (scenario o, `bench/profile.py o`). Version 2 (the
/// crate's `v2` feature): version 3 keeps freed pages for a second instead of 10 ms, and the
/// peak of a CSV export under load was 380 MiB with it against 324 MiB, for the same CPU per
/// request. Without transparent huge pages (`no_thp`): mimalloc asks the kernel for them on its
/// arena, and a huge page is resident as a whole as soon as one byte of it is touched (50 MiB
/// of the 100 MiB the server held after start-up). See [`purge_sooner`] for the rest
/// (BENCHMARKS.md, issue 17, sixth round; docs/configuration.md#memory-under-load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option (`mi_option_e` in version 2's `mimalloc.h`).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// mimalloc's `arena_purge_mult` option (the factor of `purge_delay` for whole segments).
const ARENA_PURGE_MULT: libmimalloc_sys::mi_option_t = 24;

fn main() -> std::process::ExitCode {
    purge_sooner();
    kleber_server::cli::main()
}

/// Freed memory goes back to the system after 1 ms, and whole freed segments after 1 ms too,
/// instead of mimalloc's 10 and 100 ms. A purge happens only when the thread that owns the
/// memory allocates or frees again, so with the default delays the blocking threads of the
/// Parquet reads and the HTTP threads kept tens of MiB each between bursts: the peak of a
/// CSV export under the filtered-page load of `bench/run.sh m` went from ~300 to ~260 MiB, at
/// the same throughput and CPU per request (a delay of 0 purges on every free and halved that
/// load's throughput). An operator's `MIMALLOC_PURGE_DELAY` or `MIMALLOC_ARENA_PURGE_MULT`,
/// which mimalloc reads at start-up, is kept.
#[expect(unsafe_code, reason = "mimalloc's option setter is a C function")]
fn purge_sooner() {
    for (option, variable) in
        [(PURGE_DELAY, "MIMALLOC_PURGE_DELAY"), (ARENA_PURGE_MULT, "MIMALLOC_ARENA_PURGE_MULT")]
    {
        if std::env::var_os(variable).is_none() {
            // SAFETY: `mi_option_set` stores an integer in mimalloc's table of options, which
            // its allocation paths read; it is called here before main starts any thread.
            unsafe { libmimalloc_sys::mi_option_set(option, 1) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(unsafe_code, reason = "mimalloc's option getter is a C function")]
    fn option(option: libmimalloc_sys::mi_option_t) -> std::os::raw::c_long {
        // SAFETY: `mi_option_get` reads an integer from mimalloc's table of options.
        unsafe { libmimalloc_sys::mi_option_get(option) }
    }

    /// The two numbers are the options they are named after: both default to 10 (and their
    /// neighbours do not), and `purge_sooner` sets them to 1.
    #[test]
    fn purge_sooner_sets_the_two_purge_delays() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some()
            || std::env::var_os("MIMALLOC_ARENA_PURGE_MULT").is_some()
        {
            return;
        }
        assert_eq!((option(PURGE_DELAY), option(ARENA_PURGE_MULT)), (10, 10));
        assert_ne!(option(PURGE_DELAY - 1), 10, "eager_commit_delay");
        assert_ne!(option(ARENA_PURGE_MULT - 1), 10, "arena_reserve");
        purge_sooner();
        assert_eq!((option(PURGE_DELAY), option(ARENA_PURGE_MULT)), (1, 1));
    }
}
