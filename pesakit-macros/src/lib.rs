//! Procedural macros of [pesakit](https://docs.rs/pesakit); use them through
//! `pesakit::daraja`.
