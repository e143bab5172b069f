//! What of a user's own words may reach an SMS. A name a user edits themselves (a doctor's) is
//! shown to a patient in a message that comes from CareHub: anything but a name in it (digits,
//! `:` and `/`, line breaks, direction overrides, emoji) could make the message say what CareHub
//! did not write, a number to call or a link to open.

/// The most characters of a name that reach an SMS.
pub const NAME_MAX_CHARS: usize = 40;

/// `raw` as it may appear in an SMS: only its letters (Unicode's Alphabetic property), spaces and
/// `.'-` (a dot only at the end of a word), each run of whitespace as one space, trimmed, and at
/// most [`NAME_MAX_CHARS`] characters of that. Empty when nothing is left.
pub fn sms_name(raw: &str) -> String {
    let mut kept = String::new();
    let mut pending_space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            pending_space = !kept.is_empty();
        } else if c.is_alphabetic() || matches!(c, '.' | '\'' | '-') {
            if pending_space {
                kept.push(' ');
                pending_space = false;
            }
            kept.push(c);
        }
    }
    // A dot between letters (`evil.example`) is how a phone recognises a link: a dot stays only
    // where a name has one, at the end of a word (`Jr.`, `M. Ali`).
    let chars: Vec<char> = kept.chars().collect();
    let kept: String = chars
        .iter()
        .enumerate()
        .filter(|&(i, &c)| c != '.' || chars.get(i + 1).is_none_or(|next| *next == ' '))
        .map(|(_, &c)| c)
        .collect();
    let cut: String = kept.chars().take(NAME_MAX_CHARS).collect();
    cut.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_keeps_its_letters_spaces_and_punctuation_of_names() {
        assert_eq!(sms_name("Ali Mehmood"), "Ali Mehmood");
        assert_eq!(sms_name("  Mary-Jane   O'Neil Jr. "), "Mary-Jane O'Neil Jr.");
        assert_eq!(sms_name("Zoë Ñúñez"), "Zoë Ñúñez");
        assert_eq!(sms_name("علی"), "علی", "letters of any script");
    }

    #[test]
    fn digits_links_line_breaks_and_controls_never_reach_an_sms() {
        assert_eq!(sms_name("Ali. Call 0300-1234567 now"), "Ali. Call - now");
        assert_eq!(sms_name("Ali https://evil.example/x?y=1"), "Ali httpsevilexamplexy");
        assert_eq!(sms_name("Visit carehub-help.com"), "Visit carehub-helpcom", "no dot inside a word");
        assert_eq!(sms_name("M. Ali Jr."), "M. Ali Jr.");
        assert_eq!(sms_name("Ali\n\nCareHub: your code is 123456"), "Ali CareHub your code is");
        assert_eq!(sms_name("Ali\u{202e}dooM\u{200b}\t\u{7}"), "AlidooM");
        assert_eq!(sms_name("Ali 🙂 <b>&amp;"), "Ali bamp");
        assert_eq!(sms_name("12345 !!"), "");
    }

    #[test]
    fn at_most_forty_characters_of_a_name_reach_an_sms() {
        assert_eq!(sms_name(&"Abcdefghij ".repeat(10)), "Abcdefghij Abcdefghij Abcdefghij Abcdefg");
        assert_eq!(
            sms_name(&"Abcdefghi ".repeat(10)),
            "Abcdefghi Abcdefghi Abcdefghi Abcdefghi",
            "no space left at the cut"
        );
        assert_eq!(sms_name(&"é".repeat(60)).chars().count(), NAME_MAX_CHARS, "characters, not bytes");
        assert_eq!(sms_name(&"A".repeat(41)), "A".repeat(40));
    }
}
