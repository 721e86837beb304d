//! The thread pool: a rayon pool of its own, and `parallel_for`, which
//! splits an index range `0..n` into contiguous chunks and runs a body on
//! each, in parallel.
//!
//! # Chunking policy
//!
//! The unit of `n` is the caller's (rows, tiles, blocks of elements): the
//! runtime knows nothing of costs, so codegen picks units worth at least a
//! few microseconds each. With `T` threads available, `0..n` is cut into
//! `min(n, 4·T)` contiguous ranges, in order, whose lengths differ by at most
//! one (the first `n mod parts` ranges are one longer). Four ranges per
//! thread let rayon's work stealing even out uneven chunks without making
//! ranges so short that the body's inner loops stop vectorising. Each index
//! of `0..n` is in exactly one range; ranges run concurrently and in no
//! particular order. When only one range would be made, or the pool has one
//! thread, the body runs once on the calling thread with `0..n`; `n == 0`
//! runs nothing. Called from outside the pool, the calling thread runs
//! ranges too, beside `T - 1` of the pool's threads, each taking the next
//! range left until none is (so a call wakes one thread fewer and nobody
//! waits idle while ranges remain).
//!
//! # Threads
//!
//! Loops run on [`num_threads`] threads, `T`: the count set by
//! [`set_num_threads`], else `TESSERA_NUM_THREADS` (an integer from 1 to
//! [`MAX_THREADS`]; any other value is ignored), else the machine's
//! available parallelism. The pool, created on first use, has `T - 1` of
//! them (at least one): the thread calling [`parallel_for`] is the other,
//! so no more threads than `T` compete for the cores. Setting a new count replaces the pool; loops
//! running on the old one finish there. [`shutdown`] stops the pool and
//! joins its threads, which a library must do before it is unloaded
//! (`dlclose`) so no thread outlives its code; the next loop starts a new
//! pool. (valgrind still reports a few KiB "possibly lost" at exit: the
//! threads' stacks while the pool runs, or, after a shutdown, the per-thread
//! records that rayon's crossbeam-epoch keeps in a global list of tagged
//! pointers. Nothing is "definitely lost".)
//!
//! # Nesting
//!
//! Nested calls are safe and do not oversubscribe: a `parallel_for` called
//! from inside a chunk (or from any rayon worker thread, including one of the
//! host application's pools) runs on the pool of the thread that called it,
//! sharing its threads through work stealing instead of blocking on them;
//! a call from a chunk that the calling thread itself runs is run inline.

use std::cell::Cell;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;

use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{RuntimeError, Status};

/// Ranges made per thread; see the module doc.
pub const CHUNKS_PER_THREAD: usize = 4;

/// The most threads the pool will have.
pub const MAX_THREADS: usize = 1024;

/// The environment variable that sets the default thread count.
pub const NUM_THREADS_VAR: &str = "TESSERA_NUM_THREADS";

/// The count set by [`set_num_threads`]; 0 when unset.
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

/// The pool, created on first use; `None` after the count changed.
static POOL: Mutex<Option<Arc<ThreadPool>>> = Mutex::new(None);

/// Every pool thread started and not yet joined, of this pool and of pools
/// replaced by [`set_num_threads`]. Finished ones are pruned when a thread
/// starts.
static THREADS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

/// Locks `m`; a panic elsewhere cannot leave these statics inconsistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The count the environment asks for, or the machine's parallelism.
fn default_threads() -> usize {
    static DEFAULT: OnceLock<usize> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        parse_thread_count(std::env::var(NUM_THREADS_VAR).ok().as_deref()).unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_THREADS)
        })
    })
}

/// Parses a `TESSERA_NUM_THREADS` value: an integer in `1..=MAX_THREADS`.
fn parse_thread_count(value: Option<&str>) -> Option<usize> {
    value?
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=MAX_THREADS).contains(n))
}

/// The number of threads the pool has, or will have when first used.
pub fn num_threads() -> usize {
    match REQUESTED.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

/// Sets the pool's thread count; 0 returns to the default (see the module
/// doc). An error if `n > MAX_THREADS`.
pub fn set_num_threads(n: usize) -> Result<(), RuntimeError> {
    if n > MAX_THREADS {
        return Err(RuntimeError::new(
            Status::InvalidArgument,
            format!("cannot use {n} threads: at most {MAX_THREADS}"),
        ));
    }
    let mut pool = lock(&POOL);
    REQUESTED.store(n, Ordering::Relaxed);
    *pool = None;
    Ok(())
}

/// Stops the pool and joins its threads, after the loops running on it
/// finish; the next [`parallel_for`] starts a new pool. An error if called
/// from a rayon worker thread or from a chunk (it would wait for itself).
pub fn shutdown() -> Result<(), RuntimeError> {
    if rayon::current_thread_index().is_some() || IN_CALLER_CHUNK.get() {
        return Err(RuntimeError::new(
            Status::InvalidArgument,
            "cannot shut the thread pool down from one of its threads",
        ));
    }
    // Dropping the last reference tells rayon's threads to exit.
    drop(lock(&POOL).take());
    let threads = std::mem::take(&mut *lock(&THREADS));
    for thread in threads {
        // Rayon catches panics in jobs, so a worker never ends in one.
        let _ = thread.join();
    }
    Ok(())
}

/// The pool, created with [`num_threads`] threads if there is none.
fn pool() -> Result<Arc<ThreadPool>, RuntimeError> {
    let mut slot = lock(&POOL);
    if let Some(pool) = &*slot {
        return Ok(pool.clone());
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(num_threads().saturating_sub(1).max(1))
        .spawn_handler(|thread| {
            let mut builder =
                std::thread::Builder::new().name(format!("tessera-{}", thread.index()));
            if let Some(size) = thread.stack_size() {
                builder = builder.stack_size(size);
            }
            let handle = builder.spawn(|| thread.run())?;
            let mut threads = lock(&THREADS);
            threads.retain(|t| !t.is_finished());
            threads.push(handle);
            Ok(())
        })
        .build()
        .map_err(|e| {
            RuntimeError::new(
                Status::ThreadPool,
                format!("cannot start the thread pool: {e}"),
            )
        })?;
    Ok(slot.insert(Arc::new(pool)).clone())
}

/// The `index`th of `parts` contiguous ranges covering `0..n`, per the
/// chunking policy (lengths differ by at most one, longer ones first).
/// Requires `0 < parts <= n` and `index < parts`.
pub fn chunk(n: usize, parts: usize, index: usize) -> Range<usize> {
    debug_assert!(0 < parts && parts <= n && index < parts);
    let (base, extra) = (n / parts, n % parts);
    let start = index * base + index.min(extra);
    start..start + base + usize::from(index < extra)
}

/// How many ranges `parallel_for` makes of `0..n` with `threads` threads.
pub fn chunk_count(n: usize, threads: usize) -> usize {
    n.min(threads.saturating_mul(CHUNKS_PER_THREAD))
}

/// Runs `body` on the chunks of `0..n` on the current rayon pool.
fn run_chunks<F: Fn(Range<usize>) + Sync>(n: usize, threads: usize, body: &F) {
    let parts = chunk_count(n, threads);
    if parts <= 1 || threads <= 1 {
        body(0..n);
    } else {
        (0..parts)
            .into_par_iter()
            .for_each(|i| body(chunk(n, parts, i)));
    }
}

/// Runs `body` over `0..n` cut into contiguous chunks, in parallel (see the
/// module doc for the policy). Returns when every chunk has run. A panic in
/// `body` propagates to the caller once the other chunks have finished. An
/// error only if the pool could not be started.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// let total = AtomicUsize::new(0);
/// tessera_runtime::parallel_for(1000, |chunk| {
///     total.fetch_add(chunk.len(), Ordering::Relaxed);
/// })?;
/// assert_eq!(total.into_inner(), 1000);
/// # Ok::<(), tessera_runtime::RuntimeError>(())
/// ```
pub fn parallel_for<F>(n: usize, body: F) -> Result<(), RuntimeError>
where
    F: Fn(Range<usize>) + Sync,
{
    if n == 0 {
        return Ok(());
    }
    if rayon::current_thread_index().is_some() {
        // Nested, or called from a rayon worker: share that pool.
        run_chunks(n, rayon::current_num_threads(), &body);
        return Ok(());
    }
    if n == 1 || num_threads() == 1 || IN_CALLER_CHUNK.get() {
        // Also nested in a chunk this thread runs of its own loop.
        body(0..n);
        return Ok(());
    }
    let pool = pool()?;
    run_with_caller(&pool, n, &body);
    Ok(())
}

/// Runs the chunks of `0..n` on the calling thread (not one of `pool`'s)
/// and `T - 1` helpers on `pool` (which has `T - 1` threads), each taking
/// the next chunk not yet taken until none is left: the caller works
/// instead of sleeping, and one pool thread fewer has to wake up.
fn run_with_caller<F: Fn(Range<usize>) + Sync>(pool: &ThreadPool, n: usize, body: &F) {
    let threads = num_threads();
    let parts = chunk_count(n, threads);
    let next = AtomicUsize::new(0);
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= parts {
            break;
        }
        body(chunk(n, parts, i));
    };
    let _caller = CallerChunks::enter();
    pool.in_place_scope(|scope| {
        for _ in 1..threads.min(parts) {
            scope.spawn(|_| work());
        }
        work();
    });
}

thread_local! {
    /// Whether this thread, not one of the pool's, is running chunks of a
    /// [`parallel_for`] it called.
    static IN_CALLER_CHUNK: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as running its own loop's chunks until dropped (also
/// when a chunk panics).
struct CallerChunks;

impl CallerChunks {
    fn enter() -> CallerChunks {
        IN_CALLER_CHUNK.set(true);
        CallerChunks
    }
}

impl Drop for CallerChunks {
    fn drop(&mut self) {
        IN_CALLER_CHUNK.set(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// Tests that change the global count hold this, so counts do not race.
    static COUNT_LOCK: Mutex<()> = Mutex::new(());

    fn serial() -> MutexGuard<'static, ()> {
        lock(&COUNT_LOCK)
    }

    #[test]
    fn chunks_cover_the_range_evenly() {
        for n in 1..200 {
            for parts in 1..=n.min(40) {
                let ranges: Vec<_> = (0..parts).map(|i| chunk(n, parts, i)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[parts - 1].end, n);
                for w in ranges.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                    assert!(w[0].len() == w[1].len() || w[0].len() == w[1].len() + 1);
                }
                assert!(ranges.iter().all(|r| !r.is_empty()));
            }
        }
        assert_eq!(chunk(10, 4, 0), 0..3);
        assert_eq!(chunk(10, 4, 1), 3..6);
        assert_eq!(chunk(10, 4, 2), 6..8);
        assert_eq!(chunk(10, 4, 3), 8..10);
        assert_eq!(chunk_count(3, 2), 3);
        assert_eq!(chunk_count(1000, 2), 8);
        assert_eq!(chunk_count(1000, usize::MAX), 1000);
    }

    /// Runs `parallel_for` and checks every index was visited exactly once.
    fn visits_each_index_once(n: usize) {
        let hits: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
        parallel_for(n, |r| {
            for i in r {
                hits[i].fetch_add(1, Ordering::Relaxed);
            }
        })
        .unwrap();
        assert!(
            hits.iter().all(|h| h.load(Ordering::Relaxed) == 1),
            "n = {n}"
        );
    }

    #[test]
    fn every_index_once() {
        let _g = serial();
        for n in [0, 1, 2, 3, 7, 17, 33, 1000, 100_000] {
            visits_each_index_once(n);
        }
    }

    #[test]
    fn zero_runs_nothing() {
        parallel_for(0, |_| panic!("must not run")).unwrap();
    }

    #[test]
    fn uses_several_threads() {
        let _g = serial();
        set_num_threads(2).unwrap();
        let threads = Mutex::new(std::collections::HashSet::new());
        // Each chunk waits for a moment, so one thread cannot run them all
        // before the other wakes.
        parallel_for(8, |_| {
            threads.lock().unwrap().insert(std::thread::current().id());
            std::thread::sleep(std::time::Duration::from_millis(20));
        })
        .unwrap();
        assert_eq!(threads.into_inner().unwrap().len(), 2);
        set_num_threads(0).unwrap();
    }

    #[test]
    fn one_thread_runs_inline_in_one_chunk() {
        let _g = serial();
        set_num_threads(1).unwrap();
        let caller = std::thread::current().id();
        let calls = AtomicU64::new(0);
        parallel_for(1000, |r| {
            assert_eq!(r, 0..1000);
            assert_eq!(std::thread::current().id(), caller);
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        set_num_threads(0).unwrap();
    }

    #[test]
    fn nested_calls_complete() {
        let _g = serial();
        set_num_threads(2).unwrap();
        let sum = AtomicU64::new(0);
        parallel_for(16, |outer| {
            for _ in outer {
                parallel_for(100, |inner| {
                    for j in inner {
                        parallel_for(3, |r| {
                            sum.fetch_add((j * r.len()) as u64, Ordering::Relaxed);
                        })
                        .unwrap();
                    }
                })
                .unwrap();
            }
        })
        .unwrap();
        assert_eq!(sum.load(Ordering::Relaxed), 16 * 3 * (0..100).sum::<u64>());
        set_num_threads(0).unwrap();
    }

    #[test]
    fn calls_from_many_threads_at_once() {
        let _g = serial();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for n in [5, 64, 999] {
                        visits_each_index_once(n);
                    }
                });
            }
        });
    }

    #[test]
    fn panics_propagate() {
        let _g = serial();
        set_num_threads(2).unwrap();
        let r = std::panic::catch_unwind(|| {
            parallel_for(100, |r| {
                if r.contains(&50) {
                    panic!("boom");
                }
            })
        });
        assert!(r.is_err());
        // The pool still works afterwards.
        visits_each_index_once(100);
        set_num_threads(0).unwrap();
    }

    #[test]
    fn thread_count_setting() {
        let _g = serial();
        assert!(num_threads() >= 1);
        set_num_threads(3).unwrap();
        assert_eq!(num_threads(), 3);
        parallel_for(10, |_| assert_eq!(num_threads(), 3)).unwrap();
        assert_eq!(pool().unwrap().current_num_threads(), 2, "the calling thread is the third");
        let e = set_num_threads(MAX_THREADS + 1).unwrap_err();
        assert_eq!(e.status, Status::InvalidArgument);
        assert_eq!(num_threads(), 3);
        set_num_threads(0).unwrap();
        assert_eq!(num_threads(), default_threads());
    }

    #[test]
    fn shutdown_joins_and_restarts() {
        let _g = serial();
        set_num_threads(2).unwrap();
        visits_each_index_once(100);
        assert!(!lock(&THREADS).is_empty());
        shutdown().unwrap();
        assert!(lock(&THREADS).is_empty());
        assert!(lock(&POOL).is_none());
        // The next loop starts a new pool.
        visits_each_index_once(100);
        parallel_for(4, |_| assert!(shutdown().is_err())).unwrap();
        shutdown().unwrap();
        set_num_threads(0).unwrap();
    }

    #[test]
    fn env_values() {
        assert_eq!(parse_thread_count(Some("4")), Some(4));
        assert_eq!(parse_thread_count(Some(" 2 ")), Some(2));
        assert_eq!(parse_thread_count(Some("0")), None);
        assert_eq!(parse_thread_count(Some("-1")), None);
        assert_eq!(parse_thread_count(Some("lots")), None);
        assert_eq!(parse_thread_count(Some("1025")), None);
        assert_eq!(parse_thread_count(None), None);
    }
}
