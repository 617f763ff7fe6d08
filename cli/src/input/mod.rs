//! What the rules run over: configuration items from the account (Config's inventory, or the
//! services' own answers mapped onto Config's shape), from snapshot files, from CloudFormation
//! templates or from Terraform plans and state, each with where it came from.

pub mod service_shape;
pub mod snapshot;
pub mod template;
pub mod terraform;

use std::io::{BufRead as _, Read};
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
/// a.gz b.gz`) are read as one text. A file of more than `limit` bytes (decompressed) is an
/// error naming its size, the limit and `what` it was read as; a plain file is measured before
/// it is read, a compressed one is decompressed no further than one byte past the limit.
pub fn read(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let file = path.display().to_string();
    let failed = |err: std::io::Error| CliError::input(&file, err);
    let opened = std::fs::File::open(path).map_err(failed)?;
    // 0 for a pipe or a device, whose size is only known by reading it.
    let size = opened.metadata().map_err(failed)?.len();
    let too_large =
        |size: String| CliError::input(&file, format!("{size}, over the limit of {} for {what}", describe_size(limit)));
    let mut reader = std::io::BufReader::new(opened);
    let compressed = reader.fill_buf().map_err(failed)?.starts_with(&GZIP_MAGIC);
    if compressed {
        let text = decompress(reader, limit).map_err(|reason| CliError::input(&file, reason))?;
        if text.len() as u64 > limit {
            return Err(too_large(format!("more than {limit} bytes decompressed ({size} bytes compressed)")));
        }
        return Ok(text);
    }
    if size > limit {
        return Err(too_large(format!("{size} bytes")));
    }
    let mut text = Vec::new();
    reader.take(limit + 1).read_to_end(&mut text).map_err(failed)?;
    if text.len() as u64 > limit {
        return Err(too_large(format!("more than {limit} bytes")));
    }
    Ok(text)
}

/// `bytes` as they are, or decompressed (up to `limit` bytes and one more, to tell it is over)
/// when they start as gzip does.
pub fn gunzip(bytes: Vec<u8>, limit: u64) -> std::result::Result<Vec<u8>, String> {
    if bytes.starts_with(&GZIP_MAGIC) { decompress(bytes.as_slice(), limit) } else { Ok(bytes) }
}

/// The gzip members of `compressed`, decompressed up to `limit` bytes and one more.
fn decompress(compressed: impl Read, limit: u64) -> std::result::Result<Vec<u8>, String> {
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(compressed)
        .take(limit + 1)
        .read_to_end(&mut text)
        .map_err(|err| format!("gzip-compressed, but cannot be decompressed: {err}"))?;
    Ok(text)
}

/// `1048576 bytes (1 MiB)`: a size in bytes, and in MiB or GiB when it is a whole number of them.
fn describe_size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    if bytes > 0 && bytes.is_multiple_of(GIB) {
        format!("{bytes} bytes ({} GiB)", bytes / GIB)
    } else if bytes > 0 && bytes.is_multiple_of(MIB) {
        format!("{bytes} bytes ({} MiB)", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
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

    /// A scratch directory of its own for one test.
    pub fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pipesec-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_at_the_limit_is_read_and_one_byte_more_is_refused_with_its_size_and_the_limit() {
        let dir = scratch("read-limit");
        let at = dir.join("at.json");
        let over = dir.join("over.json");
        std::fs::write(&at, vec![b' '; 100]).unwrap();
        std::fs::write(&over, vec![b' '; 101]).unwrap();
        let at_gz = dir.join("at.json.gz");
        let over_gz = dir.join("over.json.gz");
        std::fs::write(&at_gz, gzip(&[b' '; 100])).unwrap();
        std::fs::write(&over_gz, gzip(&[b' '; 101])).unwrap();

        assert_eq!(read(&at, 100, "a test file").unwrap().len(), 100);
        assert_eq!(read(&at_gz, 100, "a test file").unwrap().len(), 100);
        let plain = read(&over, 100, "a test file").unwrap_err().to_string();
        let compressed = read(&over_gz, 100, "a test file").unwrap_err().to_string();
        let compressed_size = std::fs::metadata(&over_gz).unwrap().len();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(plain, format!("{}: 101 bytes, over the limit of 100 bytes for a test file", over.display()));
        assert_eq!(
            compressed,
            format!(
                "{}: more than 100 bytes decompressed ({compressed_size} bytes compressed), over the limit of 100 bytes for a test file",
                over_gz.display()
            )
        );
    }

    #[test]
    fn a_file_past_the_limit_is_refused_before_it_is_read() {
        // Sparse: 64 GiB on disk in name only. Read, it would exhaust the memory of the test.
        let dir = scratch("read-sparse");
        let path = dir.join("huge.yaml");
        std::fs::File::create(&path).unwrap().set_len(64 << 30).unwrap();
        let err = read(&path, MAX_SNAPSHOT_BYTES, "a test file").unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            err.ends_with(": 68719476736 bytes, over the limit of 1073741824 bytes (1 GiB) for a test file"),
            "{err}"
        );
    }

    #[test]
    fn sizes_are_described_in_bytes_and_whole_binary_units() {
        assert_eq!(describe_size(1 << 20), "1048576 bytes (1 MiB)");
        assert_eq!(describe_size(512 << 20), "536870912 bytes (512 MiB)");
        assert_eq!(describe_size(1 << 30), "1073741824 bytes (1 GiB)");
        assert_eq!(describe_size(1000), "1000 bytes");
    }
}
