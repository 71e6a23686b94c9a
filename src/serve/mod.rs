//! `journeymap serve`: the recommendation lists (and propensity actions)
//! over HTTP/JSON on hyper. Everything a request needs is precomputed in
//! memory, so an answer is a hash lookup; the state is replaced whole on
//! reload (SIGHUP or a changed file) after it has been loaded and checked,
//! and a bad file leaves the previous state serving. SIGTERM and SIGINT
//! stop accepting, let in-flight requests finish, then exit.

pub mod overrides;
pub mod respond;
pub mod route;
pub mod state;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Result;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::signal::unix::{SignalKind, signal};

use respond::{Answer, Counters};
use state::{Sources, State};

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub sources: Sources,
    pub bind: SocketAddr,
    pub allow_remote: bool,
    /// Connections served at once; more wait for a free slot.
    pub max_connections: usize,
    /// Poll the files this often for changes (None: SIGHUP only).
    pub watch: Option<Duration>,
    /// The action for users the scores file lacks.
    pub fallback_action: String,
    pub threads: usize,
    /// How long in-flight requests get at shutdown.
    pub drain: Duration,
}

struct Shared {
    state: RwLock<Arc<State>>,
    counters: Counters,
    fallback_action: String,
}

impl Shared {
    fn current(&self) -> Arc<State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// Loads the state, binds, serves until SIGTERM or SIGINT.
pub fn run(o: ServeOptions) -> Result<()> {
    if !o.bind.ip().is_loopback() && !o.allow_remote {
        return Err(crate::error::UsageError(format!(
            "--bind {}: not a loopback address; the endpoint has no authentication, so binding beyond this machine needs --allow-remote (and a proxy in front of it)",
            o.bind
        ))
        .into());
    }
    let state = State::load(&o.sources).map_err(crate::error::DataError::Input)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.threads.max(1))
        .enable_all()
        .build()?;
    rt.block_on(serve(o, state))
}

fn log(msg: &str) {
    eprintln!("serve: {}", crate::doc::text::clean(msg));
}

fn describe(s: &State) -> String {
    format!(
        "model {} ({}, {} users, {} items, as of {}){}{}",
        s.model_version,
        s.model.model,
        s.model.users.len(),
        s.model.items.len(),
        s.model.generated_at,
        s.scores
            .as_ref()
            .map_or(String::new(), |m| format!(", {} scored users", m.len())),
        if s.overrides.is_empty() {
            String::new()
        } else {
            format!(", {} override rules", s.overrides.rules())
        }
    )
}

/// The files' (modification time, length), to notice a change.
fn signature(s: &Sources) -> Vec<Option<(SystemTime, u64)>> {
    let one = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
    };
    std::iter::once(Some(s.model.as_path()))
        .chain([s.scores.as_deref(), s.overrides.as_deref()])
        .flatten()
        .map(one)
        .collect()
}

async fn reload(shared: Arc<Shared>, sources: Sources, why: &'static str) {
    let loaded = tokio::task::spawn_blocking(move || State::load(&sources)).await;
    match loaded {
        Ok(Ok(s)) => {
            let words = describe(&s);
            *shared
                .state
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(s);
            shared.counters.reloads.fetch_add(1, Ordering::Relaxed);
            log(&format!("reloaded ({why}): {words}"));
        }
        Ok(Err(e)) => {
            shared
                .counters
                .failed_reloads
                .fetch_add(1, Ordering::Relaxed);
            let old = shared.current();
            log(&format!(
                "reload ({why}) refused, still serving model {}: {e}",
                old.model_version
            ));
        }
        Err(e) => {
            shared
                .counters
                .failed_reloads
                .fetch_add(1, Ordering::Relaxed);
            log(&format!("reload ({why}) failed: {e}"));
        }
    }
}

async fn serve(o: ServeOptions, state: State) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(o.bind)
        .await
        .map_err(|e| crate::error::UsageError(format!("--bind {}: {e}", o.bind)))?;
    let addr = listener.local_addr()?;
    log(&describe(&state));
    let shared = Arc::new(Shared {
        state: RwLock::new(Arc::new(state)),
        counters: Counters::default(),
        fallback_action: o.fallback_action.clone(),
    });
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    {
        let shared = shared.clone();
        let sources = o.sources.clone();
        let watch = o.watch;
        tokio::spawn(async move {
            let mut last = signature(&sources);
            let mut tick = tokio::time::interval(watch.unwrap_or(Duration::from_secs(3600)));
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = hup.recv() => {
                        last = signature(&sources);
                        reload(shared.clone(), sources.clone(), "SIGHUP").await;
                    }
                    _ = tick.tick(), if watch.is_some() => {
                        let now = signature(&sources);
                        if now != last {
                            last = now;
                            reload(shared.clone(), sources.clone(), "file changed").await;
                        }
                    }
                }
            }
        });
    }
    // Printed once the socket accepts: scripts and tests read the port here.
    crate::cli::outln(&format!("listening on http://{addr}"))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let open = Arc::new(AtomicUsize::new(0));
    let idle = Arc::new(tokio::sync::Notify::new());
    let slots = Arc::new(tokio::sync::Semaphore::new(o.max_connections.max(1)));
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait, go on.
                    log(&format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        };
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let mut stop = stop_rx.clone();
        let open = open.clone();
        let idle = idle.clone();
        open.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(&shared, &req)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .max_buf_size(16 * 1024)
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.as_mut().await;
                }
            }
            drop(permit);
            open.fetch_sub(1, Ordering::SeqCst);
            idle.notify_waiters();
        });
    }
    drop(listener);
    log("stopping: no new connections; finishing the requests in flight");
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + o.drain;
    while open.load(Ordering::SeqCst) > 0 {
        let wait = idle.notified();
        if open.load(Ordering::SeqCst) == 0 {
            break;
        }
        if tokio::time::timeout_at(deadline, wait).await.is_err() {
            log(&format!(
                "{} connections still open after {:?}; closing them",
                open.load(Ordering::SeqCst),
                o.drain
            ));
            break;
        }
    }
    log("stopped");
    Ok(())
}

fn handle(shared: &Shared, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().as_str();
    let (name, ans): (&str, Answer) =
        match route::route(method, req.uri().path(), req.uri().query()) {
            Ok(r) => {
                let st = shared.current();
                (
                    r.name(),
                    respond::answer(&st, &r, &shared.counters, &shared.fallback_action),
                )
            }
            Err(refusal) => ("other", respond::refusal(&refusal)),
        };
    shared.counters.count(name, ans.status);
    let head = method == "HEAD";
    let mut b = Response::builder()
        .status(ans.status)
        .header("content-type", ans.content_type)
        .header("cache-control", "no-store");
    if let Some(allow) = ans.allow {
        b = b.header("allow", allow);
    }
    let body = if head { Vec::new() } else { ans.body };
    b.body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
