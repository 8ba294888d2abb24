//! The files of an export: CSV (`;`-separated, UTF-8 with a BOM, decimal
//! commas — what French spreadsheets open as is) and XLSX. One line per
//! pointage, grouped per user, each user closed by his totals, the week's
//! total last. Both are written as the export's lines arrive, step by step:
//! the CSV text of each step is sent at once; the XLSX sheet is written in
//! `rust_xlsxwriter`'s constant-memory mode (rows go to a temporary file as
//! they are written) and its zip is streamed out when the last row is in.

use std::io::{self, Write};

use hub_pointages_application::{Export, LigneExport};
use hub_pointages_domain::{HeuresMinutes, Pointage, Semaine, Totaux, jour_semaine};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

/// The columns of both formats.
const COLUMNS: [&str; 11] = [
    "Date",
    "Jour",
    "Utilisateur ID",
    "Utilisateur",
    "Chantier ID",
    "Chantier",
    "Heures normales",
    "Heures supplémentaires",
    "Total",
    "Total (heures décimales)",
    "Statut",
];

/// The column of the decimal hours, a number in XLSX.
const DECIMAL: usize = 9;

/// The cells of one line (the decimal column left empty) and its duration;
/// `true` for a total line.
fn cells(ligne: &LigneExport) -> (Vec<String>, HeuresMinutes, bool) {
    match ligne {
        LigneExport::Pointage {
            pointage,
            utilisateur_nom,
            chantier_nom,
        } => (
            pointage_cells(pointage, utilisateur_nom, chantier_nom),
            pointage.total(),
            false,
        ),
        LigneExport::TotalUtilisateur {
            utilisateur_id,
            utilisateur_nom,
            totaux,
        } => (
            total_cells(
                "Total utilisateur",
                utilisateur_id.to_string(),
                utilisateur_nom.clone(),
                totaux,
            ),
            totaux.total(),
            true,
        ),
        LigneExport::TotalSemaine(totaux) => (
            total_cells("Total semaine", String::new(), String::new(), totaux),
            totaux.total(),
            true,
        ),
    }
}

fn pointage_cells(p: &Pointage, utilisateur: &str, chantier: &str) -> Vec<String> {
    vec![
        p.date().to_string(),
        jour_semaine(p.date()).to_owned(),
        p.utilisateur_id().to_string(),
        utilisateur.to_owned(),
        p.chantier_id().to_string(),
        chantier.to_owned(),
        p.heures_normales().to_string(),
        p.heures_supplementaires().to_string(),
        p.total().to_string(),
        String::new(),
        p.statut().as_str().to_owned(),
    ]
}

fn total_cells(label: &str, id: String, nom: String, totaux: &Totaux) -> Vec<String> {
    vec![
        label.to_owned(),
        String::new(),
        id,
        nom,
        String::new(),
        String::new(),
        totaux.heures_normales.to_string(),
        totaux.heures_supplementaires.to_string(),
        totaux.total().to_string(),
        String::new(),
        String::new(),
    ]
}

/// The file name of the download, e.g. `feuilles_heures_2026-W50.csv`.
pub fn file_name(export: &Export, extension: &str) -> String {
    format!(
        "feuilles_heures_{}.{extension}",
        export.semaine.semaine_iso()
    )
}

/// A CSV cell: quoted when it holds the separator, a quote or a line
/// break; a leading `=`, `+`, `-` or `@` is neutralised so that a name
/// cannot become a spreadsheet formula.
fn cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Hours as a decimal with a comma and two digits (7:30 → `7,50`).
fn decimal_fr(duree: HeuresMinutes) -> String {
    format!("{:.2}", duree.decimal()).replace('.', ",")
}

/// The start of the CSV file: the BOM and the header line.
pub fn csv_header() -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(&COLUMNS.join(";"));
    out.push_str("\r\n");
    out
}

/// CSV lines (`;`, CRLF line ends).
pub fn csv_lines(lignes: &[LigneExport]) -> String {
    let mut out = String::new();
    for ligne in lignes {
        let (mut cells, duree, _) = cells(ligne);
        cells[DECIMAL] = decimal_fr(duree);
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        out.push_str(&line.join(";"));
        out.push_str("\r\n");
    }
    out
}

/// An XLSX file being written: one sheet in constant-memory mode, decimal
/// hours as numbers, totals in bold.
pub struct XlsxExport {
    workbook: Workbook,
    bold: Format,
    /// The next row to write.
    row: u32,
}

impl std::fmt::Debug for XlsxExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XlsxExport")
            .field("row", &self.row)
            .finish_non_exhaustive()
    }
}

impl XlsxExport {
    /// A workbook with its sheet named after the week and the header row.
    pub fn new(semaine: Semaine) -> Result<Self, XlsxError> {
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(semaine.semaine_iso().to_string())?;
        for (col, title) in (0u16..).zip(COLUMNS) {
            sheet.write_string_with_format(0, col, title, &bold)?;
        }
        Ok(Self {
            workbook,
            bold,
            row: 1,
        })
    }

    fn sheet(&mut self) -> Result<&mut Worksheet, XlsxError> {
        self.workbook.worksheet_from_index(0)
    }

    /// Appends lines (rows are written in order, as constant memory requires).
    pub fn write(&mut self, lignes: &[LigneExport]) -> Result<(), XlsxError> {
        let bold = self.bold.clone();
        let mut row = self.row;
        let sheet = self.sheet()?;
        for ligne in lignes {
            let (cells, duree, total) = cells(ligne);
            let format = total.then_some(&bold);
            for (col, text) in (0u16..).zip(&cells) {
                if usize::from(col) == DECIMAL {
                    match format {
                        Some(bold) => {
                            sheet.write_number_with_format(row, col, duree.decimal(), bold)?
                        }
                        None => sheet.write_number(row, col, duree.decimal())?,
                    };
                } else if !text.is_empty() {
                    match format {
                        Some(bold) => sheet.write_string_with_format(row, col, text, bold)?,
                        None => sheet.write_string(row, col, text)?,
                    };
                }
            }
            row += 1;
        }
        self.row = row;
        Ok(())
    }

    /// Writes the finished file (a zip, produced in one pass: `writer`
    /// needs no seeking, so it may be the response body), then flushes it.
    pub fn finish<W: Write + Send>(mut self, writer: &mut W) -> Result<(), XlsxError> {
        self.workbook.save_to_writer(&mut *writer)?;
        writer.flush()?;
        Ok(())
    }
}

/// A [`Write`] that hands its bytes on in chunks of about `chunk` bytes.
pub struct ChunkWriter<F: FnMut(Vec<u8>) -> io::Result<()>> {
    buffer: Vec<u8>,
    chunk: usize,
    send: F,
}

impl<F: FnMut(Vec<u8>) -> io::Result<()>> ChunkWriter<F> {
    pub fn new(chunk: usize, send: F) -> Self {
        Self {
            buffer: Vec::with_capacity(chunk),
            chunk,
            send,
        }
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.chunk));
        (self.send)(full)
    }
}

impl<F: FnMut(Vec<u8>) -> io::Result<()>> Write for ChunkWriter<F> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= self.chunk {
            self.send_buffer()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(cell("Durand"), "Durand");
        assert_eq!(cell("a;b"), "\"a;b\"");
        assert_eq!(cell("dit \"Bob\""), "\"dit \"\"Bob\"\"\"");
        assert_eq!(cell("=HYPERLINK()"), "'=HYPERLINK()");
        assert_eq!(decimal_fr(HeuresMinutes::parse("7:30").unwrap()), "7,50");
    }

    #[test]
    fn a_chunk_writer_hands_on_pieces_and_the_rest_on_flush() {
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        let mut writer = ChunkWriter::new(4, |chunk| {
            chunks.push(chunk);
            Ok(())
        });
        writer.write_all(b"abc").unwrap();
        writer.write_all(b"defgh").unwrap();
        writer.write_all(b"ij").unwrap();
        writer.flush().unwrap();
        writer.flush().unwrap();
        drop(writer);
        assert_eq!(chunks, [b"abcdefgh".to_vec(), b"ij".to_vec()]);
    }

    #[test]
    fn a_gone_client_stops_the_xlsx_with_an_error() {
        let semaine = Semaine::contenant(time::macros::date!(2026 - 12 - 07));
        let mut xlsx = XlsxExport::new(semaine).unwrap();
        xlsx.write(&[LigneExport::TotalSemaine(Totaux::default())])
            .unwrap();
        let mut gone = ChunkWriter::new(16, |_| {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"))
        });
        assert!(xlsx.finish(&mut gone).is_err());
        // Written to a sink that keeps it, the same sheet is a zip.
        let mut xlsx = XlsxExport::new(semaine).unwrap();
        xlsx.write(&[LigneExport::TotalSemaine(Totaux::default())])
            .unwrap();
        let mut file = Vec::new();
        let mut kept = ChunkWriter::new(16, |chunk| {
            file.extend(chunk);
            Ok(())
        });
        xlsx.finish(&mut kept).unwrap();
        drop(kept);
        assert_eq!(&file[..2], b"PK");
    }
}
