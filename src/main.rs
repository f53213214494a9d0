//! `dsim`: the command line with the built-in protocols. A program of your own that adds
//! protocols is the same one line with `.protocol::<YourOptions>()` before `.run()`.

fn main() -> std::process::ExitCode {
    dsim::Cli::new().run()
}
