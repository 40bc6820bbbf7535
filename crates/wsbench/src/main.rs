//! The `wsbench` command; everything but building the runtime lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    wsbench::main_with_args(std::env::args_os())
}
