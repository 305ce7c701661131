//! The process allocator of the binaries that load the models: libc's, as
//! std's `System` uses it, with blocks of 2 MiB and more aligned to 2 MiB and
//! offered to the kernel for transparent huge pages (`madvise(MADV_HUGEPAGE)`)
//! before they are touched.
//!
//! Why: loading the encoder writes ~90 MB of weights and ~22 MB of packed
//! matrices into fresh memory, one 4 KiB page fault at a time: ~35,000 minor
//! faults and 75–80 ms of system time for a `ferry predict hello` on a 2-core
//! EPYC. Where the kernel runs THP in `madvise` mode (Debian's default, and
//! this machine's) a 2 MiB page takes one fault instead of 512: ~13,600
//! faults, 45 ms of system time, 163 → 128 ms in all, peak RSS unchanged
//! (hyperfine, 20 runs each). jemalloc with `thp:always` (tried through
//! LD_PRELOAD) faulted less (4,600) but put the small allocations' arenas on
//! huge pages too: +20 MB peak RSS. Where THP is off this is libc's allocator.

use std::alloc::{GlobalAlloc, Layout};

/// The global allocator for binaries that load the models:
/// `#[global_allocator] static ALLOC: ferry_models::HugePageAlloc = ferry_models::HugePageAlloc;`
pub struct HugePageAlloc;

const HUGE_PAGE: usize = 2 << 20;

/// The alignment `malloc` gives (glibc on 64-bit targets).
const MALLOC_ALIGN: usize = 16;

/// Marks the whole 2 MiB pages inside `[ptr, ptr + len)` for huge pages.
fn advise(ptr: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    if len >= HUGE_PAGE && !ptr.is_null() {
        let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
        let end = (ptr as usize + len) & !(HUGE_PAGE - 1);
        if end > start {
            // SAFETY: the range lies inside a block the allocator just handed
            // out; MADV_HUGEPAGE changes how pages are backed, never their
            // contents, and a failure (THP off) leaves them as they were.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

fn aligned(align: usize, size: usize) -> *mut u8 {
    let mut ptr = std::ptr::null_mut();
    // SAFETY: `align` is a power of two (a `Layout`'s, or HUGE_PAGE) and a
    // multiple of the pointer size, as posix_memalign asks.
    let failed = unsafe { libc::posix_memalign(&mut ptr, align.max(size_of::<usize>()), size) };
    if failed == 0 { ptr.cast() } else { std::ptr::null_mut() }
}

// SAFETY: libc's allocator as std's `System` uses it on unix (malloc, calloc,
// realloc and free; posix_memalign beyond malloc's alignment), with blocks of
// 2 MiB or more starting on a 2 MiB boundary, so their first 2 MiB, not only
// what lies past the next boundary, can be a huge page (the encoder's 2.3 MB
// feed-forward matrices then mostly are). The alignment costs address space,
// not memory: pages never touched are never backed.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = if layout.size() >= HUGE_PAGE {
            aligned(layout.align().max(HUGE_PAGE), layout.size())
        } else if layout.align() <= MALLOC_ALIGN && layout.align() <= layout.size() {
            unsafe { libc::malloc(layout.size()) }.cast()
        } else {
            aligned(layout.align(), layout.size())
        };
        advise(ptr, layout.size());
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN && layout.align() <= layout.size() {
            // calloc's fresh pages are zero already and untouched: advised
            // before anything writes them.
            let ptr = unsafe { libc::calloc(layout.size(), 1) }.cast();
            advise(ptr, layout.size());
            return ptr;
        }
        let ptr = unsafe { self.alloc(layout) };
        if !ptr.is_null() {
            unsafe { ptr.write_bytes(0, layout.size()) };
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { libc::free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN && layout.align() <= new_size {
            // glibc moves a large block by remapping its pages, not copying.
            let new = unsafe { libc::realloc(ptr.cast(), new_size) }.cast();
            advise(new, new_size);
            return new;
        }
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a
        // valid layout; the block is moved as `GlobalAlloc`'s default does.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_their_contents_across_every_size_class() {
        let alloc = HugePageAlloc;
        for (size, grown) in [(64, 4096), (HUGE_PAGE - 1, HUGE_PAGE + 1), (3 * HUGE_PAGE, HUGE_PAGE / 2)] {
            let layout = Layout::from_size_align(size, 16).unwrap();
            unsafe {
                let zeroed = alloc.alloc_zeroed(layout);
                assert!(std::slice::from_raw_parts(zeroed, size).iter().all(|&b| b == 0));
                alloc.dealloc(zeroed, layout);
                let ptr = alloc.alloc(layout);
                assert!(!ptr.is_null());
                if size >= HUGE_PAGE {
                    assert_eq!(ptr as usize % HUGE_PAGE, 0, "large blocks start on a huge page");
                }
                ptr.write_bytes(7, size);
                let moved = alloc.realloc(ptr, layout, grown);
                assert!(std::slice::from_raw_parts(moved, size.min(grown)).iter().all(|&b| b == 7));
                alloc.dealloc(moved, Layout::from_size_align(grown, 16).unwrap());
            }
        }
    }
}
