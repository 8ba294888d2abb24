//! ZIP archives of documents, written while they are sent. The `zip`
//! crate's stream writer (no seeking: sizes and CRCs go in data
//! descriptors, ZIP64 for entries past 4 GiB) runs on a blocking thread;
//! it reads each document's bytes from the store chunk by chunk and hands
//! the archive's bytes to the response through a small bounded channel, so
//! neither a document nor the archive is ever held whole in memory.

use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use hub_documents_application::ports::BlobStore;
use hub_documents_domain::{Document, TypeDocument};
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// How many bytes the writer gathers before handing them on.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight between the writer and the response.
const IN_FLIGHT: usize = 4;

/// The archive of `documents`, as a stream of bytes. A failure after the
/// first bytes (a missing object, the store down) ends the stream with an
/// error, which cuts the response: the client sees a truncated archive,
/// never a valid one that lacks a file.
pub(super) fn stream(
    store: Arc<dyn BlobStore>,
    documents: Vec<Document>,
) -> BoxStream<'static, io::Result<Bytes>> {
    let (sender, receiver) = mpsc::channel::<io::Result<Bytes>>(IN_FLIGHT);
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let errors = sender.clone();
        if let Err(error) = write(&runtime, &*store, &documents, sender) {
            // The client may be gone already; then nobody needs to know.
            if error.kind() != io::ErrorKind::BrokenPipe {
                tracing::warn!(%error, "a ZIP archive of documents failed midway");
                let _ = errors.blocking_send(Err(error));
            }
        }
    });
    futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
    .boxed()
}

fn write(
    runtime: &tokio::runtime::Handle,
    store: &dyn BlobStore,
    documents: &[Document],
    sender: mpsc::Sender<io::Result<Bytes>>,
) -> io::Result<()> {
    let mut zip = ZipWriter::new_stream(ChannelWriter::new(sender));
    let mut names = EntryNames::default();
    for document in documents {
        let blob = runtime
            .block_on(store.get(document.cle(), None))
            .map_err(io::Error::other)?;
        let options = SimpleFileOptions::default()
            .compression_method(method(document.type_document()))
            .large_file(document.taille().octets() >= u64::from(u32::MAX))
            .last_modified_time(modified(document));
        zip.start_file(names.unique(document.nom().as_str()), options)
            .map_err(io::Error::other)?;
        let mut body = blob.body;
        while let Some(chunk) = runtime.block_on(body.next()) {
            zip.write_all(&chunk?)?;
        }
    }
    let mut writer = zip.finish().map_err(io::Error::other)?.into_inner();
    writer.flush()
}

/// Photos, videos and Office files are compressed already: stored as they
/// are; the rest (PDF, files without extension) deflated.
fn method(kind: TypeDocument) -> CompressionMethod {
    match kind {
        TypeDocument::Image | TypeDocument::Video | TypeDocument::Word | TypeDocument::Excel => {
            CompressionMethod::Stored
        }
        _ => CompressionMethod::Deflated,
    }
}

fn modified(document: &Document) -> DateTime {
    let at = document.uploaded_at();
    DateTime::from_date_and_time(
        u16::try_from(at.year()).unwrap_or(1980),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
    )
    .unwrap_or_default()
}

/// Entry names: a document's name made safe for any unzip tool (no path
/// separator, no `..`, no control character, never empty) and unique in
/// the archive (`plan (2).pdf`), compared without case as Windows and
/// macOS file systems do.
#[derive(Debug, Default)]
struct EntryNames {
    taken: HashSet<String>,
}

impl EntryNames {
    fn unique(&mut self, nom: &str) -> String {
        let safe = sanitise(nom);
        let (base, extension) = match safe.rfind('.') {
            Some(dot) if dot > 0 => safe.split_at(dot),
            _ => (safe.as_str(), ""),
        };
        let mut candidate = safe.clone();
        let mut n = 1;
        while !self.taken.insert(candidate.to_lowercase()) {
            n += 1;
            candidate = format!("{base} ({n}){extension}");
        }
        candidate
    }
}

fn sanitise(nom: &str) -> String {
    let mut safe: String = nom
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| match c {
            '/' | '\\' | ':' => '_',
            other => other,
        })
        .collect();
    while safe.contains("..") {
        safe = safe.replace("..", "_");
    }
    let safe = safe.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if safe.is_empty() {
        "document".to_owned()
    } else {
        safe.to_owned()
    }
}

/// A `Write` that cuts the archive into chunks for the response; a client
/// gone away is a `BrokenPipe`, which stops the writer.
struct ChannelWriter {
    sender: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn new(sender: mpsc::Sender<io::Result<Bytes>>) -> Self {
        Self {
            sender,
            buffer: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_safe_and_unique() {
        let mut names = EntryNames::default();
        assert_eq!(names.unique("../../etc/passwd"), "____etc_passwd");
        assert_eq!(names.unique("plan.pdf"), "plan.pdf");
        assert_eq!(names.unique("Plan.PDF"), "Plan (2).PDF");
        assert_eq!(names.unique("plan.pdf"), "plan (3).pdf");
        assert_eq!(names.unique("C:\\temp\\x.txt"), "C__temp_x.txt");
        assert_eq!(names.unique(".."), "_");
        assert_eq!(names.unique("\u{0}"), "document");
        assert_eq!(names.unique(" . "), "document (2)");
        assert_eq!(names.unique("a..b"), "a_b");
        for name in [names.unique("...."), names.unique("x/../y")] {
            assert!(!name.contains("..") && !name.contains('/'), "{name}");
        }
    }
}
