//! Where the Wasm's bytes go, per crate (issue 11): reads the code section of a module whose
//! name section was kept (`wasm-opt -Oz -g`, the release optimisation with names), and
//! charges each function body to a crate.
//!
//! A generic function is charged to the crate that made it exist: `core::ptr::drop_in_place<
//! tachys::…>` to tachys, `<mqtt_chat::X as core::fmt::Display>::fmt` to mqtt_chat. Only what
//! names no other crate stays with `std` (core, alloc, std). Data segments count as `data`.

use std::collections::BTreeMap;

use wasmparser::{Name, Parser, Payload};

/// The standard library's crates: charged only when nothing else is named.
const STD: [&str; 3] = ["core", "alloc", "std"];

/// The crate a demangled function name is charged to (see the module docs).
pub fn crate_of(name: &str) -> String {
    // `<Self as Trait>::f`: the self type first, then the trait, then anything in generics.
    let name = name.trim();
    let mut crates = Vec::new();
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &name[start..i];
            let preceded_by_path = start >= 2 && &name[start - 2..start] == "::";
            if !preceded_by_path && name[i..].starts_with("::") {
                crates.push(word.to_owned());
            }
        } else {
            i += 1;
        }
    }
    crates
        .iter()
        .find(|c| !STD.contains(&c.as_str()))
        .or_else(|| crates.first())
        .map(|c| {
            if STD.contains(&c.as_str()) {
                "std".to_owned()
            } else {
                c.clone()
            }
        })
        .unwrap_or_else(|| "(unnamed)".to_owned())
}

/// Bytes per crate (function bodies, plus `data`), largest first, with their total.
pub fn per_crate(wasm: &[u8]) -> Result<(Vec<(String, usize)>, usize), String> {
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    let mut bodies: Vec<usize> = Vec::new();
    let mut imported = 0u32;
    let mut data = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    if matches!(
                        import.map_err(|e| e.to_string())?.ty,
                        wasmparser::TypeRef::Func(_)
                    ) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body.range().len()),
            Payload::DataSection(reader) => {
                for segment in reader {
                    data += segment.map_err(|e| e.to_string())?.data.len();
                }
            }
            Payload::CustomSection(section) => {
                if let wasmparser::KnownCustom::Name(reader) = section.as_known() {
                    for name in reader {
                        if let Name::Function(map) = name.map_err(|e| e.to_string())? {
                            for naming in map {
                                let naming = naming.map_err(|e| e.to_string())?;
                                names.insert(naming.index, naming.name.to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if names.is_empty() {
        return Err("the module has no function names (build it with wasm-opt -g)".into());
    }
    let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
    for (i, size) in bodies.iter().enumerate() {
        let name = names
            .get(&(imported + i as u32))
            .map(|n| format!("{:#}", rustc_demangle::demangle(n)))
            .unwrap_or_default();
        *sizes.entry(crate_of(&name)).or_default() += size;
    }
    *sizes.entry("data".into()).or_default() += data;
    let total = sizes.values().sum();
    let mut rows: Vec<_> = sizes.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::crate_of;

    #[test]
    fn generic_code_goes_to_the_crate_that_made_it() {
        for (name, expected) in [
            ("mqtt_chat::main", "mqtt_chat"),
            ("core::ptr::drop_in_place<tachys::view::Foo<u8>>", "tachys"),
            ("<mqtt_chat::X as core::fmt::Display>::fmt", "mqtt_chat"),
            ("<T as alloc::string::ToString>::to_string", "std"),
            (
                "<alloc::vec::Vec<chat::Row> as core::clone::Clone>::clone",
                "chat",
            ),
            ("<&mut serde_json::de::Deserializer<R> as serde_core::de::Deserializer>::deserialize_any", "serde_json"),
            ("core::slice::sort::stable::drift::sort", "std"),
            ("dlmalloc::Dlmalloc<A>::malloc", "dlmalloc"),
            ("", "(unnamed)"),
        ] {
            assert_eq!(crate_of(name), expected, "{name}");
        }
    }
}
