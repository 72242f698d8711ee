//! The topic viewer's tools: the publish panel's checks and templates, the decoders and
//! JSON paths, the topic tree, the retained messages, the charts and the export.
//!
//! Pure domain code with no view and no I/O, tested natively like the rest of the crate.
//! The app reaches all of it only from the viewer's chunk.

pub mod charts;
pub mod decode;
pub mod export;
pub mod path;
pub mod publish;
pub mod retained;
pub mod tools;
pub mod tree;

pub use tools::Tools;
