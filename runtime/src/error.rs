//! Status codes (stable numbers, part of the C ABI) and the runtime's error
//! type, a status with a message for a person.

use std::ffi::CStr;
use std::fmt;

/// What a C entry point returns. The numbers are part of the ABI: they never
/// change, and new codes are only ever appended.
#[repr(i32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// A pointer argument that must not be null was null.
    NullArgument = 1,
    /// An argument had a value outside its domain: an unknown dtype code, a
    /// negative dim, a zero grid dimension, too many threads, a name with a
    /// NUL byte.
    InvalidArgument = 2,
    /// A tensor's dtype differs from the signature.
    DTypeMismatch = 3,
    /// A tensor's rank differs from the signature.
    RankMismatch = 4,
    /// A tensor's dims differ from the signature: a static dim, or a
    /// symbolic dim bound to another value elsewhere.
    ShapeMismatch = 5,
    /// A size computation (elements × element size, an allocation with its
    /// alignment) does not fit in `isize`.
    SizeOverflow = 6,
    /// The allocator returned no memory.
    OutOfMemory = 7,
    /// The thread pool could not be created.
    ThreadPool = 8,
    /// No CUDA driver is installed, or it reports no such device.
    NoDevice = 9,
    /// A CUDA driver call failed.
    Cuda = 10,
    /// A panic was caught at the C boundary: a bug in tessera, never the
    /// caller's fault.
    Internal = 11,
    /// Generated code reported a failure while running: an integer
    /// division by zero, an index out of range, a temporary it could not
    /// allocate (the message says which).
    Execution = 12,
}

impl Status {
    /// Every status, in numeric order.
    pub const ALL: [Status; 13] = [
        Status::Ok,
        Status::NullArgument,
        Status::InvalidArgument,
        Status::DTypeMismatch,
        Status::RankMismatch,
        Status::ShapeMismatch,
        Status::SizeOverflow,
        Status::OutOfMemory,
        Status::ThreadPool,
        Status::NoDevice,
        Status::Cuda,
        Status::Internal,
        Status::Execution,
    ];

    /// The numeric code the C ABI uses.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The status with numeric code `code`, if there is one.
    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// A short description ("null argument"), as a C string so the C ABI can
    /// hand it out without allocating.
    pub fn describe(self) -> &'static CStr {
        match self {
            Status::Ok => c"ok",
            Status::NullArgument => c"null argument",
            Status::InvalidArgument => c"invalid argument",
            Status::DTypeMismatch => c"dtype mismatch",
            Status::RankMismatch => c"rank mismatch",
            Status::ShapeMismatch => c"shape mismatch",
            Status::SizeOverflow => c"size overflow",
            Status::OutOfMemory => c"out of memory",
            Status::ThreadPool => c"thread pool unavailable",
            Status::NoDevice => c"no CUDA device",
            Status::Cuda => c"CUDA driver error",
            Status::Internal => c"internal error",
            Status::Execution => c"execution error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every description is ASCII.
        f.write_str(self.describe().to_str().unwrap_or("?"))
    }
}

/// An error: the status a C caller sees, and a message naming what was wrong
/// ("input 'x': dim 1 must be 784, got 785").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeError {
    /// The status code; never [`Status::Ok`].
    pub status: Status,
    /// The message, a complete sentence fragment without a trailing period.
    pub message: String,
}

impl RuntimeError {
    /// An error with the given status and message.
    pub fn new(status: Status, message: impl Into<String>) -> RuntimeError {
        debug_assert_ne!(status, Status::Ok, "an error needs a failing status");
        RuntimeError {
            status,
            message: message.into(),
        }
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuntimeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        // These numbers are ABI: changing one breaks every compiled library.
        let expected = [
            (Status::Ok, 0),
            (Status::NullArgument, 1),
            (Status::InvalidArgument, 2),
            (Status::DTypeMismatch, 3),
            (Status::RankMismatch, 4),
            (Status::ShapeMismatch, 5),
            (Status::SizeOverflow, 6),
            (Status::OutOfMemory, 7),
            (Status::ThreadPool, 8),
            (Status::NoDevice, 9),
            (Status::Cuda, 10),
            (Status::Internal, 11),
            (Status::Execution, 12),
        ];
        assert_eq!(expected.len(), Status::ALL.len());
        for (status, code) in expected {
            assert_eq!(status.code(), code);
            assert_eq!(Status::from_code(code), Some(status));
        }
        assert_eq!(Status::from_code(13), None);
        assert_eq!(Status::from_code(-1), None);
    }

    #[test]
    fn display() {
        assert_eq!(Status::ShapeMismatch.to_string(), "shape mismatch");
        let e = RuntimeError::new(Status::NullArgument, "input 'x': data pointer is null");
        assert_eq!(e.to_string(), "input 'x': data pointer is null");
    }
}
