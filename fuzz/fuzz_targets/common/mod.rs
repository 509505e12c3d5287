//! What the HTTP fuzz targets share: a router over an in-memory store,
//! built once per fuzzing process, and the runtime that drives it.

use std::sync::{Arc, OnceLock};

use hookforge::receive::store::MemoryStore;

pub struct World {
    pub rt: tokio::runtime::Runtime,
    pub store: Arc<MemoryStore>,
    pub app: axum::Router,
}

/// The world in `cell`, made by `make` (inside the runtime) the first time.
pub fn world(
    cell: &'static OnceLock<World>,
    make: impl FnOnce() -> (Arc<MemoryStore>, axum::Router),
) -> &'static World {
    cell.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (store, app) = {
            let _inside = rt.enter();
            make()
        };
        World { rt, store, app }
    })
}
