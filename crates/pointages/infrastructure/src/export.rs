//! The files of an export: CSV (`;`-separated, UTF-8 with a BOM, decimal
//! commas — what French spreadsheets open as is) and XLSX. One line per
//! pointage, grouped per user, each user closed by his totals, the week's
//! total last.

use hub_pointages_application::{Export, Noms};
use hub_pointages_domain::{HeuresMinutes, Pointage, Totaux, jour_semaine};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

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

/// One line of the file, in cells.
enum Ligne {
    Pointage(Vec<String>, HeuresMinutes),
    Total(Vec<String>, HeuresMinutes),
}

fn pointage(p: &Pointage, noms: &Noms) -> Ligne {
    let cells = vec![
        p.date().to_string(),
        jour_semaine(p.date()).to_owned(),
        p.utilisateur_id().to_string(),
        noms.utilisateur(p.utilisateur_id()),
        p.chantier_id().to_string(),
        noms.chantier(p.chantier_id()),
        p.heures_normales().to_string(),
        p.heures_supplementaires().to_string(),
        p.total().to_string(),
        String::new(),
        p.statut().as_str().to_owned(),
    ];
    Ligne::Pointage(cells, p.total())
}

fn total(label: &str, id: String, nom: String, totaux: &Totaux) -> Ligne {
    let cells = vec![
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
    ];
    Ligne::Total(cells, totaux.total())
}

fn lignes(export: &Export) -> Vec<Ligne> {
    let mut lignes = Vec::new();
    for utilisateur in &export.utilisateurs {
        lignes.extend(
            utilisateur
                .pointages
                .iter()
                .map(|p| pointage(p, &export.noms)),
        );
        lignes.push(total(
            "Total utilisateur",
            utilisateur.utilisateur_id.to_string(),
            export.noms.utilisateur(utilisateur.utilisateur_id),
            &utilisateur.totaux,
        ));
    }
    lignes.push(total(
        "Total semaine",
        String::new(),
        String::new(),
        &export.totaux,
    ));
    lignes
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

/// The CSV file: UTF-8 with a BOM, `;`, CRLF line ends.
pub fn csv(export: &Export) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    out.push_str(&COLUMNS.join(";"));
    out.push_str("\r\n");
    for ligne in lignes(export) {
        let (mut cells, duree) = match ligne {
            Ligne::Pointage(cells, duree) | Ligne::Total(cells, duree) => (cells, duree),
        };
        cells[9] = decimal_fr(duree);
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        out.push_str(&line.join(";"));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// The XLSX file: one sheet, decimal hours as numbers, totals in bold.
pub fn xlsx(export: &Export) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name(export.semaine.semaine_iso().to_string())?;
    for (col, title) in (0u16..).zip(COLUMNS) {
        sheet.write_string_with_format(0, col, title, &bold)?;
    }
    for (row, ligne) in (1u32..).zip(lignes(export)) {
        let (cells, duree, format) = match &ligne {
            Ligne::Pointage(cells, duree) => (cells, *duree, None),
            Ligne::Total(cells, duree) => (cells, *duree, Some(&bold)),
        };
        for (col, text) in (0u16..).zip(cells) {
            if col == 9 {
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
    }
    workbook.save_to_buffer()
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
}
