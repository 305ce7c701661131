//! Stream filters, decoded by lopdf (Flate with PNG/TIFF predictors, LZW, ASCII85,
//! ASCIIHex, RunLength, Brotli) with its output cap set from our budget: the smaller of
//! the ratio cap for this stream and what is left of the document's inflate allowance.

use super::object::{Dict, Object, PdfError, PdfResult};
use crate::budget::Budget;

/// Image codecs: their output is pixels, never text, so they are never decoded.
const IMAGE_FILTERS: [&[u8]; 4] = [b"DCTDecode", b"JPXDecode", b"CCITTFaxDecode", b"JBIG2Decode"];
/// Real files chain one or two filters; each layer may inflate up to the cap.
const MAX_FILTERS: usize = 4;

/// One filter of a stream's chain with its (resolved) parameters.
pub(crate) struct Filter {
    pub(crate) name: Vec<u8>,
    pub(crate) params: Option<Dict>,
}

/// Decodes a stream whose `/Filter` and `/DecodeParms` are direct objects (cross-reference
/// and object streams, whose filters cannot refer to other objects).
pub(crate) fn decode_direct(raw: &[u8], dict: &Dict, budget: &Budget) -> PdfResult<Vec<u8>> {
    decode(raw, &chain(dict.get(b"Filter"), dict.get(b"DecodeParms"), |o| Some(o.clone())), budget)
}

/// The filter chain from `/Filter` and `/DecodeParms`, `resolve` following references.
pub(crate) fn chain(
    filter: Option<&Object>,
    params: Option<&Object>,
    resolve: impl Fn(&Object) -> Option<Object>,
) -> Vec<Filter> {
    let names: Vec<Object> = match filter.and_then(&resolve) {
        Some(Object::Array(names)) => names.to_vec(),
        Some(name) => vec![name],
        None => Vec::new(),
    };
    let params: Vec<Object> = match params.and_then(&resolve) {
        Some(Object::Array(params)) => params.to_vec(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let name = resolve(name)?.as_name()?.to_vec();
            let params = params.get(i).and_then(&resolve).and_then(|p| p.as_dict().cloned());
            Some(Filter { name: full_name(name), params })
        })
        .collect()
}

/// Inline-image abbreviations, which some writers use for ordinary streams too.
fn full_name(name: Vec<u8>) -> Vec<u8> {
    let full: &[u8] = match name.as_slice() {
        b"Fl" => b"FlateDecode",
        b"LZW" => b"LZWDecode",
        b"A85" => b"ASCII85Decode",
        b"AHx" => b"ASCIIHexDecode",
        b"RL" => b"RunLengthDecode",
        _ => return name,
    };
    full.to_vec()
}

pub(crate) fn decode(raw: &[u8], chain: &[Filter], budget: &Budget) -> PdfResult<Vec<u8>> {
    // `/Crypt` is decryption, done before we get here (or the identity).
    let chain: Vec<&Filter> = chain.iter().filter(|f| f.name != b"Crypt").collect();
    if chain.is_empty() {
        return Ok(raw.to_vec());
    }
    if chain.len() > MAX_FILTERS || chain.iter().any(|f| IMAGE_FILTERS.contains(&f.name.as_slice())) {
        return Err(PdfError::Malformed("not a text stream"));
    }
    let compressed = raw.len() as u64;
    let allowance = budget.inflate_allowance(compressed);
    let stream = lopdf::Stream::new(lopdf_filter_dict(&chain), raw.to_vec());
    match stream.decompressed_content_with_limit(usize::try_from(allowance).unwrap_or(usize::MAX)) {
        Ok(decoded) => {
            let n = decoded.len() as u64;
            budget.charge_inflated(compressed, n, n)?;
            Ok(decoded)
        }
        Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => {
            let ratio_bound = budget.ratio_cap(compressed) <= allowance;
            Err(PdfError::Fatal(if ratio_bound { budget.ratio_error() } else { budget.inflate_limit_error() }))
        }
        Err(_) => Err(PdfError::Malformed("undecodable stream")),
    }
}

fn lopdf_filter_dict(chain: &[&Filter]) -> lopdf::Dictionary {
    let names = chain.iter().map(|f| lopdf::Object::Name(f.name.clone())).collect();
    let params = chain.iter().map(|f| f.params.as_ref().map_or(lopdf::Object::Null, lopdf_params)).collect();
    let mut dict = lopdf::Dictionary::new();
    dict.set("Filter", lopdf::Object::Array(names));
    dict.set("DecodeParms", lopdf::Object::Array(params));
    dict
}

/// Decode parameters are numbers and booleans (`/Predictor`, `/Columns`, `/EarlyChange`…).
fn lopdf_params(params: &Dict) -> lopdf::Object {
    let mut dict = lopdf::Dictionary::new();
    for (key, value) in params.iter() {
        let value = match value {
            Object::Integer(i) => lopdf::Object::Integer(*i),
            Object::Real(r) => lopdf::Object::Real(*r as f32),
            Object::Bool(b) => lopdf::Object::Boolean(*b),
            Object::Name(n) => lopdf::Object::Name(n.clone()),
            _ => continue,
        };
        dict.set(key.to_vec(), value);
    }
    lopdf::Object::Dictionary(dict)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::{ExtractError, Format, Limits};

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn flate() -> Vec<Filter> {
        vec![Filter { name: b"FlateDecode".to_vec(), params: None }]
    }

    #[test]
    fn inflates_within_the_caps() {
        let budget = Budget::new(&Limits::default(), Format::Pdf);
        assert_eq!(decode(&zlib(b"BT (Hi) Tj ET"), &flate(), &budget).unwrap(), b"BT (Hi) Tj ET");
    }

    #[test]
    fn refuses_a_ratio_bomb_without_inflating_it_all() {
        let budget = Budget::new(&Limits::default(), Format::Pdf);
        let bomb = zlib(&vec![b' '; 16 << 20]);
        let result = decode(&bomb, &flate(), &budget);
        assert!(matches!(result, Err(PdfError::Fatal(ExtractError::CompressionRatio { ratio: 200, .. }))));
    }

    #[test]
    fn caps_the_document_total() {
        let limits = Limits { max_inflated_bytes: 3 << 20, max_ratio: 100_000, ..Limits::default() };
        let budget = Budget::new(&limits, Format::Pdf);
        let part = zlib(&vec![b'x'; 2 << 20]);
        assert!(decode(&part, &flate(), &budget).is_ok());
        let result = decode(&part, &flate(), &budget);
        assert!(matches!(result, Err(PdfError::Fatal(ExtractError::InflateLimit { .. }))));
    }
}
