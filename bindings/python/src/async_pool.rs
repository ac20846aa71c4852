//! The thread pool behind `Rules.scan_async`, and the callback that hands a
//! finished scan to the asyncio event loop's own thread.
//!
//! A scan started by `scan_async` runs on this pool (never on the event
//! loop) and completes its future through `loop.call_soon_threadsafe`, so
//! the loop never blocks; threads are created once per process.

use pyo3::prelude::*;

/// The threads that run `scan_async` (`NOVAC_ASYNC_THREADS`, default: twice
/// the cores, at least 4: LLM calls wait on the network).
pub(crate) fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let n = std::env::var("NOVAC_ASYNC_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map_or(4, |n| n.get() * 2)
                    .max(4)
            });
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("novac-async-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Completes `future` on its event loop's thread (called via `call_soon_threadsafe`).
#[pyfunction]
pub(crate) fn _resolve_future(
    future: &Bound<'_, PyAny>,
    ok: bool,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    if ok {
        future.call_method1("set_result", (value,))?;
    } else {
        future.call_method1("set_exception", (value,))?;
    }
    Ok(())
}
