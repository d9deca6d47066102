//! The program's heap allocator: Solana's own bump allocator (`BumpAllocator`, the one
//! `entrypoint!` installs: downward from the end of the 32 KiB heap, nothing freed), with its
//! `alloc` kept out of line. Inlined, as the stock one is, its ten instructions sit at each of
//! the program's ~350 allocation sites (every `Box`, `Vec` and error); here each is one call.
//! Installed by the `custom-heap` feature (default), which also keeps `entrypoint!` from
//! installing the stock one; without it the program uses the stock allocator.

use anchor_lang::solana_program::entrypoint::{BumpAllocator, HEAP_LENGTH, HEAP_START_ADDRESS};
use core::alloc::{GlobalAlloc, Layout};

struct Heap(BumpAllocator);

unsafe impl GlobalAlloc for Heap {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on unchanged.
        unsafe { self.0.alloc(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
// SAFETY: the address range is the SBF VM's heap region, as in `custom_heap_default!`.
static HEAP: Heap = Heap(unsafe {
    BumpAllocator::with_fixed_address_range(HEAP_START_ADDRESS as usize, HEAP_LENGTH)
});
