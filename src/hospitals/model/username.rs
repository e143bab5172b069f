//! Generated doctor usernames: `doctorname_hospitalname`, then `1`, `2`, … on collision.

/// Lower-case ASCII letters and digits only (`"Ali Mehmood"` → `"alimehmood"`), accents folded
/// first as Django's `slugify` does (`"Zoë"` → `"zoe"`).
pub fn slug(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    text.nfkd().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// The base of a generated doctor username: `doctorname_hospitalname`, the hospital part cut
/// to 20 characters (the original's rule). Collisions append `1`, `2`, … to the whole.
pub fn doctor_username_base(first_name: &str, last_name: &str, hospital_name: &str) -> String {
    let doctor = slug(&format!("{first_name}{last_name}"));
    let doctor = if doctor.is_empty() { "doctor".to_owned() } else { doctor };
    let hospital: String = slug(hospital_name).chars().take(20).collect();
    let hospital = if hospital.is_empty() { "hospital".to_owned() } else { hospital };
    format!("{doctor}_{hospital}")
}

/// The lowest free username on `base` (`base`, `base1`, `base2`, …) among `taken`.
pub fn next_free_username(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_owned();
    }
    let used: std::collections::HashSet<u64> =
        taken.iter().filter_map(|t| t.strip_prefix(base)).filter_map(|rest| rest.parse().ok()).collect();
    let n = (1..).find(|n| !used.contains(n)).unwrap_or(1);
    format!("{base}{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_original_rule() {
        assert_eq!(doctor_username_base("Ali", "Mehmood", "Jinnah Hospital"), "alimehmood_jinnahhospital");
        assert_eq!(
            doctor_username_base("Zoë", "O'Brien", "Shaukat Khanum Memorial Cancer Hospital"),
            "zoeobrien_shaukatkhanummemoria"
        );
        assert_eq!(doctor_username_base("", "", "!!"), "doctor_hospital");
    }

    #[test]
    fn the_next_free_username_fills_the_lowest_gap() {
        let base = "alimehmood_jinnahhospital";
        assert_eq!(next_free_username(base, &[]), base);
        assert_eq!(next_free_username(base, &[base.into()]), format!("{base}1"));
        assert_eq!(
            next_free_username(base, &[base.into(), format!("{base}1"), format!("{base}3")]),
            format!("{base}2")
        );
        assert_eq!(next_free_username(base, &[format!("{base}x")]), base);
    }
}
