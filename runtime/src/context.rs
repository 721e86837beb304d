//! The per-caller context: the last error as a C string, and a reusable
//! workspace (the arena a generated model plans its intermediates into).
//!
//! A context is used by one thread at a time (it is `Send`, not `Sync`);
//! different contexts are independent and may run concurrently. That is
//! the contract a generated library passes on to its callers.

use std::ffi::{CStr, CString};

use crate::buffer::AlignedBuf;
use crate::error::{RuntimeError, Status};

/// One caller's runtime state.
#[derive(Debug)]
pub struct Context {
    /// The last error's status; [`Status::Ok`] when there is none.
    last_status: Status,
    /// The last error's message, NUL-terminated for the C ABI; empty when
    /// there is none.
    last_message: CString,
    /// Scratch memory that lives as long as the context and only grows.
    workspace: AlignedBuf,
}

impl Default for Context {
    fn default() -> Context {
        Context::new()
    }
}

impl Context {
    /// A context with no error and an empty workspace.
    pub fn new() -> Context {
        Context {
            last_status: Status::Ok,
            last_message: CString::default(),
            workspace: empty_buf(),
        }
    }

    /// Records `err` as the last error.
    pub fn set_error(&mut self, err: &RuntimeError) {
        self.last_status = err.status;
        self.last_message = to_c_string(&err.message);
    }

    /// Forgets the last error.
    pub fn clear_error(&mut self) {
        self.last_status = Status::Ok;
        self.last_message = CString::default();
    }

    /// The last error's status ([`Status::Ok`] if none).
    pub fn last_status(&self) -> Status {
        self.last_status
    }

    /// The last error's message; empty if none.
    pub fn last_error(&self) -> &CStr {
        &self.last_message
    }

    /// Records the error of `result`, if any, and passes the result on.
    pub fn record<T>(&mut self, result: Result<T, RuntimeError>) -> Result<T, RuntimeError> {
        if let Err(e) = &result {
            self.set_error(e);
        }
        result
    }

    /// At least `size` bytes of scratch memory aligned to 64 bytes, owned by
    /// the context. The memory is reused by later calls and reallocated
    /// (contents lost) only when a call asks for more than it holds; it is
    /// zeroed when (re)allocated, and otherwise holds whatever was last
    /// written to it.
    pub fn workspace(&mut self, size: usize) -> Result<&mut AlignedBuf, RuntimeError> {
        if self.workspace.len() < size {
            // Free the old one first so peak memory is the new size only.
            self.workspace = empty_buf();
            self.workspace = AlignedBuf::zeroed(size)?;
        }
        Ok(&mut self.workspace)
    }
}

/// An empty buffer; allocating nothing cannot fail.
fn empty_buf() -> AlignedBuf {
    AlignedBuf::zeroed(0).unwrap_or_else(|_| unreachable!("an empty buffer allocates nothing"))
}

/// `s` as a C string, with any NUL byte (from a caller's name) shown as `\0`.
fn to_c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_else(|_| unreachable!("NUL bytes were replaced"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_recorded_and_cleared() {
        let mut cx = Context::new();
        assert_eq!(cx.last_error(), c"");
        assert_eq!(cx.last_status(), Status::Ok);
        let r: Result<(), _> = cx.record(Err(RuntimeError::new(
            Status::RankMismatch,
            "input 'x': rank must be 2, got 3",
        )));
        assert!(r.is_err());
        assert_eq!(cx.last_error(), c"input 'x': rank must be 2, got 3");
        assert_eq!(cx.last_status(), Status::RankMismatch);
        assert_eq!(cx.record(Ok(5)).unwrap(), 5);
        assert_eq!(
            cx.last_status(),
            Status::RankMismatch,
            "success does not clear by itself"
        );
        cx.clear_error();
        assert_eq!(cx.last_error(), c"");
    }

    #[test]
    fn nul_bytes_in_messages_are_escaped() {
        let mut cx = Context::new();
        cx.set_error(&RuntimeError::new(Status::InvalidArgument, "input 'a\0b'"));
        assert_eq!(cx.last_error(), c"input 'a\\0b'");
    }

    #[test]
    fn workspace_grows_and_is_reused() {
        let mut cx = Context::new();
        assert_eq!(cx.workspace(0).unwrap().len(), 0);
        let p = {
            let w = cx.workspace(1000).unwrap();
            assert!(w.len() >= 1000);
            assert_eq!(w.as_ptr() as usize % 64, 0);
            w.as_mut_slice()[999] = 9;
            w.as_ptr()
        };
        let w = cx.workspace(10).unwrap();
        assert_eq!(w.as_ptr(), p, "a smaller request reuses the buffer");
        assert_eq!(w.as_slice()[999], 9);
        assert!(cx.workspace(5000).unwrap().len() >= 5000);
        let e = cx.workspace(usize::MAX).unwrap_err();
        assert_eq!(e.status, Status::SizeOverflow);
    }
}
