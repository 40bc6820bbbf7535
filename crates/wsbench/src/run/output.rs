//! Writing results so that nothing half-written is ever left behind.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use wsbench_core::result::RunResult;
use wsbench_report::Format;

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, then renamed over the target. A reader sees the old file or the new one, never a
/// torn one, even if wsbench dies mid-write.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// Writes result.json, then report.md and report.html beside it, each atomically.
pub fn save(result: &RunResult, path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    for (format, file) in [
        (Format::Json, path.to_path_buf()),
        (Format::Markdown, dir.join("report.md")),
        (Format::Html, dir.join("report.html")),
    ] {
        let bytes = format
            .exporter()
            .render(result)
            .with_context(|| format!("cannot render {}", file.display()))?;
        write_atomic(&file, &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("wsbench-out-{}", std::process::id()));
        let path = dir.join("result.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(entries.len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
