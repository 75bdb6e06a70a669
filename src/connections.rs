//! Serving HTTP/1.1 connections: the accept loop, a cap on open
//! connections, and the timeouts that close slow and idle clients.
//!
//! `axum::serve` closes no connection: a client that sends nothing, or a
//! header a byte at a time, holds its descriptor forever, and at the
//! descriptor limit the server stops answering anyone. Here every phase of
//! a connection has a deadline, as nginx does it:
//!
//! - **header**: from accept (or from the first byte of a later request)
//!   until the request's headers are complete;
//! - **body**: from the headers until the request body is complete
//!   (a hard deadline, not reset by each byte that trickles in);
//! - **idle**: from the end of a response until the next request's first
//!   byte, on a keep-alive connection.
//!
//! hyper's own `header_read_timeout` also counts the keep-alive wait, so it
//! cannot tell a slow header from an idle connection (hyper has no idle
//! timeout: hyperium/hyper#2355); the header and idle deadlines are kept by
//! [`Watched`] around the socket instead, the body deadline by tower-http's
//! `DeadlineBody`.
//!
//! At the cap, the loop stops accepting: new connections wait in the
//! kernel's listen queue ([`LISTEN_BACKLOG`] of them) until an open one
//! closes (which the timeouts make soon), rather than being refused. The first wait of an episode is
//! logged, and its end.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tower::ServiceExt as _;
use tower_http::timeout::DeadlineBody;

/// Descriptors kept back from the connection cap for everything else the
/// server opens: the store's files or Redis connections, outbound HTTPS
/// (Entra ID, sinks, webhooks), the listener, logs.
pub const RESERVED_FILES: u64 = 128;

/// The cap when the open-file limit allows more.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

/// How long a connection may take over each phase, and how many may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// The process's soft limit on open files, where the platform has one.
#[must_use]
pub fn open_files_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _hard)| soft)
    }
    #[cfg(not(unix))]
    None
}

/// The most connections that leave room for everything else under `limit`
/// open files: the limit less [`RESERVED_FILES`] (a quarter of it when the
/// limit is small).
#[must_use]
pub fn connections_allowed(limit: Option<u64>) -> usize {
    match limit {
        Some(limit) => {
            let usable = limit - RESERVED_FILES.min(limit / 4);
            usize::try_from(usable).unwrap_or(usize::MAX).max(1)
        }
        None => usize::MAX,
    }
}

/// Connections the kernel completes and holds for the accept loop: those
/// that wait while the server is at its cap. (The usual 128 would send
/// clients beyond it into SYN retries of one, three, seven seconds.)
const LISTEN_BACKLOG: u32 = 1024;

/// Binds the listening socket, with room for [`LISTEN_BACKLOG`] waiting
/// connections (the kernel may allow fewer: `net.core.somaxconn`).
pub fn listen(address: SocketAddr) -> io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std and tokio do: a restart can bind while old connections linger.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting and lets open requests finish (idle connections close at once).
pub async fn serve(
    listener: TcpListener,
    app: impl App,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut full = Episode::default();
    let mut accept_failing = false;
    // The episode ends once a tenth of the cap is free and no connection
    // has had to wait for a second, so a server held at the cap logs once
    // rather than per connection, or per batch of connections timed out.
    let room = (limits.max_connections / 10).max(1);
    let end_if_room = |full: &mut Episode| {
        if permits.available_permits() >= room && full.quiet_for(Duration::from_secs(1)) {
            full.end(|waited, since| {
                tracing::info!(
                    waited,
                    secs = since.elapsed().as_secs(),
                    "below HANDOFF_MAX_CONNECTIONS again"
                );
            });
        }
    };
    'serve: loop {
        let permit = if let Ok(permit) = Arc::clone(&permits).try_acquire_owned() {
            permit
        } else {
            full.start(|| {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "HANDOFF_MAX_CONNECTIONS reached: new connections wait until open ones close"
                );
            });
            let permit = tokio::select! {
                permit = Arc::clone(&permits).acquire_owned() => {
                    permit.expect("the semaphore is never closed")
                }
                () = &mut shutdown => break,
            };
            full.waited();
            permit
        };
        let accepted = loop {
            tokio::select! {
                accepted = listener.accept() => break accepted,
                // Connections close while none arrives: end the episode
                // then too.
                () = tokio::time::sleep(Duration::from_secs(1)), if full.since.is_some() => {
                    end_if_room(&mut full);
                }
                () = &mut shutdown => break 'serve,
            }
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                // Out of descriptors despite the cap (something else holds
                // many), or another resource: retry soon, say so once.
                if !accept_failing {
                    tracing::error!(%error, "cannot accept connections; retrying");
                    accept_failing = true;
                }
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        if accept_failing {
            tracing::info!("accepting connections again");
            accept_failing = false;
        }
        full.count();
        end_if_room(&mut full);

        let requests = Arc::new(Requests::default());
        let io = TokioIo::new(Watched::new(stream, limits, Arc::clone(&requests)));
        let service = connection_service(app.clone(), remote, limits.body_timeout, requests);
        let connection = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            // `Watched` keeps the header deadline (see the module's notes).
            .header_read_timeout(None)
            .serve_connection(io, TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Errors that concern one connection, not the listener.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A stretch of time at the cap: when it began, when a connection last
/// stopped waiting, and how many connections were accepted during it.
#[derive(Default)]
struct Episode {
    since: Option<Instant>,
    last_wait: Option<Instant>,
    waited: usize,
}

impl Episode {
    /// A connection has to wait; the first wait of an episode is logged.
    fn start(&mut self, log: impl FnOnce()) {
        if self.since.is_none() {
            self.since = Some(Instant::now());
            self.waited = 0;
            log();
        }
    }

    /// The wait is over: the quiet period counts from now.
    fn waited(&mut self) {
        self.last_wait = Some(Instant::now());
    }

    fn quiet_for(&self, period: Duration) -> bool {
        self.last_wait.is_none_or(|at| at.elapsed() >= period)
    }

    fn count(&mut self) {
        if self.since.is_some() {
            self.waited += 1;
        }
    }

    fn end(&mut self, log: impl FnOnce(usize, Instant)) {
        if let Some(since) = self.since.take() {
            log(self.waited, since);
        }
    }
}

/// The HTTP application [`serve`] runs: `web::app`.
pub trait App:
    tower::Service<
        Request<Body>,
        Response = Response<Body>,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S> App for S where
    S: tower::Service<
            Request<Body>,
            Response = Response<Body>,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

/// The router for one connection: it learns the client's address, the
/// request body gets its deadline, and the connection learns when a
/// request is in progress (from the headers until the response is sent).
fn connection_service(
    app: impl App,
    remote: SocketAddr,
    body_timeout: Duration,
    requests: Arc<Requests>,
) -> impl tower::Service<
    Request<Incoming>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> + Clone
+ Send
+ 'static {
    let on_request = Arc::clone(&requests);
    app.map_request(move |mut request: Request<Incoming>| {
        on_request.started.fetch_add(1, Ordering::AcqRel);
        request.extensions_mut().insert(ConnectInfo(remote));
        request.map(|body| Body::new(DeadlineBody::new(body_timeout, body)))
    })
    .map_response(move |response: Response<Body>| {
        let guard = InFlight(Arc::clone(&requests));
        response.map(|body| {
            Body::new(Sending {
                body,
                _guard: guard,
            })
        })
    })
}

/// How many of a connection's requests have started (headers complete)
/// and finished (response sent), and the connection to wake when one
/// finishes: hyper does not read again by itself after a response, so
/// without the wake-up the idle deadline would never be set.
#[derive(Default)]
struct Requests {
    started: AtomicUsize,
    finished: AtomicUsize,
    reader: Mutex<Option<Waker>>,
}

impl Requests {
    fn register(&self, waker: &Waker) {
        let mut reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        if !reader.as_ref().is_some_and(|r| r.will_wake(waker)) {
            *reader = Some(waker.clone());
        }
    }
}

/// Marks a request as finished when its response body is dropped (sent,
/// or abandoned with the connection).
struct InFlight(Arc<Requests>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::AcqRel);
        let reader = self
            .0
            .reader
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

/// A response body that holds the connection's in-flight mark.
struct Sending {
    body: Body,
    _guard: InFlight,
}

impl HttpBody for Sending {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the rest of a request's headers.
    Header,
    /// A request is being handled; its body has its own deadline.
    Busy,
    /// Between requests on a keep-alive connection.
    Idle,
}

/// The socket, with the header and idle deadlines. A read that waits past
/// the deadline of the current phase fails, and hyper closes the
/// connection.
struct Watched {
    stream: TcpStream,
    limits: ConnectionLimits,
    requests: Arc<Requests>,
    /// `requests.finished` when last looked at.
    finished: usize,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
}

impl Watched {
    fn new(stream: TcpStream, limits: ConnectionLimits, requests: Arc<Requests>) -> Self {
        Self {
            stream,
            limits,
            requests,
            finished: 0,
            phase: Phase::Header,
            deadline: Box::pin(tokio::time::sleep(limits.header_timeout)),
        }
    }

    fn enter(&mut self, phase: Phase, timeout: Duration) {
        self.phase = phase;
        self.deadline
            .as_mut()
            .reset(tokio::time::Instant::now() + timeout);
    }

    /// Follows the requests the router reports: busy while one is in
    /// progress, idle from when the last one finished.
    fn observe(&mut self) {
        let finished = self.requests.finished.load(Ordering::Acquire);
        let started = self.requests.started.load(Ordering::Acquire);
        if started != finished {
            self.phase = Phase::Busy;
        } else if finished != self.finished {
            self.finished = finished;
            self.enter(Phase::Idle, self.limits.idle_timeout);
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.requests.register(cx.waker());
        this.observe();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if this.phase == Phase::Idle && buf.filled().len() > before {
                    let timeout = this.limits.header_timeout;
                    this.enter(Phase::Header, timeout);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if this.phase != Phase::Busy && this.deadline.as_mut().poll(cx).is_ready() {
                    let what = if this.phase == Phase::Idle {
                        "idle timeout"
                    } else {
                        "header timeout"
                    };
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)));
                }
                Poll::Pending
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_below_the_open_file_limit() {
        assert_eq!(connections_allowed(Some(1024)), 896);
        assert_eq!(connections_allowed(Some(65_536)), 65_408);
        assert_eq!(connections_allowed(Some(256)), 192);
        assert_eq!(connections_allowed(Some(1)), 1);
        assert_eq!(connections_allowed(None), usize::MAX);
    }
}
