//! The scan threads of `novac scan`: jobs go out to `threads` threads, each
//! with one [`Scanner`] for the whole run, and their results come back in
//! the order the jobs were given, whatever order they finish in. JSONL and
//! text input (`scan`) and Parquet/Arrow files (`table_io`) both run on it.
//!
//! The caller's thread reads the input and feeds the jobs through a bounded
//! queue (4 jobs per thread), so reading stays a few jobs ahead of scanning
//! and memory stays bounded; finished results wait in a map until the ones
//! before them are in. On an error the results before the failing job are
//! emitted and the error is returned; the threads then see their queues
//! closed and stop.

use anyhow::{anyhow, Result};
use novac::Scanner;
use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex};

/// Runs `work` on every job that `feed` gives, on `threads` threads, and
/// calls `emit` with each result in job order. Each thread makes its
/// scanner with `new_scanner` and hands it to `finish` when the jobs run
/// out (to collect per-thread state such as a profile).
pub(crate) fn run<'r, S, F, W, J, R>(
    threads: usize,
    new_scanner: &S,
    finish: &F,
    work: &W,
    feed: impl FnOnce(&mut dyn FnMut(J) -> Result<()>) -> Result<()>,
    emit: &mut dyn FnMut(R) -> Result<()>,
) -> Result<()>
where
    S: Fn() -> Scanner<'r> + Sync,
    F: Fn(&mut Scanner<'r>) + Sync,
    W: Fn(&mut Scanner<'r>, J) -> Result<R> + Sync,
    J: Send,
    R: Send,
{
    let threads = threads.max(1);
    std::thread::scope(|s| {
        // Created inside the scope: on an early return they drop before
        // the scope joins the threads, which then see the queue closed.
        let (work_tx, work_rx) = mpsc::sync_channel::<(u64, J)>(threads * 4);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = mpsc::channel::<(u64, Result<R>)>();
        for _ in 0..threads {
            let (work_rx, done_tx) = (Arc::clone(&work_rx), done_tx.clone());
            s.spawn(move || {
                let mut scanner = new_scanner();
                loop {
                    let job = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok((seq, job)) = job else { break };
                    if done_tx.send((seq, work(&mut scanner, job))).is_err() {
                        break;
                    }
                }
                finish(&mut scanner);
            });
        }
        // The threads hold the only receivers and senders: when they all
        // stop, sending work and waiting for results fail instead of hanging.
        drop(work_rx);
        drop(done_tx);
        let (mut sent, mut next) = (0u64, 0u64);
        let mut ready: BTreeMap<u64, Result<R>> = BTreeMap::new();
        let mut drain = |ready: &mut BTreeMap<u64, Result<R>>, next: &mut u64| -> Result<()> {
            while let Some(result) = ready.remove(next) {
                emit(result?)?;
                *next += 1;
            }
            Ok(())
        };
        feed(&mut |job: J| {
            work_tx
                .send((sent, job))
                .map_err(|_| anyhow!("the scan threads stopped"))?;
            sent += 1;
            while let Ok((seq, result)) = done_rx.try_recv() {
                ready.insert(seq, result);
            }
            drain(&mut ready, &mut next)
        })?;
        drop(work_tx);
        while next < sent {
            let (seq, result) = done_rx
                .recv()
                .map_err(|_| anyhow!("the scan threads stopped"))?;
            ready.insert(seq, result);
            drain(&mut ready, &mut next)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> novac::Rules {
        let mut compiler = novac::Compiler::new();
        compiler
            .add_source(
                "rule R\n{\n    keywords:\n        $a = \"x\"\n    condition:\n        $a\n}\n",
            )
            .expect("checks");
        compiler.build().expect("builds")
    }

    #[test]
    fn results_come_back_in_job_order_on_any_thread_count() {
        let rules = rules();
        for threads in [1, 2, 5] {
            let mut got = Vec::new();
            let finished = std::sync::atomic::AtomicUsize::new(0);
            run(
                threads,
                &|| Scanner::new(&rules),
                &|_: &mut Scanner| {
                    finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                },
                // Later jobs finish sooner: order must come from the pool.
                &|scanner: &mut Scanner, i: u64| {
                    std::thread::sleep(std::time::Duration::from_micros(200 * (50 - i % 50)));
                    Ok((
                        i,
                        scanner
                            .scan(if i.is_multiple_of(3) { "x" } else { "y" })
                            .is_match(),
                    ))
                },
                |send| (0..120).try_for_each(send),
                &mut |r| {
                    got.push(r);
                    Ok(())
                },
            )
            .expect("runs");
            let want: Vec<_> = (0..120u64).map(|i| (i, i.is_multiple_of(3))).collect();
            assert_eq!(got, want, "{threads} threads");
            assert_eq!(finished.into_inner(), threads);
        }
    }

    #[test]
    fn an_error_stops_the_run_after_the_results_before_it() {
        let rules = rules();
        let mut got = Vec::new();
        let err = run(
            2,
            &|| Scanner::new(&rules),
            &|_: &mut Scanner| {},
            &|_: &mut Scanner, i: u64| {
                if i == 7 {
                    Err(anyhow!("job {i} failed"))
                } else {
                    Ok(i)
                }
            },
            |send| (0..1000).try_for_each(send),
            &mut |r| {
                got.push(r);
                Ok(())
            },
        )
        .expect_err("job 7 fails");
        assert_eq!(err.to_string(), "job 7 failed");
        assert_eq!(got, (0..7).collect::<Vec<_>>());
    }
}
