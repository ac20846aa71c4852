//! The two writers of `novac mcp proxy` (to the client's stdout, to the
//! upstream's stdin): one thread each, so that a reader never waits for a
//! slow peer, and the proxy cannot deadlock when both ends write without
//! reading (an upstream flooding notifications while the client is busy
//! sending requests).
//!
//! Data flow: a reader [`Outbox::send`]s a message (the raw line, moved, or
//! a parsed value that the writer serialises straight into its buffer); the
//! writer thread writes messages in order and flushes whenever its queue is
//! empty, so a burst costs one flush and a lone message is sent at once.
//!
//! Bounds: the queue counts the bytes waiting. [`Priority::Must`] messages
//! (responses to requests in flight, whose number `--max-pending` bounds)
//! are always queued; [`Priority::Drop`] ones (notifications, the peer's
//! own requests) are refused once [`QUEUE_BYTES`] are waiting, unless the
//! queue is empty, and the caller decides what a refusal means. Costs: one
//! channel hand-off per message; no copy of a raw line.

use serde_json::Value;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes of droppable messages a queue holds at most.
pub const QUEUE_BYTES: usize = 16 << 20;

/// Whether a message may be refused when the queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// Always queued (its number is bounded elsewhere).
    Must,
    /// Refused while [`QUEUE_BYTES`] are waiting.
    Drop,
}

/// One message to write.
pub enum Message {
    /// A line as read (without its newline).
    Raw(Vec<u8>),
    /// A value to serialise.
    Json(Value),
}

struct Item {
    message: Message,
    size: usize,
}

/// The sending end of one writer thread.
pub struct Outbox {
    tx: Mutex<Option<Sender<Item>>>,
    queued: Arc<AtomicUsize>,
    broken: Arc<AtomicBool>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Outbox {
    /// Starts the writer thread `name` on `out`; `on_error` is called once
    /// when writing fails (the peer is gone), after which messages are
    /// discarded.
    pub fn spawn<W: Write + Send + 'static>(
        name: &str,
        out: W,
        on_error: impl FnOnce(std::io::Error) + Send + 'static,
    ) -> std::io::Result<Outbox> {
        let (tx, rx) = mpsc::channel::<Item>();
        let queued = Arc::new(AtomicUsize::new(0));
        let broken = Arc::new(AtomicBool::new(false));
        let handle = {
            let queued = Arc::clone(&queued);
            let broken = Arc::clone(&broken);
            std::thread::Builder::new()
                .name(name.into())
                .spawn(move || write_all(out, &rx, &queued, &broken, on_error))?
        };
        Ok(Outbox {
            tx: Mutex::new(Some(tx)),
            queued,
            broken,
            handle: Mutex::new(Some(handle)),
        })
    }

    /// Queues `message` (`size`: its length in bytes, for the bound);
    /// false when it was refused (queue full, writer closed or broken).
    pub fn send(&self, message: Message, size: usize, priority: Priority) -> bool {
        self.try_send(message, size, priority).is_ok()
    }

    /// [`Outbox::send`] that gives a refused message back when the queue
    /// is full (`Err(Some)`: try again later), `Err(None)` when the writer
    /// is closed or broken.
    pub fn try_send(
        &self,
        message: Message,
        size: usize,
        priority: Priority,
    ) -> Result<(), Option<Message>> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(None);
        }
        let waiting = self.queued.load(Ordering::Relaxed);
        if priority == Priority::Drop && waiting > 0 && waiting + size > QUEUE_BYTES {
            return Err(Some(message));
        }
        let Ok(tx) = self.tx.lock() else {
            return Err(None);
        };
        let Some(tx) = tx.as_ref() else {
            return Err(None);
        };
        self.queued.fetch_add(size, Ordering::Relaxed);
        if tx.send(Item { message, size }).is_err() {
            self.queued.fetch_sub(size, Ordering::Relaxed);
            return Err(None);
        }
        Ok(())
    }

    /// Closes the queue: the writer writes what is queued, flushes, and
    /// drops its output (closing the pipe); waits for that at most `limit`.
    /// True when the writer is done.
    pub fn close(&self, limit: Duration) -> bool {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let Ok(mut handle) = self.handle.lock() else {
            return false;
        };
        let Some(h) = handle.take() else { return true };
        let start = Instant::now();
        while !h.is_finished() {
            if start.elapsed() >= limit {
                // A peer that does not read: leave the thread behind.
                *handle = Some(h);
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = h.join();
        true
    }
}

fn write_one(out: &mut impl Write, message: &Message) -> std::io::Result<()> {
    match message {
        Message::Raw(line) => out.write_all(line)?,
        Message::Json(value) => serde_json::to_writer(&mut *out, value)?,
    }
    out.write_all(b"\n")
}

/// After a write error: takes and discards everything still sent, keeping
/// the queued-bytes count right, so that the readers never wait.
fn discard(rx: &Receiver<Item>, queued: &AtomicUsize) {
    while let Ok(item) = rx.recv() {
        queued.fetch_sub(item.size, Ordering::Relaxed);
    }
}

fn write_all<W: Write>(
    out: W,
    rx: &Receiver<Item>,
    queued: &AtomicUsize,
    broken: &AtomicBool,
    on_error: impl FnOnce(std::io::Error),
) {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let mut on_error = Some(on_error);
    let mut fail = |e: std::io::Error| {
        broken.store(true, Ordering::Relaxed);
        if let Some(f) = on_error.take() {
            f(e);
        }
    };
    while let Ok(mut item) = rx.recv() {
        loop {
            let written = write_one(&mut out, &item.message);
            queued.fetch_sub(item.size, Ordering::Relaxed);
            drop(item);
            if let Err(e) = written {
                fail(e);
                return discard(rx, queued);
            }
            match rx.try_recv() {
                Ok(next) => item = next,
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        if let Err(e) = out.flush() {
            fail(e);
            return discard(rx, queued);
        }
    }
    if let Err(e) = out.flush() {
        fail(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    struct Failing;

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn writes_in_order_and_closes() {
        let sink = Shared::default();
        let outbox = Outbox::spawn("t", sink.clone(), |_| {}).unwrap();
        assert!(outbox.send(Message::Raw(b"a".to_vec()), 1, Priority::Must));
        assert!(outbox.send(
            Message::Json(serde_json::json!({"b": 1})),
            7,
            Priority::Drop
        ));
        assert!(outbox.close(Duration::from_secs(10)));
        assert_eq!(*sink.0.lock().unwrap(), b"a\n{\"b\":1}\n");
        assert!(!outbox.send(Message::Raw(b"c".to_vec()), 1, Priority::Must));
    }

    #[test]
    fn a_broken_peer_is_reported_once() {
        let (tx, rx) = mpsc::channel();
        let outbox = Outbox::spawn("t", Failing, move |e| tx.send(e.kind()).unwrap()).unwrap();
        outbox.send(Message::Raw(vec![b'x'; 10]), 10, Priority::Must);
        outbox.send(Message::Raw(vec![b'x'; 10]), 10, Priority::Must);
        assert!(outbox.close(Duration::from_secs(10)));
        assert_eq!(rx.try_iter().count(), 1);
        assert!(outbox.broken.load(Ordering::Relaxed));
    }

    /// A writer that blocks until the test lets it go.
    struct Gate(Receiver<()>);

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.recv();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn droppable_messages_are_refused_while_the_queue_is_full() {
        let (open, gate) = mpsc::channel();
        let outbox = Outbox::spawn("t", Gate(gate), |_| {}).unwrap();
        // The writer blocks in write() on the first message (larger than
        // its buffer, so written through), before it counts it out.
        assert!(outbox.send(Message::Raw(vec![b'a'; 100_000]), 100_000, Priority::Must));
        assert!(outbox.send(Message::Raw(vec![b'b'; 10]), QUEUE_BYTES, Priority::Must));
        match outbox.try_send(Message::Raw(vec![b'c'; 10]), 10, Priority::Drop) {
            Err(Some(Message::Raw(back))) => assert_eq!(back, vec![b'c'; 10]),
            _ => panic!("a droppable message was queued past the bound"),
        }
        assert!(outbox.send(Message::Raw(vec![b'd'; 10]), 10, Priority::Must));
        for _ in 0..16 {
            let _ = open.send(());
        }
        drop(open);
        assert!(outbox.close(Duration::from_secs(10)));
        assert_eq!(outbox.queued.load(Ordering::Relaxed), 0);
    }
}
