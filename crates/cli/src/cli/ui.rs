//! `hookforge ui`: the inbox dashboard.

use super::*;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub inbox: stores::InboxLocation,
    #[command(flatten)]
    pub ui: UiArgs,
}

/// The shortest dashboard token accepted, in bytes.
pub const MIN_UI_TOKEN: usize = 16;

/// Where the dashboard listens and who may use it.
#[derive(clap::Args, Clone)]
pub struct UiArgs {
    /// Where the dashboard listens (loopback unless --ui-token is given).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub ui_addr: std::net::SocketAddr,
    /// Required to listen beyond loopback: every request must carry it
    /// (`Authorization: Bearer`, or the cookie `/login?token=` sets).
    /// Also from `HOOKFORGE_UI_TOKEN`.
    #[arg(long)]
    pub ui_token: Option<String>,
}

impl UiArgs {
    /// The token, after the rule that only loopback may go without one.
    pub fn token(&self) -> Result<Option<hookforge::auth::Secret>, Failure> {
        let token = self
            .ui_token
            .clone()
            .or_else(|| std::env::var("HOOKFORGE_UI_TOKEN").ok())
            .filter(|t| !t.is_empty());
        if let Some(t) = &token
            && t.trim().len() < MIN_UI_TOKEN
        {
            return Err(Failure::usage(format!(
                "the dashboard token must be at least {MIN_UI_TOKEN} bytes (not counting spaces); it guards replays"
            )));
        }
        if token.is_none() && !self.ui_addr.ip().is_loopback() {
            return Err(Failure::usage(format!(
                "the dashboard can replay deliveries: it listens beyond loopback ({}) only with --ui-token",
                self.ui_addr
            )));
        }
        Ok(token.map(hookforge::auth::Secret::new))
    }

    /// Serves the dashboard over `store` in the background.
    pub async fn start(
        &self,
        store: std::sync::Arc<dyn hookforge::receive::store::Store>,
    ) -> Result<tokio::task::JoinHandle<()>, Failure> {
        let token = self.token()?;
        let listener = tokio::net::TcpListener::bind(self.ui_addr)
            .await
            .map_err(|e| Failure::usage(format!("cannot listen on {}: {e}", self.ui_addr)))?;
        let addr = listener.local_addr().map_err(Failure::usage)?;
        println!("hookforge dashboard on http://{addr}/");
        let app = hookforge::ui::router(store, token);
        // The receiver's header and idle timeouts, and a cap of its own (a
        // dashboard has few users; held sockets must not exhaust the
        // process's file descriptors, which the receiver needs).
        let limits = hookforge::receive::serve::ServerLimits {
            max_connections: 64,
            ..Default::default()
        };
        Ok(tokio::spawn(async move {
            if let Err(e) = hookforge::receive::serve::serve_router(listener, app, limits).await {
                eprintln!("error: the dashboard stopped: {e}");
            }
        }))
    }
}

pub fn run(a: Args) -> Outcome {
    a.ui.token()?;
    let store = a.inbox.open()?;
    runtime()?.block_on(async move {
        let task = a.ui.start(store).await?;
        tokio::select! {
            _ = task => Err(Failure::Reported),
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}
