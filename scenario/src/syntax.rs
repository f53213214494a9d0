//! RON as scenario files write it: the parser's options, and one value on one line.

use serde::Serialize;

/// `Some(..)` may be left out around optional values, and `PingPong((nodes: 5))` may be
/// written `PingPong(nodes: 5)`.
pub(crate) fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(
        ron::extensions::Extensions::IMPLICIT_SOME
            | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
    )
}

/// One value on one line: `Pause(node: "c0", duration: "1500ms")`.
pub(crate) fn inline<T: Serialize + ?Sized>(value: &T) -> String {
    let config = ron::ser::PrettyConfig::new()
        .depth_limit(0)
        .new_line("")
        .indentor("");
    ron_options()
        .to_string_pretty(value, config)
        // Every scenario type serializes: no maps with non-string keys, no raw values.
        .expect("scenario values serialize to RON")
}
