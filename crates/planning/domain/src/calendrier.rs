//! The days a command plans: a day range, a weekly recurrence, a period
//! copied to another, a block stretched over more days. Every generator is
//! capped at [`MAX_JOURS`] rows, so one request cannot create an unbounded
//! series.

use time::{Date, Duration};

use crate::JoursRecurrence;

/// At most this many affectations per request (a year, leap day included).
pub const MAX_JOURS: usize = 366;

/// Why a set of days was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendrierError {
    #[error("one request may plan at most {MAX_JOURS} days")]
    TooMany,
    #[error("{fin} must be after {debut}")]
    Inverted {
        debut: &'static str,
        fin: &'static str,
    },
    #[error("no date of the period falls on the chosen weekdays")]
    AucuneDate,
    #[error("the new period must contain the block's day")]
    HorsBloc,
}

/// Every day from `debut` to `fin` inclusive; a `fin` on or before `debut`
/// (or none) means `debut` alone, like the original.
pub fn plage(debut: Date, fin: Option<Date>) -> Result<Vec<Date>, CalendrierError> {
    let Some(fin) = fin.filter(|fin| *fin > debut) else {
        return Ok(vec![debut]);
    };
    if (fin - debut).whole_days() >= MAX_JOURS as i64 {
        return Err(CalendrierError::TooMany);
    }
    Ok(days(debut, fin).collect())
}

/// Every day of [`debut`, `fin`] whose weekday is in `jours`; `fin` must be
/// strictly after `debut`, and at least one day must match.
pub fn recurrence(
    debut: Date,
    fin: Date,
    jours: &JoursRecurrence,
) -> Result<Vec<Date>, CalendrierError> {
    if fin <= debut {
        return Err(CalendrierError::Inverted {
            debut: "date",
            fin: "date_fin_recurrence",
        });
    }
    let mut dates = Vec::new();
    // At least one day a week matches, so this stops within 7 × MAX_JOURS days.
    for date in days(debut, fin).filter(|date| jours.contains(date.weekday())) {
        if dates.len() == MAX_JOURS {
            return Err(CalendrierError::TooMany);
        }
        dates.push(date);
    }
    if dates.is_empty() {
        return Err(CalendrierError::AucuneDate);
    }
    Ok(dates)
}

/// The shift, in days, that copies the period [`source_debut`,
/// `source_fin`] to start on `target_debut` (strictly after the source).
pub fn decalage(
    source_debut: Date,
    source_fin: Date,
    target_debut: Date,
) -> Result<Duration, CalendrierError> {
    if source_fin < source_debut {
        return Err(CalendrierError::Inverted {
            debut: "source_date_debut",
            fin: "source_date_fin",
        });
    }
    if target_debut <= source_fin {
        return Err(CalendrierError::Inverted {
            debut: "source_date_fin",
            fin: "target_date_debut",
        });
    }
    if (source_fin - source_debut).whole_days() >= MAX_JOURS as i64 {
        return Err(CalendrierError::TooMany);
    }
    Ok(target_debut - source_debut)
}

/// The days a block on `reference` gains when stretched to [`debut`,
/// `fin`]: the range must contain `reference` (it only extends, and never
/// fills a gap outside the requested range); `reference` itself is excluded.
pub fn etirement(reference: Date, debut: Date, fin: Date) -> Result<Vec<Date>, CalendrierError> {
    if fin < debut {
        return Err(CalendrierError::Inverted {
            debut: "date_debut",
            fin: "date_fin",
        });
    }
    if reference < debut || reference > fin {
        return Err(CalendrierError::HorsBloc);
    }
    if (fin - debut).whole_days() >= MAX_JOURS as i64 {
        return Err(CalendrierError::TooMany);
    }
    Ok(days(debut, fin).filter(|date| *date != reference).collect())
}

/// `debut..=fin`, day by day.
fn days(debut: Date, fin: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(debut), move |date| {
        date.next_day().filter(|next| *next <= fin)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    const MONDAY: Date = date!(2026 - 12 - 07);

    #[test]
    fn a_range_covers_every_day_weekends_included() {
        let dates = plage(MONDAY, Some(date!(2026 - 12 - 13))).unwrap();
        assert_eq!(dates.len(), 7);
        assert_eq!(dates[6], date!(2026 - 12 - 13));
        assert_eq!(plage(MONDAY, None).unwrap(), [MONDAY]);
        // An end on or before the start is ignored, like the original.
        assert_eq!(
            plage(MONDAY, Some(date!(2026 - 12 - 01))).unwrap(),
            [MONDAY]
        );
    }

    #[test]
    fn a_recurrence_keeps_the_listed_weekdays() {
        let lundi_mercredi = JoursRecurrence::new(&[0, 2]).unwrap();
        let dates = recurrence(MONDAY, date!(2026 - 12 - 20), &lundi_mercredi).unwrap();
        assert_eq!(
            dates,
            [
                MONDAY,
                date!(2026 - 12 - 09),
                date!(2026 - 12 - 14),
                date!(2026 - 12 - 16)
            ]
        );
        let dimanche = JoursRecurrence::new(&[6]).unwrap();
        assert_eq!(
            recurrence(MONDAY, date!(2026 - 12 - 12), &dimanche),
            Err(CalendrierError::AucuneDate)
        );
        assert!(matches!(
            recurrence(MONDAY, MONDAY, &dimanche),
            Err(CalendrierError::Inverted { .. })
        ));
    }

    #[test]
    fn stretching_only_adds_days_inside_the_requested_range() {
        let added = etirement(MONDAY, date!(2026 - 12 - 05), date!(2026 - 12 - 09)).unwrap();
        assert_eq!(
            added,
            [
                date!(2026 - 12 - 05),
                date!(2026 - 12 - 06),
                date!(2026 - 12 - 08),
                date!(2026 - 12 - 09)
            ]
        );
        // The original filled the gap from the block to a range beside it.
        assert_eq!(
            etirement(MONDAY, date!(2026 - 12 - 10), date!(2026 - 12 - 12)),
            Err(CalendrierError::HorsBloc)
        );
    }

    #[test]
    fn a_copy_lands_after_its_source() {
        let shift = decalage(MONDAY, date!(2026 - 12 - 11), date!(2026 - 12 - 14)).unwrap();
        assert_eq!(shift, Duration::days(7));
        assert!(decalage(MONDAY, date!(2026 - 12 - 11), date!(2026 - 12 - 11)).is_err());
        assert!(decalage(MONDAY, date!(2026 - 12 - 06), date!(2026 - 12 - 14)).is_err());
    }

    #[test]
    fn a_copied_period_and_a_stretch_are_capped_at_max_jours() {
        // MAX_JOURS days, both ends included.
        let last = MONDAY + Duration::days(MAX_JOURS as i64 - 1);
        let beyond = last + Duration::days(1);
        assert_eq!(
            decalage(MONDAY, last, beyond),
            Ok(Duration::days(MAX_JOURS as i64))
        );
        assert_eq!(
            decalage(MONDAY, beyond, beyond + Duration::days(7)),
            Err(CalendrierError::TooMany)
        );
        assert_eq!(
            etirement(MONDAY, MONDAY, last).unwrap().len(),
            MAX_JOURS - 1
        );
        assert_eq!(
            etirement(MONDAY, MONDAY, beyond),
            Err(CalendrierError::TooMany)
        );
        // Around the block too: the range counts, not the days added.
        assert_eq!(
            etirement(
                MONDAY,
                MONDAY - Duration::days(183),
                MONDAY + Duration::days(183)
            ),
            Err(CalendrierError::TooMany)
        );
    }

    proptest! {
        #[test]
        fn a_range_is_capped_at_max_jours(len in 0i64..1000) {
            let fin = MONDAY + Duration::days(len);
            let result = plage(MONDAY, Some(fin));
            if len < MAX_JOURS as i64 {
                prop_assert_eq!(result.unwrap().len(), len as usize + 1);
            } else {
                prop_assert_eq!(result, Err(CalendrierError::TooMany));
            }
        }

        #[test]
        fn a_recurrence_never_exceeds_max_jours_and_only_lists_its_weekdays(
            weeks in 1i64..3000,
            jours in proptest::collection::vec(0i64..7, 1..7),
        ) {
            let jours = JoursRecurrence::new(&jours).unwrap();
            match recurrence(MONDAY, MONDAY + Duration::weeks(weeks), &jours) {
                Ok(dates) => {
                    prop_assert!(dates.len() <= MAX_JOURS);
                    prop_assert!(dates.iter().all(|d| jours.contains(d.weekday())));
                    prop_assert!(dates.windows(2).all(|w| w[0] < w[1]));
                }
                Err(error) => prop_assert_eq!(error, CalendrierError::TooMany),
            }
        }

        #[test]
        fn a_stretch_never_includes_the_block_nor_leaves_the_range(
            before in 0i64..40, after in 0i64..40,
        ) {
            let (debut, fin) = (MONDAY - Duration::days(before), MONDAY + Duration::days(after));
            let added = etirement(MONDAY, debut, fin).unwrap();
            prop_assert_eq!(added.len() as i64, before + after);
            prop_assert!(added.iter().all(|d| *d != MONDAY && *d >= debut && *d <= fin));
        }
    }
}
