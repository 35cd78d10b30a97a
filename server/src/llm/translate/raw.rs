//! Reading members of a request left raw: strings borrowed from the body where they have no
//! escapes, values looked at without building a tree of them.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

pub type Raw<'a> = &'a RawValue;

/// A string borrowed from the body where it has no escapes.
#[derive(Deserialize)]
pub struct Str<'a>(#[serde(borrow)] pub Cow<'a, str>);

/// A raw value's text, when it is a string.
pub fn str_of(raw: Raw<'_>) -> Option<Cow<'_, str>> {
    if !raw.get().starts_with('"') {
        return None;
    }
    serde_json::from_str::<Str<'_>>(raw.get()).ok().map(|s| s.0)
}

pub fn is_null(raw: Raw<'_>) -> bool {
    raw.get() == "null"
}

pub fn is_true(raw: Option<Raw<'_>>) -> bool {
    raw.is_some_and(|r| r.get() == "true")
}

pub fn bool_of(raw: Raw<'_>) -> Option<bool> {
    match raw.get() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

pub fn u64_of(raw: Raw<'_>) -> Option<u64> {
    raw.get().parse().ok()
}

/// Content given as a string, or as parts of which only the text counts (system, tool).
pub fn text_of<'a>(content: Option<Raw<'a>>) -> Cow<'a, str> {
    let Some(c) = content else { return Cow::Borrowed("") };
    if let Some(s) = str_of(c) {
        return s;
    }
    let Ok(parts) = serde_json::from_str::<Vec<TextOnly<'a>>>(c.get()) else { return Cow::Borrowed("") };
    let texts: Vec<Cow<'a, str>> = parts.into_iter().filter_map(|p| p.text.and_then(str_of)).collect();
    match texts.len() {
        1 => texts.into_iter().next().unwrap_or_default(),
        _ => Cow::Owned(texts.join("\n")),
    }
}

#[derive(Deserialize)]
struct TextOnly<'a> {
    #[serde(borrow, default)]
    text: Option<Raw<'a>>,
}

#[derive(Deserialize)]
pub struct TypeOnly<'a> {
    #[serde(rename = "type", borrow, default)]
    pub ty: Option<Raw<'a>>,
}

