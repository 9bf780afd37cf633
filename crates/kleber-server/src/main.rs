//! The `kleber` command.

fn main() -> std::process::ExitCode {
    kleber_server::cli::main()
}
