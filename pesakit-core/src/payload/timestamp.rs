//! Daraja timestamps: wall-clock East Africa Time with calendar validation.

use std::fmt;
use std::str::FromStr;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// East Africa Time, UTC+03:00, the zone of every Daraja timestamp.
///
/// ```
/// assert_eq!(pesakit::EAT.whole_hours(), 3);
/// ```
// Evaluated at compile time, so the `panic!` can only ever fail the build.
pub const EAT: UtcOffset = match UtcOffset::from_hms(3, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("UTC+03:00 is a valid offset"),
};

/// A real calendar instant from a Daraja timestamp, in East Africa Time.
///
/// Daraja writes times without a zone in one of two layouts:
/// `yyyyMMddHHmmss` (STK `TransactionDate`, C2B `TransTime`, result times)
/// and `dd.MM.yyyy HH:mm:ss` (B2C `TransactionCompletedDateTime`). Both are
/// read as UTC+03:00; the layout is remembered so [`original`](Self::original)
/// gives back the text Daraja sent.
///
/// ```
/// use pesakit::DarajaTime;
///
/// let paid: DarajaTime = "20191219102115".parse()?;
/// assert_eq!(paid.to_string(), "2019-12-19T10:21:15+03:00");
/// assert_eq!(paid.unix_timestamp(), 1_576_740_075);
/// assert_eq!(paid.original(), "20191219102115");
///
/// let b2c: DarajaTime = "06.07.2024 22:48:52".parse()?;
/// assert_eq!(b2c.original(), "06.07.2024 22:48:52");
///
/// assert!("20230230120000".parse::<DarajaTime>().is_err()); // 30 February
/// # Ok::<(), pesakit::TimestampError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DarajaTime {
    local: PrimitiveDateTime,
    layout: TimestampLayout,
}

/// The text layout a [`DarajaTime`] arrived in.
///
/// ```
/// use pesakit::{DarajaTime, TimestampLayout};
///
/// let time: DarajaTime = "17.07.2017 10:54:57".parse()?;
/// assert_eq!(time.layout(), TimestampLayout::Dotted);
/// # Ok::<(), pesakit::TimestampError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimestampLayout {
    /// `yyyyMMddHHmmss`, exactly 14 ASCII digits.
    Compact,
    /// `dd.MM.yyyy HH:mm:ss`.
    Dotted,
}

/// Why a text is not a Daraja timestamp.
///
/// ```
/// use pesakit::{DarajaTime, TimestampError};
///
/// assert_eq!("2019121910211".parse::<DarajaTime>(), Err(TimestampError::Layout));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimestampError {
    /// Neither exactly 14 digits nor `dd.MM.yyyy HH:mm:ss`.
    Layout,
    /// The digits name no real date or time (month 13, 31 April, 24:00).
    NotACalendarInstant,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Layout => "expected exactly 14 digits `yyyyMMddHHmmss` or `dd.MM.yyyy HH:mm:ss`",
            Self::NotACalendarInstant => "the digits do not name a real calendar date and time",
        })
    }
}

impl std::error::Error for TimestampError {}

impl DarajaTime {
    /// The current second in East Africa Time, in the 14-digit layout.
    ///
    /// ```
    /// let now = pesakit::DarajaTime::now();
    /// assert_eq!(now.original().len(), 14);
    /// ```
    pub fn now() -> Self {
        Self::from_offset_date_time(OffsetDateTime::now_utc())
    }

    /// `instant` in East Africa Time, to the second, in the 14-digit layout.
    ///
    /// ```
    /// use pesakit::DarajaTime;
    /// let instant = time::OffsetDateTime::from_unix_timestamp(1_576_740_075).unwrap();
    /// assert_eq!(DarajaTime::from_offset_date_time(instant).original(), "20191219102115");
    /// ```
    pub fn from_offset_date_time(instant: OffsetDateTime) -> Self {
        let local = instant.to_offset(EAT);
        let clock = local.time();
        let whole_second = Time::from_hms(clock.hour(), clock.minute(), clock.second()).unwrap_or(clock);
        Self { local: PrimitiveDateTime::new(local.date(), whole_second), layout: TimestampLayout::Compact }
    }

    /// The same instant written in `layout`.
    ///
    /// ```
    /// use pesakit::{DarajaTime, TimestampLayout};
    /// let time = DarajaTime::parse_compact("20240706224852")?;
    /// assert_eq!(time.with_layout(TimestampLayout::Dotted).original(), "06.07.2024 22:48:52");
    /// # Ok::<(), pesakit::TimestampError>(())
    /// ```
    pub fn with_layout(self, layout: TimestampLayout) -> Self {
        Self { layout, ..self }
    }

    /// Parses `yyyyMMddHHmmss` (exactly 14 ASCII digits).
    ///
    /// ```
    /// use pesakit::DarajaTime;
    /// assert!(DarajaTime::parse_compact("20240229235959").is_ok()); // leap day
    /// assert!(DarajaTime::parse_compact("20230229235959").is_err());
    /// ```
    pub fn parse_compact(text: &str) -> Result<Self, TimestampError> {
        let digits = text.as_bytes();
        if digits.len() != 14 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(TimestampError::Layout);
        }
        let field = |from: usize, to: usize| number(&digits[from..to]);
        let local = build(field(0, 4), field(4, 6), field(6, 8), field(8, 10), field(10, 12), field(12, 14))?;
        Ok(Self { local, layout: TimestampLayout::Compact })
    }

    /// Parses `dd.MM.yyyy HH:mm:ss`, the layout of B2C completion times.
    ///
    /// ```
    /// use pesakit::DarajaTime;
    /// assert!(DarajaTime::parse_dotted("19.12.2019 11:45:50").is_ok());
    /// assert!(DarajaTime::parse_dotted("2019-12-19 11:45:50").is_err());
    /// ```
    pub fn parse_dotted(text: &str) -> Result<Self, TimestampError> {
        let bytes = text.as_bytes();
        let separators_ok = bytes.len() == 19
            && [(2, b'.'), (5, b'.'), (10, b' '), (13, b':'), (16, b':')]
                .iter()
                .all(|&(at, separator)| bytes[at] == separator);
        let digit_spans = [(0, 2), (3, 5), (6, 10), (11, 13), (14, 16), (17, 19)];
        if !separators_ok || !digit_spans.iter().all(|&(from, to)| bytes[from..to].iter().all(u8::is_ascii_digit)) {
            return Err(TimestampError::Layout);
        }
        let field = |(from, to): (usize, usize)| number(&bytes[from..to]);
        let [day, month, year, hour, minute, second] = digit_spans.map(field);
        let local = build(year, month, day, hour, minute, second)?;
        Ok(Self { local, layout: TimestampLayout::Dotted })
    }

    /// The instant with its +03:00 offset.
    pub fn to_offset_date_time(self) -> OffsetDateTime {
        self.local.assume_offset(EAT)
    }

    /// The instant in UTC, for storage.
    ///
    /// ```
    /// use pesakit::DarajaTime;
    /// let time = DarajaTime::parse_compact("20191219102115")?;
    /// assert_eq!(time.to_utc().hour(), 7);
    /// # Ok::<(), pesakit::TimestampError>(())
    /// ```
    pub fn to_utc(self) -> OffsetDateTime {
        self.to_offset_date_time().to_offset(UtcOffset::UTC)
    }

    /// Seconds since the Unix epoch.
    pub fn unix_timestamp(self) -> i64 {
        self.to_offset_date_time().unix_timestamp()
    }

    /// The wall-clock date and time in Nairobi, without an offset.
    pub fn local(self) -> PrimitiveDateTime {
        self.local
    }

    /// The layout the timestamp arrived in.
    pub fn layout(self) -> TimestampLayout {
        self.layout
    }

    /// The timestamp written back in the layout Daraja used.
    pub fn original(self) -> String {
        let (date, clock) = (self.local.date(), self.local.time());
        let (year, month, day) = (date.year(), u8::from(date.month()), date.day());
        let (hour, minute, second) = (clock.hour(), clock.minute(), clock.second());
        match self.layout {
            TimestampLayout::Compact => {
                format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}")
            }
            TimestampLayout::Dotted => {
                format!("{day:02}.{month:02}.{year:04} {hour:02}:{minute:02}:{second:02}")
            }
        }
    }
}

impl FromStr for DarajaTime {
    type Err = TimestampError;

    /// Accepts either layout, told apart by shape.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.contains('.') { Self::parse_dotted(text) } else { Self::parse_compact(text) }
    }
}

impl PartialOrd for DarajaTime {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DarajaTime {
    /// Orders by instant; the layout only breaks ties.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.local, self.layout as u8).cmp(&(other.local, other.layout as u8))
    }
}

impl fmt::Display for DarajaTime {
    /// RFC 3339 with the +03:00 offset: `2019-12-19T10:21:15+03:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (date, clock) = (self.local.date(), self.local.time());
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+03:00",
            date.year(),
            u8::from(date.month()),
            date.day(),
            clock.hour(),
            clock.minute(),
            clock.second()
        )
    }
}

/// Reads at most four ASCII digits already checked by the caller.
fn number(digits: &[u8]) -> u16 {
    digits.iter().fold(0, |value, digit| value * 10 + u16::from(digit - b'0'))
}

fn build(
    year: u16,
    month: u16,
    day: u16,
    hour: u16,
    minute: u16,
    second: u16,
) -> Result<PrimitiveDateTime, TimestampError> {
    let small = |value: u16| u8::try_from(value).map_err(|_| TimestampError::NotACalendarInstant);
    let month = Month::try_from(small(month)?).map_err(|_| TimestampError::NotACalendarInstant)?;
    let date = Date::from_calendar_date(i32::from(year), month, small(day)?)
        .map_err(|_| TimestampError::NotACalendarInstant)?;
    let clock = Time::from_hms(small(hour)?, small(minute)?, small(second)?)
        .map_err(|_| TimestampError::NotACalendarInstant)?;
    Ok(PrimitiveDateTime::new(date, clock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dotted_layout_needs_its_separators_and_length() {
        for text in [
            "06-07-2024 22:48:52",
            "06.07.2024T22:48:52",
            "06.07.2024 22.48.52",
            "0a.07.2024 22:48:52",
            "06.07.2024 22:48:5 ",
            "06.07.2024",
            "",
            "06.07.2024 22:48:521",
        ] {
            assert_eq!(DarajaTime::parse_dotted(text), Err(TimestampError::Layout), "{text:?}");
        }
        let time = DarajaTime::parse_dotted("06.07.2024 22:48:52").expect("dotted");
        assert_eq!((time.layout(), time.original()), (TimestampLayout::Dotted, "06.07.2024 22:48:52".to_owned()));
    }

    #[test]
    fn times_compare_by_instant() {
        let earlier = DarajaTime::parse_compact("20240706224851").expect("compact");
        let later = DarajaTime::parse_dotted("06.07.2024 22:48:52").expect("dotted");
        assert!(earlier < later);
        assert_eq!(earlier.partial_cmp(&later), Some(std::cmp::Ordering::Less));
        assert_eq!(later.partial_cmp(&earlier), Some(std::cmp::Ordering::Greater));
    }

    #[test]
    fn with_layout_rewrites_the_same_instant() {
        let compact = DarajaTime::parse_compact("20240706224852").expect("compact");
        let dotted = compact.with_layout(TimestampLayout::Dotted);
        assert_eq!((dotted.layout(), dotted.original()), (TimestampLayout::Dotted, "06.07.2024 22:48:52".to_owned()));
        assert_eq!(dotted.to_utc(), compact.to_utc());
    }

    #[test]
    fn rejects_impossible_instants() {
        for text in
            ["20231301000000", "20230431000000", "20230101240000", "20230101006000", "20230101000060", "20230100000000"]
        {
            assert_eq!(DarajaTime::parse_compact(text), Err(TimestampError::NotACalendarInstant), "{text}");
        }
    }

    #[test]
    fn rejects_wrong_digit_counts_and_signs() {
        for text in ["", "2023010100000", "202301010000000", "+2023010100000", "2023010100000a", "20230101 00000"] {
            assert_eq!(DarajaTime::parse_compact(text), Err(TimestampError::Layout), "{text:?}");
        }
    }

    #[test]
    fn utc_is_three_hours_behind() {
        let time = DarajaTime::parse_compact("20240101020000").expect("valid");
        let utc = time.to_utc();
        assert_eq!((utc.year(), utc.day(), utc.hour()), (2023, 31, 23));
    }
}
