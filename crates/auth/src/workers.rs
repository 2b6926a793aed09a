//! [`HashWorkers`]: the few threads every password hash is computed on.
//!
//! An argon2id hash holds its whole memory cost (19 MiB at OWASP's minimum)
//! while it runs. Computed on whichever of the blocking pool's hundreds of
//! threads a login happens to run, a burst of logins would hold that much per
//! login at once. On a fixed set of threads, one per core and at most four, at most that many
//! hashes run and hold memory at once, and the CPU they take is bounded too;
//! callers wait their turn. (Each hash's memory is also mapped fresh and given
//! back when it is done: see `password::SCRATCH_BYTES`.)

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc, Mutex, PoisonError,
        mpsc::{self, Receiver, Sender},
    },
};

use taskforce_domain::HashError;

type Job = Box<dyn FnOnce() + Send>;

/// Threads that run hashing jobs one at a time each; they end when the last
/// handle is dropped.
#[derive(Debug)]
pub(crate) struct HashWorkers {
    jobs: Sender<Job>,
}

impl HashWorkers {
    /// `count` (at least 1) threads named `password-hash-<n>`.
    pub(crate) fn start(count: usize) -> Result<Self, HashError> {
        let count = count.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..count {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || serve(&queue))
                .map_err(|error| HashError(format!("cannot start the hashing threads: {error}")))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `work` on one of the threads and waits for its result.
    pub(crate) fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashError> {
        let (answer, answered) = mpsc::sync_channel(1);
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        self.jobs.send(job).map_err(|_| HashError("the hashing threads have stopped".into()))?;
        answered.recv().map_err(|_| HashError("a hashing job failed".into()))
    }
}

/// A worker's loop: one job after another until every sender is gone. A job
/// that panics ends only itself (its caller gets an error).
fn serve(queue: &Mutex<Receiver<Job>>) {
    loop {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            Ok(job) => {
                let _ = catch_unwind(AssertUnwindSafe(job));
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    #[test]
    fn jobs_run_on_the_named_threads_no_more_than_their_number_at_once() -> Result<(), HashError> {
        let workers = Arc::new(HashWorkers::start(2)?);
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..8)
            .map(|caller| {
                let (workers, inside, most) = (workers.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    (0..10)
                        .map(|round| {
                            let (inside, most) = (inside.clone(), most.clone());
                            workers.run(move || {
                                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(now, Ordering::SeqCst);
                                std::thread::yield_now();
                                inside.fetch_sub(1, Ordering::SeqCst);
                                let thread = std::thread::current().name().unwrap_or_default().to_owned();
                                (caller * 10 + round, thread)
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut answers = Vec::new();
        for caller in callers {
            answers.extend(caller.join().map_err(|_| HashError("a caller panicked".into()))??);
        }
        let mut ids: Vec<usize> = answers.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..80).collect::<Vec<_>>(), "every job answered its own caller");
        assert!(answers.iter().all(|(_, thread)| thread.starts_with("password-hash-")), "{answers:?}");
        assert!(most.load(Ordering::SeqCst) <= 2, "at most two at once: {}", most.load(Ordering::SeqCst));
        Ok(())
    }

    #[test]
    fn a_job_that_panics_fails_alone_and_the_threads_go_on() -> Result<(), HashError> {
        let workers = HashWorkers::start(1)?;
        let failed = workers.run(|| -> u8 { panic!("a broken job") });
        assert!(failed.is_err());
        assert_eq!(workers.run(|| 7)?, 7, "the one thread still serves");
        assert_eq!(HashWorkers::start(0)?.run(|| 8)?, 8, "there is always a thread");
        Ok(())
    }
}
