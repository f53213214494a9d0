//! `election`: dsim's command line with the built-in protocols and this one.

fn main() -> std::process::ExitCode {
    dsim::Cli::new()
        .protocol::<leader_election::ElectionOptions>()
        .run()
}
