//! Memory: 64-byte aligned buffers, the raw allocation pair behind
//! `tessera_rt_alloc`/`tessera_rt_free`, and checked size arithmetic.
//!
//! Every size goes through checked arithmetic: a shape whose byte size does
//! not fit in `isize` is a [`Status::SizeOverflow`] error, never a wrapped
//! number and a short allocation.

use std::alloc::{self, Layout};
use std::ptr::NonNull;

use crate::dtype::DType;
use crate::error::{RuntimeError, Status};

/// Alignment of every runtime allocation, in bytes: one cache line, and
/// enough for any vector load up to AVX-512.
pub const ALIGN: usize = 64;

/// The layout of `size` bytes at [`ALIGN`], or a size-overflow error.
fn layout(size: usize) -> Result<Layout, RuntimeError> {
    Layout::from_size_align(size, ALIGN).map_err(|_| {
        RuntimeError::new(
            Status::SizeOverflow,
            format!("cannot allocate {size} bytes: the size overflows"),
        )
    })
}

/// Allocates `layout` (non-zero size), zeroed or not.
fn allocate(layout: Layout, zeroed: bool) -> Result<NonNull<u8>, RuntimeError> {
    debug_assert!(layout.size() > 0);
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe {
        if zeroed {
            alloc::alloc_zeroed(layout)
        } else {
            alloc::alloc(layout)
        }
    };
    NonNull::new(ptr).ok_or_else(|| {
        RuntimeError::new(
            Status::OutOfMemory,
            format!("cannot allocate {} bytes: out of memory", layout.size()),
        )
    })
}

/// A dangling pointer aligned to [`ALIGN`], for empty buffers.
fn dangling() -> NonNull<u8> {
    // SAFETY: ALIGN is not zero.
    unsafe { NonNull::new_unchecked(std::ptr::without_provenance_mut(ALIGN)) }
}

/// An owned, zero-initialised byte buffer whose start is aligned to
/// [`ALIGN`]. An empty buffer allocates nothing and still has an aligned,
/// non-null (dangling) pointer.
pub struct AlignedBuf {
    /// Start of the allocation; dangling when `len == 0`.
    ptr: NonNull<u8>,
    /// Length in bytes; `ptr..ptr+len` is allocated with [`ALIGN`].
    len: usize,
}

// SAFETY: an AlignedBuf owns its bytes exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only reads through `&self`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A zeroed buffer of `len` bytes.
    pub fn zeroed(len: usize) -> Result<AlignedBuf, RuntimeError> {
        if len == 0 {
            return Ok(AlignedBuf {
                ptr: dangling(),
                len,
            });
        }
        let ptr = allocate(layout(len)?, true)?;
        Ok(AlignedBuf { ptr, len })
    }

    /// A zeroed buffer for `dims` elements of `dtype`, its size checked.
    pub fn for_shape(dtype: DType, dims: &[usize]) -> Result<AlignedBuf, RuntimeError> {
        AlignedBuf::zeroed(byte_size(dtype, dims)?)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pointer to the first byte, aligned to [`ALIGN`].
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// Mutable pointer to the first byte, aligned to [`ALIGN`].
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is valid (or dangling and aligned for len 0) for `len` initialised bytes.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: allocated in `zeroed` with exactly this layout, which was valid then.
            unsafe {
                alloc::dealloc(
                    self.ptr.as_ptr(),
                    Layout::from_size_align_unchecked(self.len, ALIGN),
                )
            }
        }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf")
            .field("ptr", &self.ptr)
            .field("len", &self.len)
            .finish()
    }
}

/// Allocates `size` bytes (uninitialised) aligned to [`ALIGN`], for the C
/// ABI's `tessera_rt_alloc`: the size is kept in a header line before the
/// returned pointer so [`raw_free`] needs only the pointer. A zero size
/// allocates one header line and returns a unique pointer.
pub fn raw_alloc(size: usize) -> Result<NonNull<u8>, RuntimeError> {
    let total = size.checked_add(ALIGN).ok_or_else(|| {
        RuntimeError::new(
            Status::SizeOverflow,
            format!("cannot allocate {size} bytes: the size overflows"),
        )
    })?;
    let base = allocate(layout(total)?, false)?;
    // SAFETY: the allocation has at least ALIGN bytes; the header is its
    // first word, aligned since the allocation is.
    unsafe {
        base.as_ptr().cast::<usize>().write(total);
        Ok(NonNull::new_unchecked(base.as_ptr().add(ALIGN)))
    }
}

/// Frees a pointer from [`raw_alloc`].
///
/// # Safety
/// `ptr` came from [`raw_alloc`] and was not freed before.
pub unsafe fn raw_free(ptr: NonNull<u8>) {
    // SAFETY: per the contract, the header line precedes `ptr` and holds the
    // total size of an allocation made with that layout.
    unsafe {
        let base = ptr.as_ptr().sub(ALIGN);
        let total = base.cast::<usize>().read();
        alloc::dealloc(base, Layout::from_size_align_unchecked(total, ALIGN));
    }
}

/// The number of elements in a tensor of shape `dims`, or an overflow error.
pub fn element_count(dims: &[usize]) -> Result<usize, RuntimeError> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            RuntimeError::new(
                Status::SizeOverflow,
                format!("shape {dims:?} has more elements than fit in memory"),
            )
        })
}

/// The size in bytes of a tensor of `dtype` and shape `dims`; an error if it
/// does not fit in `isize` (the most any allocation or pointer offset can span).
pub fn byte_size(dtype: DType, dims: &[usize]) -> Result<usize, RuntimeError> {
    element_count(dims)?
        .checked_mul(dtype.size())
        .filter(|&b| isize::try_from(b).is_ok())
        .ok_or_else(|| {
            RuntimeError::new(
                Status::SizeOverflow,
                format!("a {dtype} tensor of shape {dims:?} does not fit in memory"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_zeroed() {
        for len in [1, 3, 63, 64, 65, 1000, 1 << 20] {
            let mut b = AlignedBuf::zeroed(len).unwrap();
            assert_eq!(b.len(), len);
            assert_eq!(b.as_ptr() as usize % ALIGN, 0, "len {len}");
            assert!(b.as_slice().iter().all(|&x| x == 0));
            b.as_mut_slice()[len - 1] = 7;
            assert_eq!(b.as_slice()[len - 1], 7);
        }
    }

    #[test]
    fn empty_buffer_is_aligned_and_allocates_nothing() {
        let b = AlignedBuf::zeroed(0).unwrap();
        assert!(b.is_empty());
        assert_eq!(b.as_ptr() as usize % ALIGN, 0);
        assert!(!b.as_ptr().is_null());
        assert_eq!(b.as_slice(), &[] as &[u8]);
    }

    #[test]
    fn for_shape_checks_sizes() {
        let b = AlignedBuf::for_shape(DType::F32, &[3, 5]).unwrap();
        assert_eq!(b.len(), 60);
        let e = AlignedBuf::for_shape(DType::F32, &[usize::MAX, 2]).unwrap_err();
        assert_eq!(e.status, Status::SizeOverflow);
        assert!(e.message.contains("more elements than fit"), "{e}");
        // Fits in usize as elements but not as bytes.
        let e = AlignedBuf::for_shape(DType::F64, &[usize::MAX / 4]).unwrap_err();
        assert_eq!(e.status, Status::SizeOverflow);
        assert_eq!(
            e.message,
            format!(
                "a f64 tensor of shape [{}] does not fit in memory",
                usize::MAX / 4
            )
        );
    }

    #[test]
    fn byte_size_limits() {
        assert_eq!(byte_size(DType::I64, &[]).unwrap(), 8);
        assert_eq!(byte_size(DType::I64, &[0, usize::MAX]).unwrap(), 0);
        assert_eq!(
            byte_size(DType::U8, &[isize::MAX as usize]).unwrap(),
            isize::MAX as usize
        );
        assert!(byte_size(DType::U8, &[isize::MAX as usize + 1]).is_err());
        assert_eq!(element_count(&[2, 3, 4]).unwrap(), 24);
    }

    #[test]
    fn huge_allocation_is_an_error_not_an_abort() {
        let e = AlignedBuf::zeroed(usize::MAX - 10).unwrap_err();
        assert_eq!(e.status, Status::SizeOverflow);
        // Valid layout, impossible size: the allocator says no.
        let e = AlignedBuf::zeroed(isize::MAX as usize - 2 * ALIGN).unwrap_err();
        assert_eq!(e.status, Status::OutOfMemory, "{e}");
    }

    #[test]
    fn raw_alloc_round_trip() {
        for size in [0, 1, 64, 100, 4096] {
            let p = raw_alloc(size).unwrap();
            assert_eq!(p.as_ptr() as usize % ALIGN, 0);
            // SAFETY: `size` bytes were allocated at `p`.
            unsafe {
                std::ptr::write_bytes(p.as_ptr(), 0xAB, size);
                raw_free(p);
            }
        }
        assert_eq!(
            raw_alloc(usize::MAX - 1).unwrap_err().status,
            Status::SizeOverflow
        );
    }
}
