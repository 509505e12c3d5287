//! Any bytes, as any vendor's delivery body: parsing returns a value or an
//! error, never panics, and what parses re-serializes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let headers = hookforge::HeaderMap::new();
    for v in hookforge::vendors() {
        if let Ok(p) = v.parse(data, &headers) {
            // The typed value of a delivery that parsed must serialize.
            serde_json_check(&p.payload);
        }
        let _ = v.check(data, &headers);
    }
});

fn serde_json_check(v: &serde_json::Value) {
    let _ = v.to_string();
}
