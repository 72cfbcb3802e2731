//! Synthetic users for the demo and the benchmarks: deterministic for a given seed, with
//! realistic attribute shapes (names, departments, locations, managers).
use std::io::Write;

const GIVEN: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "John",
    "Katherine",
    "Donald",
    "Sophie",
    "Niklaus",
    "Adele",
    "Bjarne",
    "Jean",
    "Leslie",
    "Lynn",
    "Guido",
    "Anita",
    "Andrés",
    "Zoë",
    "Søren",
    "Chloé",
    "Jürgen",
];
const SURNAMES: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Backus",
    "Johnson",
    "Knuth",
    "Wilson",
    "Wirth",
    "Goldberg",
    "Stroustrup",
    "Sammet",
    "Lamport",
    "Conway",
    "van Rossum",
    "Borg",
    "Núñez",
    "Öberg",
    "Kjær",
    "Müller",
    "O'Brien",
];
pub(crate) const DEPARTMENTS: &[&str] = &["Sales", "Engineering", "Finance", "Marketing", "Legal", "Operations", "Research", "Support"];
const TITLES: &[&str] = &["Engineer", "Analyst", "Manager", "Director", "Consultant", "Specialist", "Architect", "Associate"];
const PLACES: &[(&str, &str, &str, &str)] = &[
    ("Seattle", "WA", "United States", "US"),
    ("Oslo", "Oslo", "Norway", "NO"),
    ("Berlin", "Berlin", "Germany", "DE"),
    ("Lyon", "Auvergne-Rhône-Alpes", "France", "FR"),
    ("Toronto", "ON", "Canada", "CA"),
    ("Osaka", "Osaka", "Japan", "JP"),
];
const LANGS: &[&str] = &["en-US", "nb-NO", "de-DE", "fr-FR", "en-CA", "ja-JP"];

/// The CSV header the generator writes; every column is a user attribute.
pub const CSV_HEADER: &[&str] = &[
    "userPrincipalName",
    "mail",
    "displayName",
    "givenName",
    "surname",
    "mailNickname",
    "accountEnabled",
    "department",
    "jobTitle",
    "companyName",
    "employeeId",
    "officeLocation",
    "city",
    "state",
    "country",
    "usageLocation",
    "preferredLanguage",
    "telephoneNumber",
    "manager",
];

/// One generated user, as column values in [`CSV_HEADER`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedUser {
    pub values: Vec<String>,
}

/// A small, fast, deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or_default()
    }
}

fn ascii_fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'á' | 'à' | 'â' | 'ä' => Some('a'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'í' | 'ï' => Some('i'),
            'ó' | 'ö' | 'ø' | 'ô' => Some('o'),
            'ú' | 'ü' => Some('u'),
            'ñ' => Some('n'),
            'æ' => Some('e'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The `n`th user (0-based) of a tenant whose domain is `domain`, without a manager.
pub fn user(rng: &mut Rng, n: usize, domain: &str, company: &str) -> GeneratedUser {
    let given = rng.pick(GIVEN);
    let surname = rng.pick(SURNAMES);
    let nick = format!("{}.{}{}", ascii_fold(given), ascii_fold(surname), n);
    let upn = format!("{nick}@{domain}");
    let (city, state, country, iso) = PLACES.get(rng.below(PLACES.len())).copied().unwrap_or(("Seattle", "WA", "United States", "US"));
    GeneratedUser {
        values: vec![
            upn.clone(),
            upn,
            format!("{given} {surname}"),
            given.to_owned(),
            surname.to_owned(),
            nick,
            if rng.below(50) == 0 { "false".into() } else { "true".into() },
            rng.pick(DEPARTMENTS).to_owned(),
            rng.pick(TITLES).to_owned(),
            company.to_owned(),
            format!("E{n:07}"),
            format!("{city} {}", 1 + rng.below(9)),
            city.to_owned(),
            state.to_owned(),
            country.to_owned(),
            iso.to_owned(),
            rng.pick(LANGS).to_owned(),
            format!("+1 555 {:04}", rng.below(10_000)),
            // The manager column is filled in by `users`.
            String::new(),
        ],
    }
}

/// Generates `count` users of `domain`. With `managers`, user `n` (not a multiple of
/// ten) reports to user `n - n % 10`, named by UPN.
pub fn users(seed: u64, count: usize, domain: &str, company: &str, managers: bool) -> impl Iterator<Item = GeneratedUser> {
    let domain = domain.to_owned();
    let company = company.to_owned();
    let mut rng = Rng::new(seed);
    let mut last_manager = String::new();
    (0..count).map(move |n| {
        let mut u = user(&mut rng, n, &domain, &company);
        if !managers {
            // Leave the manager column empty.
        } else if n % 10 == 0 {
            last_manager = u.values.first().cloned().unwrap_or_default();
        } else if let Some(m) = u.values.last_mut() {
            m.clone_from(&last_manager);
        }
        u
    })
}

/// Writes users as CSV with a header row.
pub fn write_csv(out: impl Write, users: impl Iterator<Item = GeneratedUser>) -> std::io::Result<u64> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_HEADER).map_err(std::io::Error::other)?;
    let mut n = 0;
    for u in users {
        w.write_record(&u.values).map_err(std::io::Error::other)?;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_well_formed() {
        let a: Vec<_> = users(7, 25, "contoso.example", "Contoso", true).collect();
        let b: Vec<_> = users(7, 25, "contoso.example", "Contoso", true).collect();
        assert_eq!(a, b);
        assert_eq!(a[0].values.len(), CSV_HEADER.len());
        assert_eq!(a[0].values[18], "");
        assert_eq!(a[3].values[18], a[0].values[0]);
        assert_eq!(a[13].values[18], a[10].values[0]);
        for u in &a {
            tenantsync_domain::Upn::parse(&u.values[0]).unwrap();
        }
    }
}
