//! `cargo run -p e2e --bin wasm-crates -- BEFORE.wasm [AFTER.wasm]`: the Wasm's bytes per
//! crate (see `e2e::wasm_size`), and with two modules the change per crate. The modules
//! need their function names: `wasm-opt -Oz -g` (scripts/bench writes
//! target/bench-names.wasm).

use e2e::wasm_size::per_crate;

fn load(path: &str) -> (Vec<(String, usize)>, usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    per_crate(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let Some(first) = paths.first() else {
        eprintln!("usage: wasm-crates BEFORE.wasm [AFTER.wasm]");
        std::process::exit(2);
    };
    let (before, total_before) = load(first);
    let Some(second) = paths.get(1) else {
        for (name, size) in &before {
            println!(
                "{size:>9} {:>5.1}%  {name}",
                100.0 * *size as f64 / total_before as f64
            );
        }
        println!("{total_before:>9}         total");
        return;
    };
    let (after, total_after) = load(second);
    let mut names: Vec<&String> = before.iter().chain(&after).map(|(n, _)| n).collect();
    names.sort();
    names.dedup();
    let size = |rows: &[(String, usize)], n: &str| {
        rows.iter().find(|(m, _)| m == n).map_or(0, |(_, s)| *s) as i64
    };
    let mut rows: Vec<(&String, i64, i64)> = names
        .into_iter()
        .map(|n| (n, size(&before, n), size(&after, n)))
        .collect();
    rows.sort_by_key(|(_, b, a)| -(*b.max(a)));
    println!("{:>9} {:>9} {:>9}  crate", "before", "after", "change");
    for (name, b, a) in rows {
        println!("{b:>9} {a:>9} {:>+9}  {name}", a - b);
    }
    println!(
        "{total_before:>9} {total_after:>9} {:>+9}  total",
        total_after as i64 - total_before as i64
    );
}
