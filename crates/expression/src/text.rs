//! Text functions that need tables: NormalizeDiacritics, PCase.

use std::collections::HashMap;
use std::sync::LazyLock;

use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Microsoft's NormalizeDiacritics table (the function's documentation):
/// each row lists the characters (some written with combining marks) that
/// become the plain replacement. Characters not in the table are unchanged.
const DIACRITICS: &[(&str, &str)] = &[
    ("ä à â ã å á ą ă ā ā́ ā̀ ā̂ ā̃ ǟ ā̈ ǡ a̱ å̄", "a"),
    ("Ä À Â Ã Å Á Ą Ă Ā Ā́ Ā̀ Ā̂ Ā̃ Ǟ Ā̈ Ǡ A̱ Å̄", "A"),
    ("æ ǣ", "ae"),
    ("Æ Ǣ", "AE"),
    ("ç č ć c̄ c̱", "c"),
    ("Ç Č Ć C̄ C̱", "C"),
    ("ď d̄ ḏ", "d"),
    ("Ď D̄ Ḏ", "D"),
    ("ë è é ê ę ě ė ē ḗ ḕ ē̂ ē̃ ê̄ e̱ ë̄ e̊̄", "e"),
    ("Ë È É Ê Ę Ě Ė Ē Ḗ Ḕ Ē̂ Ē̃ Ê̄ E̱ Ë̄ E̊̄", "E"),
    ("ğ ḡ g̱", "g"),
    ("Ğ Ḡ G̱", "G"),
    ("ï î ì í ı ī ī́ ī̀ ī̂ ī̃ i̱", "i"),
    ("Ï Î Ì Í İ Ī Ī́ Ī̀ Ī̂ Ī̃ I̱", "I"),
    ("ľ ł l̄ ḹ ḻ", "l"),
    ("Ł Ľ L̄ Ḹ Ḻ", "L"),
    ("ñ ń ň n̄ ṉ", "n"),
    ("Ñ Ń Ň N̄ Ṉ", "N"),
    ("ö ò ő õ ô ó ō ṓ ṑ ō̂ ō̃ ȫ ō̈ ǭ ȭ ȱ o̱", "o"),
    ("Ö Ò Ő Õ Ô Ó Ō Ṓ Ṑ Ō̂ Ō̃ Ȫ Ō̈ Ǭ Ȭ Ȱ O̱", "O"),
    ("ø ø̄ œ̄", "oe"),
    ("Ø Ø̄ Œ̄", "OE"),
    ("ř r̄ ṟ ṝ", "r"),
    ("Ř R̄ Ṟ Ṝ", "R"),
    ("ß", "ss"),
    ("š ś ș ş s̄ s̱", "s"),
    ("Š Ś Ș Ş S̄ S̱", "S"),
    ("ť ț t̄ ṯ", "t"),
    ("Ť Ț T̄ Ṯ", "T"),
    ("ü ù û ú ů ű ū ū́ ū̀ ū̂ ū̃ u̇̄ ǖ ṻ ṳ̄ u̱", "u"),
    ("Ü Ù Û Ú Ů Ű Ū Ū́ Ū̀ Ū̂ Ū̃ U̇̄ Ǖ Ṻ Ṳ̄ U̱", "U"),
    ("ÿ ý ȳ ȳ́ ȳ̀ ȳ̃ y̱", "y"),
    ("Ÿ Ý Ȳ Ȳ́ Ȳ̀ Ȳ̃ Y̱", "Y"),
    ("ź ž ż z̄ ẕ", "z"),
    ("Ź Ž Ż Z̄ Ẕ", "Z"),
];

/// Table keyed by the NFD form of each entry, so precomposed and combining
/// spellings of the same letter both match.
static TABLE: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    for (chars, plain) in DIACRITICS {
        for entry in chars.split(' ') {
            m.insert(entry.nfd().collect::<String>(), *plain);
        }
    }
    m
});

/// Longest entry in characters after NFD (base + marks), bounding the cluster walk.
fn is_mark(c: char) -> bool {
    is_combining_mark(c)
}

/// `NormalizeDiacritics`: replaces each letter (with its combining marks) that
/// is in Microsoft's table; anything else is copied unchanged.
pub fn normalize_diacritics(s: &str) -> String {
    if s.is_ascii() {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let mut end = start + c.len_utf8();
        while let Some(&(i, m)) = chars.peek() {
            if is_mark(m) {
                end = i + m.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let cluster = s.get(start..end).unwrap_or_default();
        if cluster.is_ascii() {
            out.push_str(cluster);
            continue;
        }
        let key: String = cluster.nfd().collect();
        match TABLE.get(&key) {
            Some(plain) => out.push_str(plain),
            None => out.push_str(cluster),
        }
    }
    out
}

/// Word separators of .NET `TextInfo.ToTitleCase` (by general category).
fn is_default_separator(c: char) -> bool {
    use GeneralCategory as G;
    matches!(
        get_general_category(c),
        G::SpaceSeparator
            | G::LineSeparator
            | G::ParagraphSeparator
            | G::Control
            | G::Format
            | G::ConnectorPunctuation
            | G::DashPunctuation
            | G::OpenPunctuation
            | G::ClosePunctuation
            | G::InitialPunctuation
            | G::FinalPunctuation
            | G::OtherPunctuation
            | G::MathSymbol
            | G::CurrencySymbol
            | G::ModifierSymbol
            | G::OtherSymbol
    )
}

/// `PCase`: upper-cases the first character of each word and lower-cases the
/// rest. Without `separators`, words are split like .NET `ToTitleCase` (by
/// Unicode category), except that an apostrophe inside a word does not start
/// a new word (`O'NEIL` → `O'neil`, as .NET does); with `separators`, only
/// those characters split words.
pub fn pcase(s: &str, separators: Option<&str>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    let mut prev_letter = false;
    for c in s.chars() {
        let sep = match separators {
            Some(seps) => seps.contains(c),
            None => is_default_separator(c) && !(matches!(c, '\'' | '\u{2019}') && prev_letter),
        };
        if sep {
            out.push(c);
            at_word_start = true;
            prev_letter = false;
        } else if at_word_start {
            out.extend(c.to_uppercase());
            at_word_start = false;
            prev_letter = c.is_alphanumeric();
        } else {
            out.extend(c.to_lowercase());
            prev_letter = c.is_alphanumeric();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diacritics_table() {
        assert_eq!(normalize_diacritics("Zoë"), "Zoe");
        assert_eq!(normalize_diacritics("Ærøskøbing"), "AEroeskoebing");
        assert_eq!(normalize_diacritics("Straße İstanbul Łódź"), "Strasse Istanbul Lodz");
        // decomposed spelling (o + combining diaeresis) matches too
        assert_eq!(normalize_diacritics("Zo\u{65}\u{308}"), "Zoe");
        // multi-mark entries: a + macron + diaeresis, e + ring + macron
        assert_eq!(normalize_diacritics("\u{101}\u{308}|e\u{30a}\u{304}"), "a|e");
        // not in the table: unchanged (Cyrillic, Greek, ǎ, đ)
        assert_eq!(normalize_diacritics("Йошка Ωμέγα ǎ đ"), "Йошка Ωμέγα ǎ đ");
        assert_eq!(normalize_diacritics(""), "");
        assert_eq!(normalize_diacritics("\u{301}x"), "\u{301}x", "a lone mark is kept");
        // every entry of the table maps to ASCII
        for (chars, plain) in DIACRITICS {
            for e in chars.split(' ') {
                assert_eq!(normalize_diacritics(e), *plain, "{e}");
            }
        }
    }

    #[test]
    fn proper_case() {
        assert_eq!(pcase("PABLO GONSALVES (SECOND)", None), "Pablo Gonsalves (Second)");
        assert_eq!(pcase("PINTO-DE'SILVA", Some(" '-")), "Pinto-De'Silva");
        assert_eq!(pcase("GREGORY JAMES", None), "Gregory James");
        assert_eq!(pcase("o'NEIL mc-donald", None), "O'neil Mc-Donald");
        assert_eq!(pcase("élodie ÅSTRÖM", None), "Élodie Åström");
        assert_eq!(pcase("a_b+c", None), "A_B+C");
        assert_eq!(pcase("a b", Some("-")), "A b");
        assert_eq!(pcase("", None), "");
    }
}
