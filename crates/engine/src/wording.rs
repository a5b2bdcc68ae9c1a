//! How counts and sizes read in sentences people see: "1 task", "13 tasks", never
//! "13 task(s)"; "10.6 KB", not "10872 bytes".

/// `n` with the noun in the number it takes: `counted(1, "task", "tasks")` is "1 task".
pub fn counted(n: impl Into<i64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A code word of the data (a status, a resolution, a kind) as a person reads it in a
/// sentence or on a badge: `in_progress` reads "in progress".
pub fn words(code: &str) -> String {
    code.replace('_', " ")
}

/// `text` with its first letter a capital, as a sentence or a label begins.
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A size in bytes as a person reads it, in decimal units as file managers show them:
/// "512 bytes", "10.9 KB", "3.4 MB", "1.2 GB".
pub fn size(bytes: i64) -> String {
    const UNITS: [&str; 3] = ["KB", "MB", "GB"];
    if bytes < 1000 {
        return counted(bytes, "byte", "bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::{counted, size};

    #[test]
    fn sizes_read_in_the_largest_unit_under_a_thousand() {
        assert_eq!(size(1), "1 byte");
        assert_eq!(size(999), "999 bytes");
        assert_eq!(size(10_872), "10.9 KB");
        assert_eq!(size(999_960), "1.0 MB");
        assert_eq!(size(3_400_000), "3.4 MB");
        assert_eq!(size(1_234_000_000), "1.2 GB");
        assert_eq!(size(5_000_000_000_000), "5000.0 GB");
    }

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1, "task", "tasks"), "1 task");
        assert_eq!(counted(0, "task", "tasks"), "0 tasks");
        assert_eq!(counted(13, "child case", "child cases"), "13 child cases");
    }
}
