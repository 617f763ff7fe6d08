//! What the rules run over: configuration items from the account (Config's inventory, or the
//! services' own answers mapped onto Config's shape), from snapshot files, from CloudFormation
//! templates or from Terraform plans and state, each with where it came from.

pub mod service_shape;
pub mod snapshot;
pub mod template;
pub mod terraform;

use std::io::Read as _;
use std::path::Path;

use pipesec_engine::ConfigurationItem;

use self::template::{Block, MappedResource};
use crate::error::{CliError, Result};

/// A configuration item to evaluate and where it came from.
#[derive(Debug, Clone)]
pub struct Entry {
    pub item: ConfigurationItem,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub enum Origin {
    /// Read from the account's Config inventory.
    Account,
    /// Read from a file of configuration items.
    Snapshot { file: String },
    /// A resource of a CloudFormation template.
    Template { file: String, block: Option<Block>, mapped: Box<MappedResource> },
    /// A resource of a Terraform plan or state (`terraform show -json`): `mapped.logical_id` is
    /// its address, `action` the plan's (`create`, `update`, `no-op`, `replace`; none for
    /// state), `sensitive` the values Terraform marks sensitive, which no output prints.
    Terraform { file: String, action: Option<String>, sensitive: Vec<String>, mapped: Box<MappedResource> },
}

/// The first bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The most a snapshot file may hold, decompressed: far past any account's inventory, short of
/// a decompression bomb exhausting memory.
pub const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;

/// An input file's bytes, gunzipped when it is gzip-compressed (as AWS Config delivers snapshot
/// and history files to S3), whatever its name; several gzip members one after the other (`cat
/// a.gz b.gz`) are read as one text. More than `limit` bytes (decompressed) is an error.
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = path.display().to_string();
    let opened = std::fs::File::open(path).map_err(|err| CliError::input(&file, err))?;
    let mut bytes = Vec::new();
    opened.take(limit + 1).read_to_end(&mut bytes).map_err(|err| CliError::input(&file, err))?;
    let text = gunzip(bytes, limit).map_err(|reason| CliError::input(&file, reason))?;
    if text.len() as u64 > limit {
        return Err(CliError::input(
            &file,
            format!("larger than {limit} bytes, the most pipesec reads from such a file"),
        ));
    }
    Ok(text)
}

/// `bytes` as they are, or decompressed (up to `limit` bytes and one more, to tell it is over)
/// when they start as gzip does.
pub fn gunzip(bytes: Vec<u8>, limit: u64) -> std::result::Result<Vec<u8>, String> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .take(limit + 1)
        .read_to_end(&mut text)
        .map_err(|err| format!("gzip-compressed, but cannot be decompressed: {err}"))?;
    Ok(text)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write as _;

    use super::*;

    /// `text` gzip-compressed, as Config delivers files to S3.
    pub fn gzip(text: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_is_undone_and_plain_bytes_pass_through() {
        assert_eq!(gunzip(b"{}".to_vec(), MAX_SNAPSHOT_BYTES).unwrap(), b"{}");
        assert_eq!(gunzip(gzip(b"{\"a\": 1}"), MAX_SNAPSHOT_BYTES).unwrap(), b"{\"a\": 1}");
        let mut two = gzip(b"{\"a\": 1}\n");
        two.extend(gzip(b"{\"b\": 2}\n"));
        assert_eq!(
            gunzip(two, MAX_SNAPSHOT_BYTES).unwrap(),
            b"{\"a\": 1}\n{\"b\": 2}\n",
            "concatenated members are one text"
        );
        // A bomb stops one byte past the limit, and the caller says it is too large.
        let bomb = gzip(&vec![b' '; 1 << 20]);
        assert_eq!(gunzip(bomb, 1000).unwrap().len(), 1001);
        let err = gunzip(vec![0x1f, 0x8b, 8, 0], MAX_SNAPSHOT_BYTES).unwrap_err();
        assert!(err.contains("gzip-compressed, but cannot be decompressed"), "{err}");
    }
}
