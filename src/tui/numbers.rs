//! Numbers as people read them: counts with thousands separators, byte sizes, durations.
//!
//! Pure formatting with no dependency on the rest of the UI, so both the display-text
//! function ([`text`](super::text)) and the message summaries ([`display`](super::display))
//! can use it without importing each other.

/// A byte count for people, in decimal units like the rest of the UI:
/// `812 B`, `230 kB`, `1.2 MB` (one decimal below ten, none above).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 999.5 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let name = UNITS.get(unit).copied().unwrap_or("TB");
    if unit == 0 {
        format!("{bytes} B")
    } else if value < 9.95 {
        format!("{value:.1} {name}")
    } else {
        format!("{value:.0} {name}")
    }
}

/// A duration in seconds as a clock: `0:31`, `12:05`, `1:02:03`.
pub fn clock_duration(seconds: u32) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A count with thousands separators: `1,250`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(230_000), "230 kB");
        assert_eq!(human_size(1_234_567), "1.2 MB");
        assert_eq!(human_size(999_999), "1.0 MB");
        assert_eq!(clock_duration(31), "0:31");
        assert_eq!(clock_duration(3723), "1:02:03");
        assert_eq!(thousands(1250), "1,250");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }
}
