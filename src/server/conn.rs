//! The HTTP/1.1 listener, served with hyper's own connection builder because `axum::serve`
//! cannot set a header read timeout.
//!
//! Three limits keep hostile or broken clients from holding resources:
//! - at most [`Limits::max_connections`] connections that are not (yet) media streams; more
//!   are answered `503` and closed before anything is parsed (a connection that upgrades to a
//!   media stream leaves this count and is held to `max_calls` by the upgrade handler);
//! - a request's headers must arrive within [`Limits::header_timeout`] (slowloris), which also
//!   closes idle keep-alive connections;
//! - a write that cannot make progress for [`Limits::write_stall`] fails ([`StallGuard`]), so
//!   a peer that stops reading cannot hold a task forever, even one blocked sending a close
//!   frame after the media task's own send timeout.
//!
//! Shutdown: stop accepting, ask every connection to finish its request in progress and
//! close, wait for them. Upgraded media streams are not connections here any more; the
//! registry drains those.

use super::{metrics, AppState};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};

/// How long a connection refused for capacity may take to send its request head and
/// receive its 503.
const REFUSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Most bytes of a refused client's request read (and dropped).
const REFUSE_DRAIN: usize = 16 * 1024;
/// The least time between two warnings about the same kind of refusal (a flood must not
/// become a flood of log lines).
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The listener's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub write_stall: Duration,
}

/// Accept and serve connections until `stop` resolves; then let every connection finish the
/// request it is on and close, and return once they have.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    state: Arc<AppState>,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // Refusals are cheap but not free: past this many at once, excess sockets are just closed.
    let refusing = Arc::new(Semaphore::new(limits.max_connections));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // Every connection task holds a clone; when all are dropped, every connection is done.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let refused_warning = Arc::new(Throttle::default());
    let timeout_warning = Arc::new(Throttle::default());
    let accept_warning = Throttle::default();
    tokio::pin!(stop);
    loop {
        let (tcp, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before it was accepted):
                    // back off a moment instead of spinning.
                    if accept_warning.due() {
                        tracing::warn!(error = %e, "cannot accept connections");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Media messages are small and latency matters (a `clear` must not wait for an ACK).
        let _ = tcp.set_nodelay(true);
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::inc(&state.metrics.refused_connections);
            let n = refused_warning.count();
            if refused_warning.due() {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    refused = n,
                    "refusing connections with 503: too many open (max_connections)"
                );
            }
            if let Ok(slot) = refusing.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(tcp).await;
                    drop(slot);
                });
            }
            continue;
        };
        // Whether the connection got as far as a request: a header timeout after one is just
        // an idle keep-alive closing, not a slow client.
        let served = Arc::new(AtomicBool::new(false));
        let service = {
            let tower = TowerToHyperService::new(app.clone());
            let served = served.clone();
            hyper::service::service_fn(move |request| {
                served.store(true, Ordering::Relaxed);
                hyper::service::Service::call(&tower, request)
            })
        };
        let io = TokioIo::new(StallGuard::new(tcp, limits.write_stall));
        let shutdown = shutdown_rx.clone();
        let done = done_tx.clone();
        let timeout_warning = timeout_warning.clone();
        let counted = state.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            let conn = builder.serve_connection(io, service).with_upgrades();
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = stopping(shutdown) => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                if e.is_timeout() && served.load(Ordering::Relaxed) {
                    tracing::debug!("closed an idle keep-alive connection");
                } else if e.is_timeout() {
                    metrics::inc(&counted.metrics.header_timeouts);
                    let n = timeout_warning.count();
                    if timeout_warning.due() {
                        tracing::info!(
                            closed = n,
                            header_timeout_s = limits.header_timeout.as_secs_f64(),
                            "closed connections that sent no complete request in time (slow or silent clients)"
                        );
                    }
                } else {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            }
            // Held until here: at an upgrade the connection future ends and the media
            // stream is counted by the registry instead.
            drop(permit);
            drop(done);
        });
    }
    drop(listener);
    let _ = shutdown_tx.send(true);
    drop(done_tx);
    let _ = done_rx.recv().await;
}

/// Resolves once the listener is shutting down (or gone).
async fn stopping(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

/// Answer a connection over the limit with a 503 and close it. The request head is read
/// first (briefly, and only to find its end: nothing is parsed) because an HTTP client that
/// receives a response before it has sent its request may take it for a broken connection.
async fn refuse(mut tcp: TcpStream) {
    const BODY: &str = "too many connections; try again shortly\n";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    let _ = tokio::time::timeout(REFUSE_TIMEOUT / 2, async {
        while head.len() < REFUSE_DRAIN && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let _ = tokio::time::timeout(REFUSE_TIMEOUT, async {
        tcp.write_all(response.as_bytes()).await?;
        tcp.shutdown().await?;
        // Take what else the client sends until it closes, so that closing does not reset
        // the connection before the client has read the 503.
        let mut read = head.len();
        while read < REFUSE_DRAIN {
            match tcp.read(&mut buf).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok::<_, io::Error>(())
    })
    .await;
}

/// Counts events and says when one is worth a log line (at most every [`WARN_EVERY`]).
#[derive(Default)]
struct Throttle {
    count: AtomicU64,
    /// Milliseconds since `epoch` of the last warning, plus one (0: never).
    last: AtomicU64,
    epoch: std::sync::OnceLock<std::time::Instant>,
}

impl Throttle {
    fn count(&self) -> u64 {
        self.count.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn due(&self) -> bool {
        let epoch = *self.epoch.get_or_init(std::time::Instant::now);
        let now = epoch.elapsed().as_millis() as u64 + 1;
        let last = self.last.load(Ordering::Relaxed);
        (last == 0 || now >= last + WARN_EVERY.as_millis() as u64)
            && self
                .last
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// A TCP stream whose writes fail with `TimedOut` once they have been unable to make progress
/// for `limit`: the peer stopped reading and both socket buffers are full.
///
/// The clock starts at the first write that cannot proceed and stops at the next one that
/// does, so bursts into a slow but live reader never trip it; only a peer that takes no
/// bytes for the whole `limit` does.
pub struct StallGuard<T> {
    inner: T,
    limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<T> StallGuard<T> {
    pub fn new(inner: T, limit: Duration) -> Self {
        StallGuard {
            inner,
            limit,
            stalled: None,
        }
    }

    /// After the inner write returned `Pending`: keep waiting, or fail if stalled too long.
    fn stalled<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "peer took no data for {:.0} s: connection given up",
                    limit.as_secs_f64()
                ),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// A write's result: bytes taken reset the clock; `Pending` keeps it running.
    fn wrote<R>(
        &mut self,
        result: Poll<io::Result<R>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<R>> {
        match result {
            Poll::Ready(r) => {
                self.stalled = None;
                Poll::Ready(r)
            }
            Poll::Pending => self.stalled(cx),
        }
    }

    /// A flush or shutdown: it moves no bytes by itself, so it never resets the clock.
    fn waited<R>(
        &mut self,
        result: Poll<io::Result<R>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<R>> {
        match result {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => self.stalled(cx),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(r, cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(r, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.waited(r, cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.waited(r, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_to_a_peer_that_never_reads_fails_after_the_limit() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            // Connects and never reads.
            let s = TcpStream::connect(addr).await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(s);
        });
        let (tcp, _) = listener.accept().await.unwrap();
        let mut guarded = StallGuard::new(tcp, Duration::from_millis(300));
        let chunk = vec![0u8; 64 * 1024];
        let started = std::time::Instant::now();
        let err = loop {
            if let Err(e) = guarded.write_all(&chunk).await {
                break e;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "writes never stalled"
            );
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        client.abort();
    }

    #[tokio::test]
    async fn a_slow_reader_is_not_a_stalled_one() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let total = 1024 * 1024;
        let client = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = 0;
            while got < total {
                // Pauses shorter than the limit between reads.
                tokio::time::sleep(Duration::from_millis(50)).await;
                match s.read(&mut buf).await.unwrap() {
                    0 => break,
                    n => got += n,
                }
            }
            got
        });
        let (tcp, _) = listener.accept().await.unwrap();
        let mut guarded = StallGuard::new(tcp, Duration::from_millis(500));
        guarded.write_all(&vec![7u8; total]).await.unwrap();
        guarded.flush().await.unwrap();
        assert_eq!(client.await.unwrap(), total);
    }
}
