//! Prints the OpenAPI document: `cargo run -q -p ferry-api --example openapi > openapi.json`.
fn main() {
    println!("{:#}", ferry_api::openapi_document());
}
