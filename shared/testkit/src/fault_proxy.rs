//! A TCP proxy that injects network faults between a client and a local server.
//!
//! Put it in front of moto or SecantusDB and point the SDK at [`FaultProxy::url`]. The fault can
//! be switched at any time and applies to new and live connections alike, because SDK clients
//! pool connections and a fault that only touched new ones would be invisible to them:
//!
//! - [`Fault::Pass`]: bytes flow untouched.
//! - [`Fault::Refuse`]: the listening socket is closed, so connects fail with `ECONNREFUSED`;
//!   live connections are closed.
//! - [`Fault::Blackhole`]: connections are accepted (live ones kept) and nothing is ever
//!   forwarded or answered. Leaving this mode closes the stalled connections, whose byte streams
//!   are no longer coherent.
//! - [`Fault::Delay`]: every chunk of a response waits the given time before it is forwarded.
//! - [`Fault::CutResponse`]: a connection forwards that many response bytes, then is closed.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};

/// The fault applied to traffic through a [`FaultProxy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    Pass,
    /// Refuse new connections and close live ones.
    Refuse,
    /// Accept connections but never forward or answer.
    Blackhole,
    /// Hold each response chunk back this long.
    Delay(Duration),
    /// Close each connection after this many response bytes.
    CutResponse {
        /// Response bytes forwarded before the cut.
        after_bytes: usize,
    },
}

/// A running fault proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    fault: Arc<watch::Sender<Fault>>,
    /// The fault the listener has applied; lags `fault` until the accept task has run.
    applied: Arc<watch::Sender<Fault>>,
    accept_task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream`, initially with
    /// [`Fault::Pass`].
    ///
    /// # Errors
    ///
    /// Fails if no loopback port can be bound.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the fault proxy to a loopback port")?;
        let addr = listener.local_addr()?;
        let fault = Arc::new(watch::channel(Fault::Pass).0);
        let applied = Arc::new(watch::channel(Fault::Pass).0);
        // Subscribed before the task starts, so a fault set before it first runs is not missed.
        let changes = fault.subscribe();
        let accept_task = tokio::spawn(accept_loop(
            listener,
            addr,
            upstream,
            fault.clone(),
            changes,
            applied.clone(),
        ));
        Ok(Self {
            addr,
            fault,
            applied,
            accept_task,
        })
    }

    /// The proxy's own address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` URL of the proxy, for SDK endpoint configuration.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Switches the fault for new and live connections. The switch takes effect as soon as
    /// the proxy's tasks run; use [`FaultProxy::switch`] to wait for it.
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// Switches the fault and waits until the listener has applied it, so that, for example,
    /// the very next connect after switching to [`Fault::Refuse`] is refused.
    ///
    /// # Panics
    ///
    /// Panics when the listener has not applied the fault within 5 s (it could not listen on
    /// its port again after refusing), so the test fails instead of hanging.
    pub async fn switch(&self, fault: Fault) {
        let mut applied = self.applied.subscribe();
        self.set(fault);
        let waited = tokio::time::timeout(
            Duration::from_secs(5),
            applied.wait_for(|current| *current == fault),
        )
        .await;
        assert!(
            matches!(waited, Ok(Ok(_))),
            "fault proxy on {} did not apply {fault:?} within 5 s",
            self.addr
        );
    }

    /// The fault in force.
    pub fn fault(&self) -> Fault {
        *self.fault.borrow()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(
    mut listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    fault: Arc<watch::Sender<Fault>>,
    mut changes: watch::Receiver<Fault>,
    applied: Arc<watch::Sender<Fault>>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                // A connection the kernel queued before a switch to Refuse was processed is
                // closed here, so the fault is in force from the moment `set` returns.
                if let Ok((client, _)) = accepted
                    && *fault.borrow() != Fault::Refuse
                {
                    tokio::spawn(serve(client, upstream, fault.subscribe()));
                }
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                let mut current = *changes.borrow_and_update();
                if current == Fault::Refuse {
                    // Closing the socket is what makes the kernel answer connects with RST.
                    drop(listener);
                    applied.send_replace(current);
                    while current == Fault::Refuse {
                        if changes.changed().await.is_err() {
                            return;
                        }
                        current = *changes.borrow_and_update();
                    }
                    listener = match rebind(addr).await {
                        Some(listener) => listener,
                        None => return,
                    };
                }
                applied.send_replace(current);
            }
        }
    }
}

async fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..100 {
        if let Ok(listener) = TcpListener::bind(addr).await {
            return Some(listener);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracing::error!(%addr, "fault proxy could not listen again after refusing");
    None
}

async fn serve(client: TcpStream, upstream: SocketAddr, mut fault: watch::Receiver<Fault>) {
    let mut current = *fault.borrow_and_update();
    if current == Fault::Refuse {
        return;
    }
    let mut blackholed = current == Fault::Blackhole;
    let upstream = if blackholed {
        None
    } else {
        match TcpStream::connect(upstream).await {
            Ok(stream) => Some(stream),
            Err(_) => return,
        }
    };
    let _ = client.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = match upstream {
        Some(stream) => {
            let _ = stream.set_nodelay(true);
            let (read, write) = stream.into_split();
            (Some(read), Some(write))
        }
        None => (None, None),
    };
    let mut request_chunk = vec![0_u8; 16 * 1024];
    let mut response_chunk = vec![0_u8; 16 * 1024];
    let mut response_bytes = 0_usize;
    let mut client_open = true;

    loop {
        // Fault changes first: a switch must govern the very next chunk, not the one after.
        tokio::select! {
            biased;
            changed = fault.changed() => {
                if changed.is_err() {
                    return;
                }
                let next = *fault.borrow_and_update();
                match next {
                    Fault::Refuse => return,
                    Fault::Blackhole => blackholed = true,
                    _ if blackholed => return,
                    Fault::CutResponse { .. } => response_bytes = 0,
                    _ => {}
                }
                current = next;
            }
            read = client_read.read(&mut request_chunk), if client_open => {
                let n = match read {
                    Ok(n) => n,
                    Err(_) => return,
                };
                if n == 0 {
                    client_open = false;
                    if let Some(write) = upstream_write.as_mut() {
                        let _ = write.shutdown().await;
                    }
                    continue;
                }
                if blackholed {
                    continue;
                }
                let Some(write) = upstream_write.as_mut() else { return };
                if write.write_all(&request_chunk[..n]).await.is_err() {
                    return;
                }
            }
            read = read_optional(&mut upstream_read, &mut response_chunk), if !blackholed => {
                let n = match read {
                    Ok(n) if n > 0 => n,
                    _ => return,
                };
                let mut forward = n;
                match current {
                    Fault::Delay(delay) => tokio::time::sleep(delay).await,
                    Fault::CutResponse { after_bytes } => {
                        forward = n.min(after_bytes.saturating_sub(response_bytes));
                    }
                    _ => {}
                }
                if client_write.write_all(&response_chunk[..forward]).await.is_err() {
                    return;
                }
                response_bytes += forward;
                if forward < n {
                    return;
                }
            }
        }
    }
}

async fn read_optional(
    stream: &mut Option<tokio::net::tcp::OwnedReadHalf>,
    buffer: &mut [u8],
) -> std::io::Result<usize> {
    match stream {
        Some(stream) => stream.read(buffer).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// An upstream that answers every chunk it reads with `reply`.
    async fn echo_server(reply: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0_u8; 1024];
                    while let Ok(n) = stream.read(&mut buffer).await {
                        if n == 0 || stream.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream, timeout: Duration) -> std::io::Result<Vec<u8>> {
        stream.write_all(b"ping").await?;
        let mut reply = Vec::new();
        let mut buffer = [0_u8; 1024];
        let read = tokio::time::timeout(timeout, stream.read(&mut buffer)).await;
        match read {
            Ok(Ok(n)) => {
                reply.extend_from_slice(&buffer[..n]);
                Ok(reply)
            }
            Ok(Err(error)) => Err(error),
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }

    #[tokio::test]
    async fn pass_forwards_both_directions() {
        let proxy = FaultProxy::start(echo_server(b"pong").await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        let reply = round_trip(&mut stream, Duration::from_secs(2))
            .await
            .unwrap();
        assert_eq!(reply, b"pong");
    }

    #[tokio::test]
    async fn refuse_closes_the_port_and_live_connections_then_recovers() {
        let proxy = FaultProxy::start(echo_server(b"pong").await).await.unwrap();
        let mut live = TcpStream::connect(proxy.addr()).await.unwrap();
        round_trip(&mut live, Duration::from_secs(2)).await.unwrap();

        proxy.switch(Fault::Refuse).await;
        let error = TcpStream::connect(proxy.addr()).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
        let after = round_trip(&mut live, Duration::from_secs(2)).await;
        assert!(matches!(after, Ok(ref bytes) if bytes.is_empty()) || after.is_err());

        proxy.switch(Fault::Pass).await;
        let mut fresh = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(
            round_trip(&mut fresh, Duration::from_secs(2))
                .await
                .unwrap(),
            b"pong"
        );
    }

    #[tokio::test]
    async fn blackhole_accepts_but_never_answers_even_on_live_connections() {
        let proxy = FaultProxy::start(echo_server(b"pong").await).await.unwrap();
        let mut live = TcpStream::connect(proxy.addr()).await.unwrap();
        round_trip(&mut live, Duration::from_secs(2)).await.unwrap();

        proxy.switch(Fault::Blackhole).await;
        let mut fresh = TcpStream::connect(proxy.addr()).await.unwrap();
        let fresh_reply = round_trip(&mut fresh, Duration::from_millis(300)).await;
        let live_reply = round_trip(&mut live, Duration::from_millis(300)).await;

        assert_eq!(
            fresh_reply.unwrap_err().kind(),
            std::io::ErrorKind::TimedOut
        );
        assert_eq!(live_reply.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn delay_holds_responses_back() {
        let proxy = FaultProxy::start(echo_server(b"pong").await).await.unwrap();
        proxy.switch(Fault::Delay(Duration::from_millis(200))).await;
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();

        let started = Instant::now();
        let reply = round_trip(&mut stream, Duration::from_secs(2))
            .await
            .unwrap();

        assert_eq!(reply, b"pong");
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[tokio::test]
    async fn cut_response_forwards_a_prefix_then_closes() {
        let proxy = FaultProxy::start(echo_server(b"pong-pong").await)
            .await
            .unwrap();
        proxy.switch(Fault::CutResponse { after_bytes: 3 }).await;
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        stream.write_all(b"ping").await.unwrap();

        let mut received = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut received));
        let _ = read.await.unwrap();

        assert_eq!(received, b"pon");
    }
}
