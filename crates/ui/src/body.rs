//! A delivery's body shown as it arrived ([`hookforge_core::reindent`]),
//! the misfit's line marked.

use maud::{Markup, html};

/// The body's lines, the first value at `mark` wrapped in
/// `<mark id="misfit">`; `None` when the body is not JSON.
pub(crate) fn json_lines(body: &[u8], mark: Option<&str>) -> Option<Markup> {
    let lines = hookforge_core::reindent::reindent(body, mark)?;
    Some(html! {
        @for (line, marked) in lines {
            @if marked { mark id="misfit" { (line) } } @else { (line) }
            "\n"
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_misfit_is_marked_and_escaped() {
        let text = super::json_lines(
            br#"{"data":{"list":[1,{"x":null}]}}"#,
            Some("data.list[1].x"),
        )
        .unwrap()
        .into_string();
        assert!(
            text.contains("<mark id=\"misfit\">        &quot;x&quot;: null</mark>"),
            "{text}"
        );
    }
}
