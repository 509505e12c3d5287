//! The ceiling for the wrk benchmark: a bare axum route answering 200 to any
//! POST, on the same runtime settings as `hookforge serve`.
//! Run through `benches/wrk/run.sh`.

use axum::Router;
use axum::routing::post;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let app = Router::new().route("/hooks/prets", post(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("ceiling listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
