//! The `necpsim` command line: parses arguments, sets up logging and hands over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use necpsim::config::Config;
use necpsim::server::{ServeOptions, Server};
use necpsim::telemetry::{LogFormat, init_logging};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Authoritative game simulation server.
#[derive(Debug, Parser)]
#[command(name = "necpsim", version, about, propagate_version = true)]
struct Cli {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Pretty)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the server with the assets in DIR, reloading them when they change.
    Serve {
        /// Directory of designer TOML files.
        #[arg(long, value_name = "DIR", default_value = "assets")]
        assets: PathBuf,
        /// Directory for the server's state (created if missing).
        #[arg(long, value_name = "DIR", default_value = "data")]
        data: PathBuf,
        /// UDP address for clients [default: net.bind from server.toml].
        #[arg(long, value_name = "ADDR")]
        bind: Option<SocketAddr>,
    },
    /// Validate every asset file; exit 1 listing every error when any is invalid.
    CheckConfig {
        /// Directory of designer TOML files.
        #[arg(value_name = "DIR", default_value = "assets")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(err) = init_logging(cli.log_format) {
        eprintln!("necpsim: {err}");
        return ExitCode::FAILURE;
    }
    match run(cli.command) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("necpsim: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Cmd) -> anyhow::Result<ExitCode> {
    match command {
        Cmd::Serve { assets, data, bind } => {
            let server = Server::start(&ServeOptions { assets, data, bind }).context("cannot start")?;
            server.wait()?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::CheckConfig { dir } => Ok(check_config(&dir)),
    }
}

fn check_config(dir: &std::path::Path) -> ExitCode {
    match Config::load(dir) {
        Ok(_) => {
            #[expect(clippy::print_stdout, reason = "the command's result is its output")]
            {
                println!("{}: ok", dir.display());
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for error in errors.iter() {
                eprintln!("{error}");
            }
            eprintln!("{}: {} error(s)", dir.display(), errors.len());
            ExitCode::FAILURE
        }
    }
}
