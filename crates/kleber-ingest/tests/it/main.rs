//! Integration tests: the real Opendatasoft exports of `shared/data/real` and small synthetic
//! files written by the tests.

mod csv;
mod errors;
mod fidelity;
mod formats;
mod geojson;
mod hostile;
mod json;
mod nontabular;
mod output;
mod real;
mod robustness;
mod util;
mod xlsx;
