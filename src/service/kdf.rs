//! Where Argon2id runs: a few threads of its own, fed by a short queue.
//!
//! Each passphrase push or reveal derives a key with 19 MiB of memory and
//! tens of milliseconds of CPU. Unbounded, 64 anonymous pushes at once took
//! 1.3 GiB, and on tokio's blocking pool they crowded out the embedded
//! store, whose transactions run there too. So key derivation gets one
//! thread per core (memory at most cores × 19 MiB, CPU never more than the
//! machine has) and a queue a few times that long; past that the caller is
//! told to come back ([`Busy`]), before anything is stored or consumed.
//!
//! Dedicated threads rather than `spawn_blocking` behind a semaphore: the
//! bound is then the pool's shape itself, waiting work holds no blocking
//! thread, and the store's threads never queue behind Argon2id.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

/// Jobs that may wait, per key-derivation thread.
const QUEUE_PER_THREAD: usize = 4;

type Job = Box<dyn FnOnce() + Send>;

/// Every key-derivation thread is busy and the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// The key-derivation threads; they end when this is dropped.
pub struct KeyDerivation {
    jobs: SyncSender<Job>,
}

impl KeyDerivation {
    /// One thread per core, and a queue of [`QUEUE_PER_THREAD`] per thread.
    #[must_use]
    pub fn for_this_machine() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::new(threads, threads * QUEUE_PER_THREAD)
    }

    /// `threads` run key derivations; up to `queue` more wait.
    #[must_use]
    pub fn new(threads: usize, queue: usize) -> Self {
        let (jobs, receiver) = std::sync::mpsc::sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads.max(1) {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("handoff-kdf-{n}"))
                .spawn(move || work(&receiver))
                .expect("the operating system starts a thread");
        }
        Self { jobs }
    }

    /// Runs `job` on a key-derivation thread, or answers [`Busy`] at once
    /// when the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let answered = self.submit(job)?;
        Ok(answered
            .await
            .expect("key derivation does not panic (a panic would drop the answer)"))
    }

    /// Queues `job`; its answer arrives on the receiver.
    fn submit<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<tokio::sync::oneshot::Receiver<T>, Busy> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // The caller went away while this waited: skip the work.
            if !answer.is_closed() {
                let _ = answer.send(job());
            }
        });
        match self.jobs.try_send(job) {
            Ok(()) => Ok(answered),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        let job = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(job) = job else {
            return; // the pool was dropped
        };
        // A panicking job drops its answer (the caller panics in turn, as
        // it would have on the blocking pool); the thread lives on.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_beyond_the_threads_and_the_queue_is_refused_at_once() {
        let pool = KeyDerivation::new(1, 2);
        let (started, running) = std::sync::mpsc::channel::<()>();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let first = pool
            .submit(move || {
                started.send(()).unwrap();
                gate.recv().unwrap();
                1
            })
            .unwrap();
        tokio::task::spawn_blocking(move || running.recv().unwrap())
            .await
            .unwrap();
        // The one thread is busy; two may wait, the third is refused.
        let waiting = [pool.submit(|| 2).unwrap(), pool.submit(|| 3).unwrap()];
        assert_eq!(pool.submit(|| 4).unwrap_err(), Busy);
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap(), 1);
        let [second, third] = waiting;
        assert_eq!((second.await.unwrap(), third.await.unwrap()), (2, 3));
        assert_eq!(pool.run(|| 5).await, Ok(5));
    }

    #[tokio::test]
    async fn a_panicking_job_leaves_the_thread_working() {
        let pool = KeyDerivation::new(1, 1);
        let failed = pool.submit(|| -> u8 { panic!("boom") }).unwrap();
        assert!(failed.await.is_err());
        assert_eq!(pool.run(|| 6).await, Ok(6));
    }
}
