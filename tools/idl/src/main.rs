//! `cargo run -p tidepool-idl -- write` regenerates `idl/tidepool.json` from the program;
//! `cargo run -p tidepool-idl -- check` fails when the committed file differs from it.
//!
//! It does what `anchor idl build` does (compile the program with `idl-build` and collect
//! the pieces each Anchor macro prints) without the Anchor CLI.

use std::path::PathBuf;
use std::process::ExitCode;

use anchor_lang_idl::build::IdlBuilder;

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode != "write" && mode != "check" {
        eprintln!("usage: tidepool-idl <write|check>");
        return ExitCode::from(2);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let program = root.join("programs/tidepool");
    let committed = root.join("idl/tidepool.json");

    // Under `cargo run`, rustup exports RUSTUP_TOOLCHAIN; the builder would then try to
    // call `cargo +<toolchain>`, which needs nothing here: the toolchain is the one running.
    // SAFETY: single-threaded at this point; no other code reads the environment.
    unsafe { std::env::remove_var("RUSTUP_TOOLCHAIN") };
    let idl = match IdlBuilder::new().program_path(program).build() {
        Ok(idl) => idl,
        Err(e) => {
            eprintln!("building the IDL failed: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let json = serde_json::to_string_pretty(&idl).expect("IDL serializes") + "\n";

    if mode == "write" {
        std::fs::create_dir_all(committed.parent().unwrap()).expect("idl/ is writable");
        std::fs::write(&committed, json).expect("idl/tidepool.json is writable");
        println!("wrote {}", committed.display());
        return ExitCode::SUCCESS;
    }
    match std::fs::read_to_string(&committed) {
        Ok(old) if old == json => {
            println!("idl/tidepool.json matches the program");
            ExitCode::SUCCESS
        }
        Ok(_) => {
            eprintln!(
                "idl/tidepool.json differs from the program: run `cargo run -p tidepool-idl -- write`, \
                 review the diff and commit it"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cannot read {}: {e}", committed.display());
            ExitCode::FAILURE
        }
    }
}
