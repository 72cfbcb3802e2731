fn main() -> std::process::ExitCode {
    tenantsync_cli::run(std::env::args_os())
}
