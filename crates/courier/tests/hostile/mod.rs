//! The hostile-corpus conformance test's parts (issue 19): the interpreters,
//! the corpus of hostile bodies, one run of a column, and the table.

#![allow(dead_code)]

pub mod corpus;
pub mod interpreters;
pub mod run;
pub mod table;
