//! The `tidepool` binary itself: help, argument errors and an unreachable cluster end with a
//! message and a failure status. (Against a node: `scripts/e2e.sh`, which runs this binary on
//! tidepool-localnet; this test also makes `cargo test --workspace` build it.)

use std::process::Command;

fn tidepool(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tidepool"))
        .args(args)
        .output()
        .expect("tidepool runs")
}

#[test]
fn help_errors_and_an_unreachable_cluster() {
    let help = tidepool(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for command in ["init", "create-pool", "deposit", "open", "positions"] {
        assert!(text.contains(command), "{command} in --help");
    }
    let bad = tidepool(&["open", "--pool-id", "0", "--side", "sideways"]);
    assert!(!bad.status.success());

    let dir = std::env::temp_dir().join(format!("tidepool-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keypair = dir.join("id.json");
    let signer = solana_sdk::signature::Keypair::new();
    solana_sdk::signer::keypair::write_keypair_file(&signer, &keypair).unwrap();
    let out = tidepool(&[
        "--url",
        "http://127.0.0.1:9",
        "--keypair",
        keypair.to_str().unwrap(),
        "--output",
        "json",
        "pool",
        "--pool-id",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: cannot fetch pool"), "{stderr}");
}

/// `usb://` signers go to a hardware wallet through hidapi (compiled in): without a device
/// the command stops with "no device found" before it sends anything, not with "hidapi
/// compilation disabled". (With a Ledger plugged in, it asks the Ledger for its key.)
#[test]
fn a_usb_signer_reaches_the_hardware_wallet_layer() {
    let out = tidepool(&[
        "--url",
        "http://127.0.0.1:9",
        "--keypair",
        "usb://ledger",
        "cancel-request",
        "--pool-id",
        "0",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: signer usb://ledger: "),
        "{stderr}"
    );
    assert!(!stderr.contains("disabled"), "{stderr}");
}
