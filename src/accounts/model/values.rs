//! The value types that parse untrusted input: usernames, passwords (chosen and generated),
//! phone numbers, e-mail addresses.

use std::fmt;

/// A username: 1–150 characters of letters, digits and `@ . + - _` (Django's rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("This field may not be blank.");
        }
        if trimmed.chars().count() > 150 {
            return Err("Ensure this field has no more than 150 characters.");
        }
        if !trimmed.chars().all(|c| c.is_alphanumeric() || "@.+-_".contains(c)) {
            return Err(
                "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
            );
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password a user chose, never printed: `Debug` shows nothing of it.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Applies the password rules (API.md): at least 8 characters, not entirely numeric, not a
    /// common password, not close to the user's own names. Returns every broken rule.
    pub fn parse(raw: &str, user_inputs: &[&str]) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let length = raw.chars().count();
        if length < 8 {
            problems.push("This password is too short. It must contain at least 8 characters.".to_owned());
        }
        if length > 128 {
            problems.push("Ensure this field has no more than 128 characters.".to_owned());
        }
        if !raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit()) {
            problems.push("This password is entirely numeric.".to_owned());
        }
        let lowered = raw.to_lowercase();
        let similar = user_inputs
            .iter()
            .map(|input| input.trim().to_lowercase())
            .any(|input| input.chars().count() >= 3 && (lowered.contains(&input) || input.contains(&lowered)));
        if similar {
            problems.push("The password is too similar to your personal information.".to_owned());
        }
        if problems.is_empty() && length <= 128 {
            // zxcvbn knows the common-password lists and keyboard patterns; score 0 means
            // "guessable in under a thousand tries".
            let estimate = zxcvbn::zxcvbn(raw, user_inputs);
            if estimate.score() == zxcvbn::Score::Zero {
                problems.push("This password is too common.".to_owned());
            }
        }
        if problems.is_empty() { Ok(Self(raw.to_owned())) } else { Err(problems) }
    }

    /// A password that was not chosen under the rules (a login attempt, a generated password).
    pub fn unchecked(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form (`+923001234567`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number written internationally (`+92 300 1234567`) or nationally in the
    /// configured default region, and normalizes it to E.164.
    pub fn parse(raw: &str, default_region: &str) -> Result<Self, &'static str> {
        const INVALID: &str = "Enter a valid phone number (international format, e.g. +923001234567).";
        let trimmed = raw.trim();
        if trimmed.len() > 32 {
            return Err(INVALID);
        }
        let region = default_region.parse::<phonenumber::country::Id>().ok();
        let parsed = phonenumber::parse(region, trimmed).map_err(|_| INVALID)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(INVALID);
        }
        Ok(Self(parsed.format().mode(phonenumber::Mode::E164).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Checks an e-mail address (empty is allowed: e-mail is optional).
pub fn validate_email(raw: &str) -> Result<String, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed.len() > 255 || !email_address::EmailAddress::is_valid(trimmed) {
        return Err("Enter a valid email address.");
    }
    Ok(trimmed.to_owned())
}

/// A generated password: `length` (at least 12) characters with at least one of each class
/// (upper, lower, digit, `!@#$%^&*`), from the thread's CSPRNG.
pub fn generate_password(length: usize) -> Password {
    use rand::{RngExt as _, seq::SliceRandom as _};
    const CLASSES: [&[u8]; 4] = [b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"abcdefghijkmnpqrstuvwxyz", b"23456789", b"!@#$%^&*"];
    let mut rng = rand::rng();
    let all: Vec<u8> = CLASSES.concat();
    let mut chars: Vec<u8> = CLASSES.iter().map(|class| class[rng.random_range(0..class.len())]).collect();
    while chars.len() < length.max(12) {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    Password(chars.into_iter().map(char::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_allow_django_characters_only() {
        assert!(Username::parse("ali.mehmood+1@x_y-z").is_ok());
        assert!(Username::parse("bad name").is_err());
        assert!(Username::parse("   ").is_err());
        assert!(Username::parse(&"a".repeat(151)).is_err());
    }

    #[test]
    fn password_rules_report_each_problem() {
        let problems = Password::parse("1234567", &[]).expect_err("short numeric");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(Password::parse("password", &[]).is_err());
        assert!(Password::parse("qwertyuiop", &[]).is_err());
        assert!(Password::parse("zainab1990x", &["zainab1990"]).is_err());
        assert!(Password::parse("Blue-Heron-Canal-42", &["patient1"]).is_ok());
    }

    #[test]
    fn password_debug_hides_the_secret() {
        let password = Password::unchecked("S3cret!pass");
        assert!(!format!("{password:?}").contains("S3cret"));
    }

    #[test]
    fn generated_passwords_hold_every_class_and_pass_the_rules() {
        for _ in 0..50 {
            let password = generate_password(16);
            let text = password.expose();
            assert_eq!(text.chars().count(), 16);
            assert!(text.chars().any(|c| c.is_ascii_uppercase()));
            assert!(text.chars().any(|c| c.is_ascii_lowercase()));
            assert!(text.chars().any(|c| c.is_ascii_digit()));
            assert!(text.chars().any(|c| "!@#$%^&*".contains(c)));
            assert!(Password::parse(text, &[]).is_ok(), "{text}");
        }
        assert_ne!(generate_password(16).expose(), generate_password(16).expose());
    }

    #[test]
    fn phone_numbers_normalize_to_e164() {
        assert_eq!(PhoneNumber::parse("+92 300 1234567", "PK").expect("valid").as_str(), "+923001234567");
        assert_eq!(PhoneNumber::parse("0300-1234567", "PK").expect("valid").as_str(), "+923001234567");
        assert_eq!(PhoneNumber::parse("+1 (415) 555-2671", "PK").expect("valid").as_str(), "+14155552671");
        assert!(PhoneNumber::parse("12", "PK").is_err());
        assert!(PhoneNumber::parse("not a number", "PK").is_err());
    }

    #[test]
    fn emails_are_optional_but_checked() {
        assert_eq!(validate_email("").expect("blank ok"), "");
        assert!(validate_email("someone@example.com").is_ok());
        assert!(validate_email("nope").is_err());
    }
}
