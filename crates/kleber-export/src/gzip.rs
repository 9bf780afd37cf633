//! `compressed=true`: gzip applied to an export body chunk by chunk.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::Result;

/// Compresses a body given as a sequence of chunks into gzip chunks, with memory bounded by
/// the compressor's window (each call returns what the compressor produced so far).
pub struct GzipChunks {
    encoder: Option<GzEncoder<Vec<u8>>>,
}

impl std::fmt::Debug for GzipChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GzipChunks").field("finished", &self.encoder.is_none()).finish()
    }
}

impl Default for GzipChunks {
    fn default() -> Self {
        GzipChunks::new()
    }
}

impl GzipChunks {
    /// A compressor at the default level.
    pub fn new() -> Self {
        GzipChunks { encoder: Some(GzEncoder::new(Vec::new(), Compression::default())) }
    }

    /// Compresses `chunk`, returning the compressed bytes available so far (often empty).
    pub fn compress(&mut self, chunk: &[u8]) -> Result<Vec<u8>> {
        match &mut self.encoder {
            Some(encoder) => {
                encoder.write_all(chunk)?;
                Ok(std::mem::take(encoder.get_mut()))
            }
            None => Err(crate::Error::Finished),
        }
    }

    /// Ends the gzip stream, returning its last bytes (trailer included).
    pub fn finish(&mut self) -> Result<Vec<u8>> {
        match self.encoder.take() {
            Some(encoder) => Ok(encoder.finish()?),
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn chunks_gunzip_to_the_input() {
        let mut gzip = GzipChunks::new();
        let mut out = Vec::new();
        let input: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        for chunk in input.chunks(7_000) {
            out.extend(gzip.compress(chunk).unwrap());
        }
        out.extend(gzip.finish().unwrap());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&out[..]).read_to_end(&mut back).unwrap();
        assert_eq!(back, input);
    }
}
