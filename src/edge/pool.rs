//! The module's allocator: Rust's default on wasm32 (dlmalloc) behind free lists of small
//! blocks.
//!
//! A request allocates and frees about a hundred small blocks (strings, vectors, JSON
//! nodes); compiled to wasm, dlmalloc's bookkeeping was about a quarter of the module's time
//! on workerd. Blocks of up to `MAX` bytes come in size classes of `CLASS` bytes; a freed
//! block goes on its class's list and is handed out again by the next allocation of that
//! class, in a few instructions. Lists only grow to the most blocks of a class alive at
//! once, and wasm memory never shrinks anyway. Larger or over-aligned blocks go to dlmalloc.
//!
//! wasm32 without the `atomics` feature runs one thread, so the lists need no lock.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// Size classes are multiples of this many bytes; every block is aligned to it.
const CLASS: usize = 16;
/// Number of classes: blocks up to `CLASS * CLASSES` bytes are pooled.
const CLASSES: usize = 32;
const MAX: usize = CLASS * CLASSES;

struct Lists(UnsafeCell<[*mut u8; CLASSES]>);

// Sound on wasm32 without threads: there is no second thread to share it with.
unsafe impl Sync for Lists {}

static LISTS: Lists = Lists(UnsafeCell::new([ptr::null_mut(); CLASSES]));

pub struct Pooled;

/// The class of a layout, if it is pooled.
fn class(layout: Layout) -> Option<usize> {
    (layout.size() != 0 && layout.size() <= MAX && layout.align() <= CLASS).then(|| (layout.size() - 1) / CLASS)
}

/// The layout every block of class `c` is allocated with.
fn block(c: usize) -> Layout {
    // (c + 1) * CLASS is at most MAX, and CLASS is a power of two.
    unsafe { Layout::from_size_align_unchecked((c + 1) * CLASS, CLASS) }
}

unsafe impl GlobalAlloc for Pooled {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class(layout) else { return unsafe { System.alloc(layout) } };
        // SAFETY: one thread; no reference to the lists outlives this call.
        let lists = unsafe { &mut *LISTS.0.get() };
        let head = lists[c];
        if head.is_null() {
            return unsafe { System.alloc(block(c)) };
        }
        // A free block holds the next free block of its class in its first word.
        lists[c] = unsafe { head.cast::<*mut u8>().read() };
        head
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let Some(c) = class(layout) else { return unsafe { System.dealloc(p, layout) } };
        let lists = unsafe { &mut *LISTS.0.get() };
        unsafe { p.cast::<*mut u8>().write(lists[c]) };
        lists[c] = p;
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(layout), class(new)) {
            // The block already holds the whole class.
            (Some(a), Some(b)) if a == b => p,
            (None, None) => unsafe { System.realloc(p, layout, new_size) },
            _ => {
                let q = unsafe { self.alloc(new) };
                if !q.is_null() {
                    unsafe {
                        ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                        self.dealloc(p, layout);
                    }
                }
                q
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random allocations, growths, shrinks and frees of many sizes; every live block keeps
    /// the bytes written into it, so no two live blocks overlap.
    #[test]
    fn blocks_keep_their_bytes() {
        let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let fill = |p: *mut u8, l: Layout, tag: u8| unsafe { ptr::write_bytes(p, tag, l.size()) };
        let check = |p: *mut u8, l: Layout, tag: u8| (0..l.size()).all(|i| unsafe { *p.add(i) } == tag);
        for step in 0..20_000u32 {
            let r = next();
            if live.is_empty() || r % 3 == 0 {
                let size = 1 + (next() % if r % 7 == 0 { 2000 } else { 600 }) as usize;
                let align = [1, 2, 4, 8, 16, 32][(next() % 6) as usize];
                let l = Layout::from_size_align(size, align).unwrap();
                let p = unsafe { Pooled.alloc(l) };
                assert!(!p.is_null() && (p as usize).is_multiple_of(align));
                let tag = step as u8;
                fill(p, l, tag);
                live.push((p, l, tag));
            } else if r % 3 == 1 {
                let (p, l, tag) = live.swap_remove((next() as usize) % live.len());
                assert!(check(p, l, tag), "a live block was overwritten");
                unsafe { Pooled.dealloc(p, l) };
            } else {
                let i = (next() as usize) % live.len();
                let (p, l, tag) = live[i];
                let size = 1 + (next() % 1500) as usize;
                let q = unsafe { Pooled.realloc(p, l, size) };
                let nl = Layout::from_size_align(size, l.align()).unwrap();
                assert!(!q.is_null() && (q as usize).is_multiple_of(l.align()));
                assert!((0..l.size().min(size)).all(|k| unsafe { *q.add(k) } == tag), "realloc lost bytes");
                fill(q, nl, tag);
                live[i] = (q, nl, tag);
            }
        }
        for (p, l, tag) in live {
            assert!(check(p, l, tag));
            unsafe { Pooled.dealloc(p, l) };
        }
    }
}
