//! The files of an export: CSV (`;`-separated, UTF-8 with a BOM, decimal
//! commas — what French spreadsheets open as is), XLSX, and the ERP's
//! `|`-separated text (validated hours only, no totals). CSV and XLSX: one
//! line per pointage, grouped per user, each user closed by his totals, the
//! week's total last, with a column of variables de paie when the export
//! includes them. All are written as the export's lines arrive, step by step:
//! the CSV text of each step is sent at once; the XLSX sheet is written in
//! `rust_xlsxwriter`'s constant-memory mode (rows go to a temporary file as
//! they are written) and its zip is streamed out when the last row is in.

use std::io::{self, Write};

use hub_pointages_application::{Export, LigneExport};
use hub_pointages_domain::{
    FormatExport, HeuresMinutes, Pointage, Semaine, TotalVariable, Totaux, TotauxVariables,
    TypeVariable, VariablePaie, jour_semaine,
};
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

/// The column added when the export includes the variables de paie.
const VARIABLES: &str = "Variables de paie";

/// The header of a CSV or XLSX export.
fn columns(inclure_variables: bool) -> Vec<&'static str> {
    let mut columns = COLUMNS.to_vec();
    if inclure_variables {
        columns.push(VARIABLES);
    }
    columns
}

/// The column of the decimal hours, a number in XLSX.
const DECIMAL: usize = 9;

/// Variables as one cell: `Panier repas = 9,40 | RTT = 1,00`, in the
/// types' order (a pointage's in the order they were added).
fn variables_cell(totaux: impl IntoIterator<Item = TotalVariable>) -> String {
    totaux
        .into_iter()
        .map(|t| {
            format!(
                "{} = {}",
                t.type_variable.libelle(),
                t.total.to_string().replace('.', ",")
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn pointage_variables(variables: &[VariablePaie]) -> impl Iterator<Item = TotalVariable> + '_ {
    variables.iter().map(|v| TotalVariable {
        type_variable: v.type_variable,
        total: v.valeur,
    })
}

/// The cells of one line (the decimal column left empty, the variables'
/// column added when `inclure_variables`) and its duration; `true` for a
/// total line.
fn cells(ligne: &LigneExport, inclure_variables: bool) -> (Vec<String>, HeuresMinutes, bool) {
    let (mut cells, duree, total, variables) = match ligne {
        LigneExport::Pointage {
            pointage,
            utilisateur_nom,
            chantier_nom,
            variables,
        } => (
            pointage_cells(pointage, utilisateur_nom, chantier_nom),
            pointage.total(),
            false,
            variables_cell(pointage_variables(variables)),
        ),
        LigneExport::TotalUtilisateur {
            utilisateur_id,
            utilisateur_nom,
            totaux,
            variables,
        } => (
            total_cells(
                "Total utilisateur",
                utilisateur_id.to_string(),
                utilisateur_nom.clone(),
                totaux,
            ),
            totaux.total(),
            true,
            variables_cell(variables.lignes()),
        ),
        LigneExport::TotalSemaine { totaux, variables } => (
            total_cells("Total semaine", String::new(), String::new(), totaux),
            totaux.total(),
            true,
            variables_cell(variables.lignes()),
        ),
    };
    if inclure_variables {
        cells.push(variables);
    }
    (cells, duree, total)
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

/// The file name of the download, e.g. `feuilles_heures_2026-W50.csv`, or
/// for the ERP `export_erp_2026-12-07_2026-12-13.txt` (the week's first
/// and last days, as the original names it).
pub fn file_name(export: &Export) -> String {
    match export.format {
        FormatExport::Csv => format!("feuilles_heures_{}.csv", export.semaine.semaine_iso()),
        FormatExport::Xlsx => format!("feuilles_heures_{}.xlsx", export.semaine.semaine_iso()),
        FormatExport::Erp => format!(
            "export_erp_{}_{}.txt",
            export.semaine.lundi(),
            export.semaine.dimanche()
        ),
    }
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
pub fn csv_header(inclure_variables: bool) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(&columns(inclure_variables).join(";"));
    out.push_str("\r\n");
    out
}

/// CSV lines (`;`, CRLF line ends).
pub fn csv_lines(lignes: &[LigneExport], inclure_variables: bool) -> String {
    let mut out = String::new();
    for ligne in lignes {
        let (mut cells, duree, _) = cells(ligne, inclure_variables);
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
    inclure_variables: bool,
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
    pub fn new(semaine: Semaine, inclure_variables: bool) -> Result<Self, XlsxError> {
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        let sheet = workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(semaine.semaine_iso().to_string())?;
        for (col, title) in (0u16..).zip(columns(inclure_variables)) {
            sheet.write_string_with_format(0, col, title, &bold)?;
        }
        Ok(Self {
            workbook,
            bold,
            row: 1,
            inclure_variables,
        })
    }

    fn sheet(&mut self) -> Result<&mut Worksheet, XlsxError> {
        self.workbook.worksheet_from_index(0)
    }

    /// Appends lines (rows are written in order, as constant memory requires).
    pub fn write(&mut self, lignes: &[LigneExport]) -> Result<(), XlsxError> {
        let bold = self.bold.clone();
        let mut row = self.row;
        let inclure_variables = self.inclure_variables;
        let sheet = self.sheet()?;
        for ligne in lignes {
            let (cells, duree, total) = cells(ligne, inclure_variables);
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

/// The columns of the ERP file.
const ERP_COLUMNS: [&str; 7] = [
    "CODE_UTILISATEUR",
    "DATE",
    "CODE_CHANTIER",
    "HEURES_NORMALES",
    "HEURES_SUP",
    "PANIER",
    "TRANSPORT",
];

/// An id as an ERP code: the prefix then the UUID's 32 hex digits in upper
/// case (`USER0193B2E0…`): stable, unique, and read back to the id.
fn erp_code(prefix: &str, id: uuid::Uuid) -> String {
    let mut code = String::from(prefix);
    code.push_str(&id.simple().to_string().to_ascii_uppercase());
    code
}

/// Hours as the ERP takes them: decimal, a point, two places (7:30 → `7.50`).
fn decimal_erp(duree: HeuresMinutes) -> String {
    format!("{:.2}", duree.decimal())
}

/// The sum of one type among a pointage's variables, empty when it has
/// none (the ERP's `PANIER` and `TRANSPORT`).
fn erp_variable(variables: &[VariablePaie], type_variable: TypeVariable) -> String {
    let mut totaux = TotauxVariables::default();
    let mut any = false;
    for variable in variables
        .iter()
        .filter(|v| v.type_variable == type_variable)
    {
        totaux.add(variable);
        any = true;
    }
    if any {
        totaux.of(type_variable).to_string()
    } else {
        String::new()
    }
}

/// The start of the ERP file (UTF-8, no BOM): the header line.
pub fn erp_header() -> String {
    let mut out = ERP_COLUMNS.join("|");
    out.push_str("\r\n");
    out
}

/// ERP lines (`|`, CRLF): one per pointage, no totals (an ERP sums for
/// itself). Names never appear, so no cell can hold the separator.
pub fn erp_lines(lignes: &[LigneExport]) -> String {
    let mut out = String::new();
    for ligne in lignes {
        let LigneExport::Pointage {
            pointage,
            variables,
            ..
        } = ligne
        else {
            continue;
        };
        let date = pointage.date();
        let cells = [
            erp_code("USER", pointage.utilisateur_id()),
            format!(
                "{:04}{:02}{:02}",
                date.year(),
                u8::from(date.month()),
                date.day()
            ),
            erp_code("CHT", pointage.chantier_id()),
            decimal_erp(pointage.heures_normales()),
            decimal_erp(pointage.heures_supplementaires()),
            erp_variable(variables, TypeVariable::PanierRepas),
            erp_variable(variables, TypeVariable::IndemniteTransport),
        ];
        out.push_str(&cells.join("|"));
        out.push_str("\r\n");
    }
    out
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

    fn lines_with_variables() -> Vec<LigneExport> {
        use hub_pointages_domain::{NouveauPointage, NouvelleVariable, Valeur};
        use time::macros::{date, datetime};
        let now = datetime!(2026-12-07 18:00 UTC);
        let (pointage, _) = Pointage::create(
            NouveauPointage {
                utilisateur_id: uuid::Uuid::from_u128(0xAB),
                chantier_id: uuid::Uuid::from_u128(0xCD),
                date: date!(2026 - 12 - 07),
                heures_normales: HeuresMinutes::parse("7:30").unwrap(),
                heures_supplementaires: HeuresMinutes::parse("1:15").unwrap(),
                commentaire: None,
                affectation_id: None,
            },
            None,
            now,
        );
        let variable = |type_variable, valeur| {
            VariablePaie::create(
                &pointage,
                NouvelleVariable {
                    type_variable,
                    valeur: Valeur::parse(valeur).unwrap(),
                    date_application: pointage.date(),
                    commentaire: None,
                },
                None,
                now,
            )
            .unwrap()
            .0
        };
        let variables = vec![
            variable(TypeVariable::PanierRepas, "9.40"),
            variable(TypeVariable::PanierRepas, "0.60"),
            variable(TypeVariable::PrimeSalissure, "3"),
        ];
        let mut totaux = TotauxVariables::default();
        for v in &variables {
            totaux.add(v);
        }
        vec![
            LigneExport::Pointage {
                pointage: Box::new(pointage.clone()),
                utilisateur_nom: "Karim".to_owned(),
                chantier_nom: "Tour".to_owned(),
                variables,
            },
            LigneExport::TotalUtilisateur {
                utilisateur_id: pointage.utilisateur_id(),
                utilisateur_nom: "Karim".to_owned(),
                totaux: Totaux::of(Semaine::contenant(pointage.date()), [&pointage]),
                variables: totaux,
            },
        ]
    }

    #[test]
    fn erp_lines_carry_codes_decimal_hours_and_the_meal_and_transport_sums() {
        let lines = lines_with_variables();
        assert_eq!(
            erp_header(),
            "CODE_UTILISATEUR|DATE|CODE_CHANTIER|HEURES_NORMALES|HEURES_SUP|PANIER|TRANSPORT\r\n"
        );
        // The total line is left out: one line per pointage.
        assert_eq!(
            erp_lines(&lines),
            "USER000000000000000000000000000000AB|20261207|CHT000000000000000000000000000000CD|7.50|1.25|10.00|\r\n"
        );
        // Without variables, PANIER and TRANSPORT stay empty.
        let mut bare = lines;
        if let LigneExport::Pointage { variables, .. } = &mut bare[0] {
            variables.clear();
        }
        assert!(erp_lines(&bare[..1]).ends_with("|7.50|1.25||\r\n"));
    }

    #[test]
    fn the_variables_column_lists_each_pointages_and_sums_the_totals() {
        let lines = lines_with_variables();
        let csv = csv_lines(&lines, true);
        let rows: Vec<Vec<&str>> = csv
            .trim_end()
            .split("\r\n")
            .map(|line| line.split(';').collect())
            .collect();
        assert_eq!(
            rows[0][11],
            "Panier repas = 9,40 | Panier repas = 0,60 | Prime salissure = 3,00"
        );
        assert_eq!(rows[1][11], "Panier repas = 10,00 | Prime salissure = 3,00");
        assert_eq!(csv_header(true).trim_end().split(';').count(), 12);
        // Left out when not asked.
        assert!(
            csv_lines(&lines, false)
                .lines()
                .all(|l| l.split(';').count() == 11)
        );
        assert_eq!(csv_header(false).trim_end().split(';').count(), 11);
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
        let total = LigneExport::TotalSemaine {
            totaux: Totaux::default(),
            variables: TotauxVariables::default(),
        };
        let mut xlsx = XlsxExport::new(semaine, true).unwrap();
        xlsx.write(std::slice::from_ref(&total)).unwrap();
        let mut gone = ChunkWriter::new(16, |_| {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"))
        });
        assert!(xlsx.finish(&mut gone).is_err());
        // Written to a sink that keeps it, the same sheet is a zip.
        let mut xlsx = XlsxExport::new(semaine, false).unwrap();
        xlsx.write(&[total]).unwrap();
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
