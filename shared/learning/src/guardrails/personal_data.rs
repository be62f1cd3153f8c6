//! Detecting email addresses and phone numbers in text that would reach learners.
//!
//! A document may carry contact details (an author's address, a school office number); they
//! must not be copied into questions, cards or games. Detection is by shape, errs towards
//! flagging, and never fails. Dates (`2024-05-06`), years and ordinary numbers are not phone
//! numbers.

/// Whether text contains something shaped like an email address or a phone number.
pub(crate) fn contains_personal_data(text: &str) -> bool {
    contains_email(text) || contains_phone_number(text)
}

fn contains_email(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'@')
        .any(|(at, _)| {
            let local = bytes[..at]
                .iter()
                .rev()
                .take_while(|byte| byte.is_ascii_alphanumeric() || b"._%+-".contains(byte))
                .count();
            let domain: Vec<u8> = bytes[at + 1..]
                .iter()
                .take_while(|byte| byte.is_ascii_alphanumeric() || b".-".contains(byte))
                .copied()
                .collect();
            let domain = String::from_utf8_lossy(&domain);
            let domain = domain.trim_end_matches(['.', '-']);
            let top_level = domain
                .rsplit_once('.')
                .map(|(_, tld)| tld)
                .unwrap_or_default();
            local > 0 && top_level.len() >= 2 && top_level.chars().all(|c| c.is_ascii_alphabetic())
        })
}

fn contains_phone_number(text: &str) -> bool {
    let characters: Vec<char> = text.chars().collect();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        let at_boundary = index == 0 || !characters[index - 1].is_alphanumeric();
        let can_start = character.is_ascii_digit() || character == '+' || character == '(';
        if !(at_boundary && can_start) {
            index += 1;
            continue;
        }
        let end = candidate_end(&characters, index);
        let candidate: String = characters[index..end].iter().collect();
        let followed_by_letter = characters.get(end).is_some_and(|c| c.is_alphabetic());
        if !followed_by_letter && is_phone_number(&candidate) {
            return true;
        }
        index = end.max(index + 1);
    }
    false
}

/// End of a run of digits and phone separators starting at `start`.
fn candidate_end(characters: &[char], start: usize) -> usize {
    let mut end = start;
    while end < characters.len() {
        let character = characters[end];
        let next_is_digit = characters
            .get(end + 1)
            .is_some_and(|c| c.is_ascii_digit() || *c == '(');
        let fits = character.is_ascii_digit()
            || matches!(character, '(' | ')' | '+')
            || (matches!(character, '-' | '.' | ' ' | '\u{a0}') && next_is_digit);
        if !fits {
            break;
        }
        end += 1;
    }
    end
}

fn is_phone_number(candidate: &str) -> bool {
    let groups: Vec<&str> = candidate
        .split(|c: char| !c.is_ascii_digit())
        .filter(|group| !group.is_empty())
        .collect();
    let digits: usize = groups.iter().map(|group| group.len()).sum();
    if !(7..=15).contains(&digits) {
        return false;
    }

    let international = candidate.starts_with('+') && groups.len() >= 2;
    let area_code = candidate.contains('(') && candidate.contains(')') && groups.len() >= 3;
    let grouped = groups.len() >= 3
        && groups
            .iter()
            .skip(1)
            .all(|group| (2..=4).contains(&group.len()))
        && groups.first().is_some_and(|group| group.len() <= 4);
    let iso_date =
        groups.len() == 3 && groups[0].len() == 4 && groups[1].len() == 2 && groups[2].len() == 2;
    let years = groups
        .iter()
        .all(|group| group.len() == 4 && (group.starts_with("19") || group.starts_with("20")));
    (international || area_code || grouped) && !iso_date && !years
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_found() {
        for text in [
            "Write to biology.dept@example.org for help.",
            "contact: a+b@school-district.k12.us",
        ] {
            assert!(contains_personal_data(text), "{text}");
        }
    }

    #[test]
    fn at_signs_that_are_not_addresses_are_ignored() {
        for text in ["Meet @ noon", "user@localhost", "price @ 5.00"] {
            assert!(!contains_email(text), "{text}");
        }
    }

    #[test]
    fn phone_numbers_in_common_formats_are_found() {
        for text in [
            "Call 555-123-4567 today.",
            "Office: (555) 123 4567",
            "Ring +44 20 7946 0958.",
            "Phone 020 7946 0958",
            "Dial 1-800-555-0199.",
        ] {
            assert!(contains_personal_data(text), "{text}");
        }
    }

    #[test]
    fn dates_years_quantities_and_formulas_are_not_phone_numbers() {
        for text in [
            "Published 2024-05-06 by the school.",
            "From 1990 to 2020 yields rose.",
            "6 CO2 + 6 H2O gives C6H12O6 + 6 O2.",
            "About 1,000,000 species exist.",
            "Light travels 299 792 km per second.",
            "Pages 12-14 explain it.",
            "The years 1990 2000 2010 were studied.",
        ] {
            assert!(!contains_personal_data(text), "{text}");
        }
    }
}
