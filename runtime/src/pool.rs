//! The thread pool: a small pool of its own, and `parallel_for`, which
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
//! thread let the threads even out uneven chunks (each takes the next range
//! left until none is) without making ranges so short that the body's inner
//! loops stop vectorising. Each index of `0..n` is in exactly one range;
//! ranges run concurrently and in no particular order. When only one range
//! would be made, or the pool has one thread, the body runs once on the
//! calling thread with `0..n`; `n == 0` runs nothing. The calling thread
//! runs ranges too, beside the pool's `T - 1` threads.
//!
//! # Latency
//!
//! Generated code calls `parallel_for` many times per inference, often for
//! loops of a few tens of microseconds, so starting a loop must cost far
//! less than waking a parked thread through the kernel. The pool holds one
//! loop at a time (a job slot and an epoch counter): an idle thread spins
//! on the epoch for [`SPIN`] before it parks on a condition variable, so
//! back-to-back loops find it awake, and a caller takes the futex only when
//! some thread has parked. A spinning thread yields its core every few
//! microseconds, so on an oversubscribed machine it does not keep the
//! caller off the core it needs. Chunks are taken by a compare-and-swap
//! that checks the loop's epoch, so a thread that wakes after a loop ended
//! takes nothing; the caller returns once every chunk has run. A loop started while another caller's loop holds the
//! slot runs inline on its own thread, on `0..n` (the two callers' threads
//! already keep the cores busy).
//!
//! # Threads
//!
//! Loops run on [`num_threads`] threads, `T`: the count set by
//! [`set_num_threads`], else `TESSERA_NUM_THREADS` (an integer from 1 to
//! [`MAX_THREADS`]; any other value is ignored), else the machine's
//! available parallelism. The pool, created on first use, has `T - 1` of
//! them (at least one): the thread calling [`parallel_for`] is the other,
//! so no more threads than `T` compete for the cores. Setting a new count
//! replaces the pool; loops running on the old one finish there, and its
//! threads then exit. [`shutdown`] stops the pool and joins its threads,
//! which a library must do before it is unloaded (`dlclose`) so no thread
//! outlives its code; the next loop starts a new pool.
//!
//! # Nesting
//!
//! Nested calls are safe and do not oversubscribe: a `parallel_for` called
//! from inside a chunk (on the calling thread or on a pool thread) runs
//! inline, once on `0..n`, since the loop around it already occupies the
//! threads. One called from a rayon worker thread (one of the host
//! application's pools) runs on that rayon pool, sharing its threads
//! through work stealing instead of blocking on them.

use std::any::Any;
use std::cell::Cell;
use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::error::{RuntimeError, Status};

/// Ranges made per thread; see the module doc.
pub const CHUNKS_PER_THREAD: usize = 4;

/// The most threads the pool will have.
pub const MAX_THREADS: usize = 1024;

/// The environment variable that sets the default thread count.
pub const NUM_THREADS_VAR: &str = "TESSERA_NUM_THREADS";

/// How long an idle pool thread watches for the next loop before it parks.
pub const SPIN: Duration = Duration::from_micros(200);

/// Spins between looks at the clock and yields of the core, while a thread
/// waits without parking.
const YIELD_EVERY: u32 = 64;

/// The count set by [`set_num_threads`]; 0 when unset.
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

/// The pool, created on first use; `None` after the count changed.
static POOL: Mutex<Option<Arc<Pool>>> = Mutex::new(None);

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
/// from a pool thread, a rayon worker thread or a chunk (it would wait for
/// itself).
pub fn shutdown() -> Result<(), RuntimeError> {
    if rayon::current_thread_index().is_some() || IN_CHUNK.get() {
        return Err(RuntimeError::new(
            Status::InvalidArgument,
            "cannot shut the thread pool down from one of its threads",
        ));
    }
    // Dropping the last reference tells the pool's threads to exit.
    drop(lock(&POOL).take());
    let threads = std::mem::take(&mut *lock(&THREADS));
    for thread in threads {
        // Chunks run under `catch_unwind`, so a thread never ends in a panic.
        let _ = thread.join();
    }
    Ok(())
}

/// The pool, created with [`num_threads`] threads if there is none.
fn pool() -> Result<Arc<Pool>, RuntimeError> {
    let mut slot = lock(&POOL);
    if let Some(pool) = &*slot {
        return Ok(pool.clone());
    }
    let pool = Pool::start(num_threads().saturating_sub(1).max(1))?;
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
    if n == 1 || num_threads() == 1 || IN_CHUNK.get() {
        // Also nested in a chunk of this thread's or of a pool thread.
        body(0..n);
        return Ok(());
    }
    if rayon::current_thread_index().is_some() {
        // Called from a rayon worker of the host application: share that pool.
        run_on_rayon(n, rayon::current_num_threads(), &body);
        return Ok(());
    }
    let pool = pool()?;
    if !pool.run(n, &body) {
        // Another caller's loop holds the pool.
        body(0..n);
    }
    Ok(())
}

/// Runs `body` on the chunks of `0..n` on the current rayon pool.
fn run_on_rayon<F: Fn(Range<usize>) + Sync>(n: usize, threads: usize, body: &F) {
    let parts = chunk_count(n, threads);
    if parts <= 1 || threads <= 1 {
        body(0..n);
    } else {
        (0..parts)
            .into_par_iter()
            .for_each(|i| body(chunk(n, parts, i)));
    }
}

/// One loop on offer: runs the chunk with the given index.
struct Job<'a> {
    run: &'a (dyn Fn(usize) + Sync),
}

/// Ticket bits: the loop's epoch above, then its chunk count, then the next
/// chunk index not yet taken. Chunk counts are at most `4 · MAX_THREADS`.
const EPOCH_SHIFT: u32 = 32;
const PARTS_SHIFT: u32 = 16;
const FIELD: u64 = 0xffff;
const _: () = assert!((CHUNKS_PER_THREAD * MAX_THREADS) as u64 <= FIELD);

/// What the caller and the pool's threads share.
///
/// A chunk is taken by a compare-and-swap on `ticket` that also checks the
/// loop's epoch, so a thread that wakes late for a loop already finished
/// takes nothing and never reads its `job`. The caller returns once `done`
/// counts every chunk, so `job`, which points into its stack frame, is only
/// read while that frame is alive.
struct Shared {
    /// Epoch, chunk count and next chunk of the current loop (see above).
    ticket: AtomicU64,
    /// The current loop; written before its ticket is published.
    job: AtomicPtr<Job<'static>>,
    /// Chunks of the current loop finished (or panicked).
    done: AtomicUsize,
    /// The first panic of the current loop's chunks.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Whether a caller holds the pool.
    busy: AtomicBool,
    /// Pool threads parked (or about to park) on `wake`; changed under `sleep`.
    sleepers: AtomicUsize,
    /// Set when the pool is dropped; threads exit. Set under `sleep`.
    exit: AtomicBool,
    sleep: Mutex<()>,
    wake: Condvar,
}

impl Shared {
    /// Takes the next chunk of the loop with `epoch`, if any is left.
    fn take(&self, epoch: u64) -> Option<usize> {
        let mut ticket = self.ticket.load(Ordering::Acquire);
        loop {
            let parts = (ticket >> PARTS_SHIFT) & FIELD;
            let next = ticket & FIELD;
            if ticket >> EPOCH_SHIFT != epoch || next >= parts {
                return None;
            }
            match self.ticket.compare_exchange_weak(
                ticket,
                ticket + 1,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(next as usize),
                Err(now) => ticket = now,
            }
        }
    }

    /// Takes and runs chunks of the loop with `epoch` until none is left;
    /// a panic is kept for the caller.
    fn work(&self, epoch: u64) {
        let _chunk = InChunk::enter();
        while let Some(i) = self.take(epoch) {
            // SAFETY: taking chunk `i` of this epoch means the loop's caller
            // is waiting for it, with `*job` alive; `job` was written before
            // the ticket (acquired by `take`) was published.
            let job = unsafe { &*self.job.load(Ordering::Relaxed) };
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| (job.run)(i))) {
                lock(&self.panic).get_or_insert(payload);
            }
            self.done.fetch_add(1, Ordering::Release);
        }
    }
}

/// The pool: `workers` threads that help whoever calls [`Pool::run`].
struct Pool {
    shared: Arc<Shared>,
    workers: usize,
}

impl Pool {
    /// Starts `workers` threads, recorded in [`THREADS`].
    fn start(workers: usize) -> Result<Pool, RuntimeError> {
        let pool = Pool {
            shared: Arc::new(Shared {
                ticket: AtomicU64::new(0),
                job: AtomicPtr::new(std::ptr::null_mut()),
                done: AtomicUsize::new(0),
                panic: Mutex::new(None),
                busy: AtomicBool::new(false),
                sleepers: AtomicUsize::new(0),
                exit: AtomicBool::new(false),
                sleep: Mutex::new(()),
                wake: Condvar::new(),
            }),
            workers,
        };
        for index in 0..workers {
            let shared = pool.shared.clone();
            let handle = std::thread::Builder::new()
                .name(format!("tessera-{index}"))
                .spawn(move || worker(&shared))
                .map_err(|e| {
                    // Dropping `pool` stops the threads already started.
                    RuntimeError::new(
                        Status::ThreadPool,
                        format!("cannot start the thread pool: {e}"),
                    )
                })?;
            let mut threads = lock(&THREADS);
            threads.retain(|t| !t.is_finished());
            threads.push(handle);
        }
        Ok(pool)
    }

    /// Runs the chunks of `0..n` on the calling thread and the pool's
    /// threads; false, running nothing, if another caller holds the pool.
    fn run<F: Fn(Range<usize>) + Sync>(&self, n: usize, body: &F) -> bool {
        let shared = &*self.shared;
        if shared
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        let parts = chunk_count(n, self.workers + 1);
        let run = |i: usize| body(chunk(n, parts, i));
        let job = Job { run: &run };
        let ptr = &job as *const Job<'_> as *mut Job<'static>;
        shared.job.store(ptr, Ordering::Relaxed);
        shared.done.store(0, Ordering::Relaxed);
        let epoch = ((shared.ticket.load(Ordering::Relaxed) >> EPOCH_SHIFT) + 1) & 0xffff_ffff;
        let ticket = epoch << EPOCH_SHIFT | (parts as u64) << PARTS_SHIFT;
        shared.ticket.store(ticket, Ordering::SeqCst);
        if shared.sleepers.load(Ordering::SeqCst) > 0 {
            let _sleep = lock(&shared.sleep);
            shared.wake.notify_all();
        }
        shared.work(epoch);
        // Every chunk is taken; wait for those still running elsewhere.
        let mut spins = 0u32;
        while shared.done.load(Ordering::Acquire) != parts {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(YIELD_EVERY) {
                std::thread::yield_now();
            }
            std::hint::spin_loop();
        }
        let panic = lock(&shared.panic).take();
        shared.busy.store(false, Ordering::Release);
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
        true
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let _sleep = lock(&self.shared.sleep);
        self.shared.exit.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
    }
}

/// A pool thread: waits for each new loop and helps with it.
fn worker(shared: &Shared) {
    // A new pool's ticket is 0; its first loop may come before this line.
    let mut seen = 0;
    while let Some(epoch) = next_epoch(shared, seen) {
        seen = epoch;
        shared.work(epoch);
    }
}

/// Waits for an epoch other than `seen`, spinning for [`SPIN`] and then
/// parking; `None` when the pool is stopping.
fn next_epoch(shared: &Shared, seen: u64) -> Option<u64> {
    let start = Instant::now();
    let mut spins = 0u32;
    loop {
        let epoch = shared.ticket.load(Ordering::Relaxed) >> EPOCH_SHIFT;
        if epoch != seen {
            return Some(epoch);
        }
        if shared.exit.load(Ordering::Relaxed) {
            return None;
        }
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(YIELD_EVERY) {
            if start.elapsed() >= SPIN {
                break;
            }
            // Let a thread waiting for this core (the caller, when the
            // machine is oversubscribed) run instead of spinning it out.
            std::thread::yield_now();
        }
        std::hint::spin_loop();
    }
    let mut sleep = lock(&shared.sleep);
    shared.sleepers.fetch_add(1, Ordering::SeqCst);
    // A caller publishes the ticket, then looks at `sleepers`: either it
    // sees this thread counted and notifies under the lock (held until
    // `wait`), or this thread sees the new epoch here.
    let result = loop {
        if shared.exit.load(Ordering::SeqCst) {
            break None;
        }
        let epoch = shared.ticket.load(Ordering::SeqCst) >> EPOCH_SHIFT;
        if epoch != seen {
            break Some(epoch);
        }
        sleep = shared
            .wake
            .wait(sleep)
            .unwrap_or_else(PoisonError::into_inner);
    };
    shared.sleepers.fetch_sub(1, Ordering::SeqCst);
    result
}

thread_local! {
    /// Whether this thread is running chunks of a [`parallel_for`], as its
    /// caller or as a pool thread.
    static IN_CHUNK: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread as running chunks until dropped (also when a chunk
/// panics).
struct InChunk;

impl InChunk {
    fn enter() -> InChunk {
        IN_CHUNK.set(true);
        InChunk
    }
}

impl Drop for InChunk {
    fn drop(&mut self) {
        IN_CHUNK.set(false);
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
        assert_eq!(
            pool().unwrap().workers,
            2,
            "the calling thread is the third"
        );
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
