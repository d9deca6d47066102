//! The native-program bridge: a small program, run as a builtin, that uses every syscall
//! the stubs route (CPI with and without PDA signers, sysvars, return data, logs) and
//! checks that its `AccountInfo`s see what the callee did.

use solana_sdk::account_info::AccountInfo;
use solana_sdk::clock::Clock;
use solana_sdk::entrypoint::ProgramResult;
use solana_sdk::instruction::{AccountMeta, Instruction, InstructionError};
use solana_sdk::program::{get_return_data, invoke, invoke_signed, set_return_data};
use solana_sdk::program_error::ProgramError;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::rent::Rent;
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::sysvar::Sysvar;
use solana_sdk::transaction::{Transaction, TransactionError};
use solana_system_interface::instruction as system_instruction;
use tidepool_runtime::{ProgramKind, Runtime};

const PROGRAM: Pubkey = Pubkey::new_from_array([7; 32]);
const VAULT_SEED: &[u8] = b"vault";

fn vault_pda() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[VAULT_SEED], &PROGRAM)
}

/// Instructions: the first byte picks one.
fn entry(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    match data.first() {
        // Clock and rent through the sysvar syscalls; the timestamp as return data.
        Some(0) => {
            let clock = Clock::get()?;
            let rent = Rent::get()?;
            assert!(rent.minimum_balance(0) > 0);
            // (`msg!` prints to stdout natively; the syscall is what the stubs route.)
            solana_sdk::program_stubs::sol_log(&format!("time {}", clock.unix_timestamp));
            solana_sdk::log::sol_log_data(&[b"event"]);
            set_return_data(&clock.unix_timestamp.to_le_bytes());
            Ok(())
        }
        // The vault PDA (accounts[0]) creates itself (signed CPI into the system program,
        // paid by accounts[1]), then the program writes into its new data.
        Some(1) => {
            let (vault, payer, system) = (&accounts[0], &accounts[1], &accounts[2]);
            let (_, bump) = vault_pda();
            let lamports = Rent::get()?.minimum_balance(8);
            let ix =
                system_instruction::create_account(payer.key, vault.key, lamports, 8, program_id);
            invoke_signed(
                &ix,
                &[payer.clone(), vault.clone(), system.clone()],
                &[&[VAULT_SEED, &[bump]]],
            )?;
            // The callee's effects are visible in the caller's AccountInfos.
            assert_eq!(vault.owner, program_id);
            assert_eq!(vault.lamports(), lamports);
            assert_eq!(vault.data_len(), 8);
            vault
                .try_borrow_mut_data()?
                .copy_from_slice(&42u64.to_le_bytes());
            Ok(())
        }
        // Pay out of the vault by hand, then CPI: the caller's change must reach the
        // runtime before the callee runs (the system transfer from accounts[1] to the vault).
        Some(2) => {
            let (vault, payer, system) = (&accounts[0], &accounts[1], &accounts[2]);
            **vault.try_borrow_mut_lamports()? -= 1;
            **payer.try_borrow_mut_lamports()? += 1;
            let ix = system_instruction::transfer(payer.key, vault.key, 1_000);
            invoke(&ix, &[payer.clone(), vault.clone(), system.clone()])?;
            Ok(())
        }
        // Self-CPI (as Anchor's `emit_cpi!` does), whose return data the caller reads.
        Some(3) => {
            let ix = Instruction::new_with_bytes(*program_id, &[0], vec![]);
            invoke(&ix, &[])?;
            let (from, data) = get_return_data().expect("return data");
            assert_eq!(from, *program_id);
            set_return_data(&data);
            Ok(())
        }
        Some(4) => Err(ProgramError::Custom(42)),
        Some(5) => panic!("the program panics"),
        // A failing CPI: the callee's error comes back to the caller.
        Some(6) => {
            let ix = Instruction::new_with_bytes(*program_id, &[4], vec![]);
            invoke(&ix, &[])
        }
        _ => Err(ProgramError::InvalidInstructionData),
    }
}

fn runtime() -> Runtime {
    let mut rt = Runtime::new();
    rt.add_native_program(PROGRAM, entry);
    rt
}

fn tx(rt: &Runtime, data: &[u8], accounts: Vec<AccountMeta>) -> Transaction {
    let ix = Instruction::new_with_bytes(PROGRAM, data, accounts);
    let payer = rt.payer();
    Transaction::new_signed_with_payer(
        &[ix],
        Some(&payer.pubkey()),
        &[payer],
        rt.latest_blockhash(),
    )
}

fn vault_accounts(rt: &Runtime) -> Vec<AccountMeta> {
    vec![
        AccountMeta::new(vault_pda().0, false),
        AccountMeta::new(rt.payer().pubkey(), true),
        AccountMeta::new_readonly(solana_system_interface::program::ID, false),
    ]
}

#[test]
fn sysvars_logs_and_return_data() {
    let mut rt = runtime();
    let mut clock = rt.clock();
    clock.unix_timestamp = 1_700_000_000;
    rt.set_clock(&clock);
    let meta = rt.send(tx(&rt, &[0], vec![])).expect("runs");
    assert_eq!(meta.return_data.program_id, PROGRAM);
    assert_eq!(meta.return_data.data, 1_700_000_000i64.to_le_bytes());
    let logs = meta.logs.join("\n");
    assert!(
        logs.contains(&format!("Program {PROGRAM} invoke [1]")),
        "{logs}"
    );
    assert!(logs.contains("Program log: time 1700000000"), "{logs}");
    assert!(logs.contains("Program data: ZXZlbnQ="), "{logs}");
    assert!(
        logs.contains(&format!("Program {PROGRAM} success")),
        "{logs}"
    );
}

#[test]
fn signed_cpi_creates_and_the_program_writes() {
    let mut rt = runtime();
    let accounts = vault_accounts(&rt);
    rt.send(tx(&rt, &[1], accounts)).expect("creates the vault");
    let vault = rt.account(&vault_pda().0).expect("vault exists");
    assert_eq!(vault.owner, PROGRAM);
    assert_eq!(vault.data, 42u64.to_le_bytes());
    assert_eq!(vault.lamports, rt.rent().minimum_balance(8));
}

#[test]
fn caller_changes_reach_the_callee_and_back() {
    let mut rt = runtime();
    let accounts = vault_accounts(&rt);
    rt.send(tx(&rt, &[1], accounts.clone())).expect("creates");
    let before = rt.account(&vault_pda().0).unwrap().lamports;
    rt.send(tx(&rt, &[2], accounts)).expect("moves lamports");
    assert_eq!(
        rt.account(&vault_pda().0).unwrap().lamports,
        before - 1 + 1_000
    );
}

#[test]
fn self_cpi_and_nested_return_data() {
    let mut rt = runtime();
    // A CPI's program must be among the caller's accounts (Anchor's `emit_cpi!` passes it).
    let me = || vec![AccountMeta::new_readonly(PROGRAM, false)];
    let meta = rt.send(tx(&rt, &[3], me())).expect("runs");
    assert_eq!(meta.inner_instructions.len(), 1);
    assert_eq!(meta.inner_instructions[0][0].instruction.data, vec![0]);
    assert_eq!(meta.inner_instructions[0][0].stack_height, 2);
    let logs = meta.logs.join("\n");
    assert!(
        logs.contains(&format!("Program {PROGRAM} invoke [2]")),
        "{logs}"
    );
    // Simulation commits nothing and returns the same.
    let sim = rt.simulate(tx(&rt, &[3], me())).expect("simulates");
    assert_eq!(sim.return_data.data, meta.return_data.data);
}

#[test]
fn errors_and_panics_fail_the_transaction() {
    let mut rt = runtime();
    let custom = TransactionError::InstructionError(0, InstructionError::Custom(42));
    assert_eq!(rt.send(tx(&rt, &[4], vec![])).unwrap_err().err, custom);
    let me = vec![AccountMeta::new_readonly(PROGRAM, false)];
    assert_eq!(rt.send(tx(&rt, &[6], me)).unwrap_err().err, custom);
    assert_eq!(
        rt.send(tx(&rt, &[5], vec![])).unwrap_err().err,
        TransactionError::InstructionError(0, InstructionError::ProgramFailedToComplete)
    );
    // A failed transaction changes nothing, the fee aside.
    let accounts = vault_accounts(&rt);
    assert!(rt.send(tx(&rt, &[2], accounts)).is_err());
    assert!(rt.account(&vault_pda().0).is_none());
}

#[test]
fn the_same_transaction_twice_and_signatures_checked() {
    let mut rt = runtime();
    let t = tx(&rt, &[0], vec![]);
    rt.send(t.clone()).expect("first");
    rt.send(t.clone()).expect("a repeat is not deduplicated");
    let mut forged = t;
    forged.signatures[0] = Keypair::new().sign_message(&forged.message_data());
    assert_eq!(
        rt.send(forged).unwrap_err().err,
        TransactionError::SignatureFailure
    );
}

#[test]
fn without_sigverify_signatures_may_be_empty() {
    let mut rt = runtime();
    let ix = Instruction::new_with_bytes(PROGRAM, &[0], vec![]);
    assert!(rt.sign(std::slice::from_ref(&ix), &[]).verify().is_ok());
    rt.set_sigverify(false);
    let t = rt.sign(&[ix], &[]);
    assert!(t.signatures.iter().all(|s| *s == Default::default()));
    rt.send(t.clone()).expect("unsigned, accepted");
    rt.send(t).expect("and again");
}

#[test]
fn native_unless_an_sbf_build_is_there() {
    let mut rt = Runtime::new();
    assert_eq!(
        rt.add_program(PROGRAM, "no-such-program-anywhere", entry),
        ProgramKind::Native
    );
}
