//! The README's library example is `examples/quickstart.rs` (compiled by
//! `cargo test`); the receiver example of docs/receiving.md is kept
//! compiling here.

use hookforge::HandlerResult;
use hookforge::vendors::prets::{self, Handler, models};

/// The README shows exactly the example file's marked lines, and the
/// example runs.
#[test]
fn the_readme_example_is_the_example_file() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = std::fs::read_to_string(root.join("examples/quickstart.rs")).unwrap();
    let marked = file
        .split("// README:begin\n")
        .nth(1)
        .and_then(|rest| rest.split("// README:end").next())
        .expect("examples/quickstart.rs has its README markers");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let shown = readme
        .split("## In your code")
        .nth(1)
        .and_then(|rest| rest.split("```rust\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("README.md has its example under `## In your code`");
    assert_eq!(shown, marked, "README.md and examples/quickstart.rs differ");
}

struct Quotes(std::sync::Mutex<Vec<String>>);

impl Handler for Quotes {
    async fn on_quote_created(&self, e: models::QuoteCreated) -> HandlerResult {
        let id = e.data.quote_id.as_option();
        self.0.lock().unwrap().extend(id.cloned());
        Ok(())
    }
}

/// docs/receiving.md's receiver example, kept compiling (the secret passed in
/// rather than read from the environment).
async fn readme_receiver(
    db: &std::path::Path,
    secret: String,
) -> Result<axum::Router, hookforge::BoxError> {
    use hookforge::receive::inbox::Inbox;
    use hookforge::receive::receiver::Receiver;
    use hookforge::receive::store::SqliteStore;
    use std::sync::Arc;

    let inbox = Inbox::new(Arc::new(SqliteStore::open(db)?));
    inbox.handle(prets::Dispatcher(Quotes(Default::default())));
    let app = Receiver::builder(&prets::VENDOR)
        .secret(secret)
        .inbox(inbox.clone())
        .build()?
        .router();
    inbox.spawn_worker();
    Ok(app)
}

#[tokio::test]
async fn readme_receiver_example_builds_a_router() {
    let dir = std::env::temp_dir().join(format!("hookforge-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let app = readme_receiver(&dir.join("inbox.db"), "whsec_readme".into()).await;
    assert!(app.is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}
