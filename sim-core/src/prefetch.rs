//! A hint to the processor: bring a value's cache lines in now, because it will be read
//! soon. The event loop asks for the node of an upcoming event, the event queue for the
//! events of its upcoming slots.

/// Asks the processor to bring `value`'s cache lines in: a hint, with no effect on what
/// the program computes.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let start = value as *const T as *const i8;
        for offset in (0..std::mem::size_of::<T>()).step_by(64) {
            // SAFETY: a prefetch reads nothing into the program and cannot fault, whatever
            // the address; this one is inside `value`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
