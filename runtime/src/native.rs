//! Native programs: a Rust entrypoint (`fn(&Pubkey, &[AccountInfo], &[u8]) -> ProgramResult`)
//! run as a LiteSVM builtin, in the same process as the runtime.
//!
//! Compiled for SBF, a program talks to the runtime through syscalls (`sol_invoke_signed`,
//! `sol_get_clock_sysvar`, `sol_set_return_data`, `sol_log_`, ...). Compiled natively, the same
//! calls go to `solana_sysvar::program_stubs`, a process-wide table of functions that does
//! nothing by default. This module fills that table ([`Stubs`]) with functions that act on
//! the invoke context of the instruction being executed, which [`Dispatch`] (the builtin
//! every native program is registered as) records in a thread-local for the duration of the
//! call. Each test thread runs its own runtime, so a thread-local is exactly the scope.
//!
//! A native instruction sees its accounts the way an SBF one does: the instruction's
//! accounts are serialized in the loader's input format and deserialized into
//! `AccountInfo`s; on return, the writable ones are written back. Around a CPI the caller's
//! `AccountInfo`s are synced into the invoke context before, and back after.

use std::cell::Cell;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Once, RwLock};

use solana_program_entrypoint::ProcessInstruction;
use solana_program_runtime::invoke_context::InvokeContext;
use solana_program_runtime::serialization::serialize_parameters;
use solana_program_runtime::solana_sbpf::vm::ContextObject;
use solana_program_runtime::stable_log;
use solana_sdk::account_info::AccountInfo;
use solana_sdk::instruction::{Instruction, InstructionError};
use solana_sdk::program_error::ProgramError;
use solana_sdk::pubkey::Pubkey;
use solana_svm_timings::ExecuteTimings;
use solana_sysvar::program_stubs::{set_syscall_stubs, SyscallStubs};
use solana_transaction_context::BorrowedInstructionAccount;

// The sysvar syscalls' status codes (the BPF loader's).
const SUCCESS: u64 = solana_program_entrypoint::SUCCESS;
const OFFSET_LENGTH_EXCEEDS_SYSVAR: u64 = 1;
const SYSVAR_NOT_FOUND: u64 = 2;
const UNSUPPORTED_SYSVAR: u64 = solana_sdk::program_error::UNSUPPORTED_SYSVAR;

/// Native entrypoints by program id (process-wide: the stubs are too).
static PROGRAMS: RwLock<Option<HashMap<Pubkey, ProcessInstruction>>> = RwLock::new(None);
static INSTALL_STUBS: Once = Once::new();

thread_local! {
    /// The invoke context of the native instruction executing on this thread, if any.
    static CURRENT: Cell<*mut InvokeContext<'static, 'static>> =
        const { Cell::new(std::ptr::null_mut()) };
}

/// Register `entry` as the native code of `program_id` and install the syscall stubs.
/// The program account itself is added by the caller (`LiteSVM::add_builtin(id, Dispatch::vm)`).
pub fn register(program_id: Pubkey, entry: ProcessInstruction) {
    PROGRAMS
        .write()
        .expect("native program table")
        .get_or_insert_with(HashMap::new)
        .insert(program_id, entry);
    INSTALL_STUBS.call_once(|| {
        set_syscall_stubs(Box::new(Stubs));
    });
}

fn lookup(program_id: &Pubkey) -> Option<ProcessInstruction> {
    PROGRAMS.read().ok()?.as_ref()?.get(program_id).copied()
}

/// Makes `ctx` the current invoke context until dropped, then restores the previous one
/// (a native program CPI-ing into a native program nests).
struct Enter(*mut InvokeContext<'static, 'static>);

impl Enter {
    fn new(ctx: &mut InvokeContext) -> Self {
        let ptr = (ctx as *mut InvokeContext).cast::<InvokeContext<'static, 'static>>();
        Enter(CURRENT.with(|c| c.replace(ptr)))
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// The invoke context of the native instruction running on this thread.
///
/// # Panics
/// When no native instruction is running (a syscall outside the runtime).
fn current<'a>() -> &'a mut InvokeContext<'static, 'static> {
    let ptr = CURRENT.with(Cell::get);
    assert!(
        !ptr.is_null(),
        "syscall outside a native instruction: no invoke context"
    );
    // SAFETY: set by `Enter` from a live `&mut InvokeContext` for the duration of the
    // builtin call on this thread; the runtime does not touch it while the program runs.
    unsafe { &mut *ptr }
}

solana_program_runtime::declare_process_instruction!(Dispatch, 1, |invoke_context| {
    execute(invoke_context)
});

fn execute(invoke_context: &mut InvokeContext) -> Result<(), InstructionError> {
    let _enter = Enter::new(invoke_context);
    let ctx = current();
    let (program_id, mut input) = {
        let ixc = ctx.transaction_context.get_current_instruction_context()?;
        let program_id = *ixc.get_program_key()?;
        let mask_rent_epoch = ctx
            .get_feature_set()
            .mask_out_rent_epoch_in_vm_serialization;
        // No VM: neither the stricter ABI nor direct mapping applies.
        let (input, ..) = serialize_parameters(&ixc, false, false, mask_rent_epoch)?;
        (program_id, input)
    };
    let entry = lookup(&program_id).ok_or(InstructionError::UnsupportedProgramId)?;
    // (The runtime logs the invoke, success and failure lines of every program itself.)

    // SAFETY: `input` is in the loader's serialization format, aligned, and outlives the
    // `AccountInfo`s, which are dropped before it at the end of this function.
    let (id, infos, data) =
        unsafe { solana_program_entrypoint::deserialize(input.as_slice_mut().as_mut_ptr()) };
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| entry(id, &infos, data)));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(InstructionError::from(u64::from(e))),
        Err(_) => {
            stable_log::program_log(&ctx.get_log_collector(), "the native program panicked");
            return Err(InstructionError::ProgramFailedToComplete);
        }
    }

    // The invoke context may have moved on during CPIs: look the instruction up again.
    let ixc = ctx.transaction_context.get_current_instruction_context()?;
    for index in 0..ixc.get_number_of_instruction_accounts() {
        if ixc.is_instruction_account_duplicate(index)?.is_some() {
            continue;
        }
        let mut account = ixc.try_borrow_instruction_account(index)?;
        if !account.is_writable() {
            continue;
        }
        let Some(info) = infos.iter().find(|i| i.key == account.get_key()) else {
            continue;
        };
        write_back(info, &mut account)?;
    }
    Ok(())
}

/// Copy what a program did to an `AccountInfo` into the runtime's account. The owner goes
/// last: lamports and data may only change while the program still owns the account.
fn write_back(
    info: &AccountInfo,
    account: &mut BorrowedInstructionAccount,
) -> Result<(), InstructionError> {
    if account.get_lamports() != info.lamports() {
        account.set_lamports(info.lamports())?;
    }
    let data = info
        .try_borrow_data()
        .map_err(|_| InstructionError::AccountBorrowFailed)?;
    if account.get_data() != &data[..] {
        account.set_data_from_slice(&data)?;
    }
    if account.get_owner() != info.owner {
        account.set_owner(info.owner.as_ref())?;
    }
    Ok(())
}

/// Copy the runtime's account into a caller's `AccountInfo` after a CPI.
fn read_back(account: &BorrowedInstructionAccount, info: &AccountInfo) -> Result<(), ProgramError> {
    **info.try_borrow_mut_lamports()? = account.get_lamports();
    if info.owner != account.get_owner() {
        info.assign(account.get_owner());
    }
    let new = account.get_data();
    if info.data_len() != new.len() {
        info.resize(new.len())?;
    }
    info.try_borrow_mut_data()?.copy_from_slice(new);
    Ok(())
}

fn instruction_error(e: InstructionError) -> ProgramError {
    ProgramError::try_from(e).unwrap_or_else(|e| panic!("CPI failed: {e}"))
}

/// The syscalls of a native program, acting on the current invoke context.
struct Stubs;

impl Stubs {
    fn sysvar<T: Clone>(
        value: Result<std::sync::Arc<T>, InstructionError>,
        var_addr: *mut u8,
    ) -> u64 {
        let ctx = current();
        let cost = ctx.get_execution_cost().sysvar_base_cost + std::mem::size_of::<T>() as u64;
        if ctx.consume_checked(cost).is_err() {
            panic!("exceeded the compute budget reading a sysvar");
        }
        match value {
            Ok(v) => {
                // SAFETY: the caller passes a pointer to a `T` (`Sysvar::get`).
                unsafe { std::ptr::write_unaligned(var_addr.cast::<T>(), T::clone(&v)) };
                SUCCESS
            }
            Err(_) => UNSUPPORTED_SYSVAR,
        }
    }

    fn invoke(
        instruction: &Instruction,
        infos: &[AccountInfo],
        seeds: &[&[&[u8]]],
    ) -> Result<(), ProgramError> {
        let ctx = current();
        let caller = ctx
            .transaction_context
            .get_current_instruction_context()
            .and_then(|ixc| ixc.get_program_key().copied())
            .map_err(instruction_error)?;
        let signers = seeds
            .iter()
            .map(|s| Pubkey::create_program_address(s, &caller))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ProgramError::InvalidSeeds)?;
        ctx.prepare_next_instruction(instruction.clone(), &signers)
            .map_err(instruction_error)?;

        // The caller's view of its accounts goes into the runtime first.
        let mut writable = Vec::new();
        {
            let tc = &ctx.transaction_context;
            let caller_ixc = tc
                .get_current_instruction_context()
                .map_err(instruction_error)?;
            let callee_ixc = tc
                .get_next_instruction_context()
                .map_err(instruction_error)?;
            for ia in callee_ixc.instruction_accounts() {
                let key = tc
                    .get_key_of_account_at_index(ia.index_in_transaction)
                    .map_err(instruction_error)?;
                let info = infos
                    .iter()
                    .find(|i| i.key == key)
                    .ok_or(ProgramError::NotEnoughAccountKeys)?;
                let in_caller = caller_ixc
                    .get_index_of_account_in_instruction(ia.index_in_transaction)
                    .map_err(instruction_error)?;
                let mut account = caller_ixc
                    .try_borrow_instruction_account(in_caller)
                    .map_err(instruction_error)?;
                if account.is_writable() {
                    write_back(info, &mut account).map_err(instruction_error)?;
                }
                if ia.is_writable() {
                    writable.push((ia.index_in_transaction, info));
                }
            }
        }

        let mut units = 0;
        ctx.process_instruction(&mut units, &mut ExecuteTimings::default())
            .map_err(instruction_error)?;

        // Then what the callee did goes back into the caller's view.
        let caller_ixc = ctx
            .transaction_context
            .get_current_instruction_context()
            .map_err(instruction_error)?;
        for (index_in_transaction, info) in writable {
            let in_caller = caller_ixc
                .get_index_of_account_in_instruction(index_in_transaction)
                .map_err(instruction_error)?;
            let account = caller_ixc
                .try_borrow_instruction_account(in_caller)
                .map_err(instruction_error)?;
            read_back(&account, info)?;
        }
        Ok(())
    }
}

impl SyscallStubs for Stubs {
    fn sol_log(&self, message: &str) {
        stable_log::program_log(&current().get_log_collector(), message);
    }

    fn sol_log_data(&self, fields: &[&[u8]]) {
        stable_log::program_data(&current().get_log_collector(), fields);
    }

    fn sol_log_compute_units(&self) {
        let ctx = current();
        let remaining = ctx.get_remaining();
        stable_log::program_log(
            &ctx.get_log_collector(),
            &format!("consumption: {remaining} units remaining"),
        );
    }

    fn sol_remaining_compute_units(&self) -> u64 {
        current().get_remaining()
    }

    fn sol_invoke_signed(
        &self,
        instruction: &Instruction,
        account_infos: &[AccountInfo],
        signers_seeds: &[&[&[u8]]],
    ) -> Result<(), ProgramError> {
        Self::invoke(instruction, account_infos, signers_seeds)
    }

    fn sol_get_sysvar(&self, id: *const u8, var_addr: *mut u8, offset: u64, length: u64) -> u64 {
        // SAFETY: the caller passes a pointer to a 32-byte sysvar id.
        let id = Pubkey::new_from_array(unsafe { *id.cast::<[u8; 32]>() });
        let ctx = current();
        let Some(buf) = ctx.get_sysvar_cache().sysvar_id_to_buffer(&id) else {
            return SYSVAR_NOT_FOUND;
        };
        let (start, len) = (offset as usize, length as usize);
        let Some(bytes) = start.checked_add(len).and_then(|end| buf.get(start..end)) else {
            return OFFSET_LENGTH_EXCEEDS_SYSVAR;
        };
        // SAFETY: the caller passes a buffer of `length` bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), var_addr, len) };
        SUCCESS
    }

    fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
        Self::sysvar(current().get_sysvar_cache().get_clock(), var_addr)
    }

    fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
        Self::sysvar(current().get_sysvar_cache().get_epoch_schedule(), var_addr)
    }

    fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
        Self::sysvar(current().get_sysvar_cache().get_epoch_rewards(), var_addr)
    }

    #[allow(deprecated)]
    fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64 {
        Self::sysvar(current().get_sysvar_cache().get_fees(), var_addr)
    }

    fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
        Self::sysvar(current().get_sysvar_cache().get_rent(), var_addr)
    }

    fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
        Self::sysvar(
            current().get_sysvar_cache().get_last_restart_slot(),
            var_addr,
        )
    }

    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        // As the syscall: nothing when the data is empty.
        let (id, data) = current().transaction_context.get_return_data();
        (!data.is_empty()).then(|| (*id, data.to_vec()))
    }

    fn sol_set_return_data(&self, data: &[u8]) {
        let tc = &mut current().transaction_context;
        let program_id = tc
            .get_current_instruction_context()
            .and_then(|ixc| ixc.get_program_key().copied())
            .expect("current instruction");
        tc.set_return_data(program_id, data.to_vec())
            .expect("return data fits");
    }

    fn sol_get_stack_height(&self) -> u64 {
        current().get_stack_height() as u64
    }
}
