//! Countries for `src_country`: ISO 3166-1 alpha-2 codes from the English names some
//! products write, and from `src_ip` through the run's `ip_country_file`.
//!
//! The name table is `iso_3166-1.tsv`: alpha-2, name, official name and common name of
//! every entry of Debian's iso-codes 4.15.0 (`/usr/share/iso-codes/json/iso_3166-1.json`,
//! LGPL-2.1+), the list CONTRACT section 7 names. No crate carries these exact names.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;

use crate::error::{Error, Result};

const ISO_3166_1: &str = include_str!("iso_3166-1.tsv");

/// Alpha-2 codes by lower-case name, official name and common name.
#[derive(Debug)]
pub struct Names {
    by_name: HashMap<String, &'static str>,
    codes: HashSet<&'static str>,
}

impl Names {
    pub fn iso_3166_1() -> Names {
        let mut by_name = HashMap::new();
        let mut codes = HashSet::new();
        for line in ISO_3166_1.lines() {
            let mut f = line.split('\t');
            let Some(code) = f.next() else { continue };
            codes.insert(code);
            for name in f.filter(|n| !n.is_empty()) {
                by_name.insert(name.to_lowercase(), code);
            }
        }
        Names { by_name, codes }
    }

    /// The code of a country name (ignoring case), as the contract defines the match.
    pub fn code_of_name(&self, name: &str) -> Option<&'static str> {
        self.by_name.get(&name.to_lowercase()).copied()
    }

    /// A value that may be a code (`FR`, any case) or a name (`France`).
    pub fn code_of(&self, value: &str) -> Option<&'static str> {
        let upper = value.to_ascii_uppercase();
        self.codes
            .get(upper.as_str())
            .copied()
            .or_else(|| self.code_of_name(value))
    }
}

/// `ip_country_file`: networks in CIDR notation with their country; the most specific
/// network holding an address wins.
#[derive(Debug, Default)]
pub struct Networks {
    /// Per prefix length, longest first: network address -> code.
    by_len: Vec<(u8, HashMap<IpAddr, String>)>,
    pub sha256: Option<String>,
    pub bytes: u64,
}

impl Networks {
    /// Reads the CSV `network,country` (a header row, then one network a line).
    pub fn load(path: &Path, names: &Names) -> Result<Networks> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::input(&shown, format!("ip_country_file cannot be read: {e}")))?;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes.as_slice());
        let header = rdr
            .headers()
            .map_err(|e| Error::input(&shown, format!("not a CSV file: {e}")))?
            .clone();
        let col = |n: &str| header.iter().position(|h| h.trim() == n);
        let (Some(ni), Some(ci)) = (col("network"), col("country")) else {
            return Err(Error::input(
                &shown,
                "ip_country_file needs the columns network and country",
            ));
        };
        let mut lens: HashMap<u8, HashMap<IpAddr, String>> = HashMap::new();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec
                .map_err(|e| Error::input(&shown, format!("ip_country_file, line {line}: {e}")))?;
            let net = rec.get(ni).unwrap_or_default().trim();
            let country = rec.get(ci).unwrap_or_default().trim();
            let net: IpNet = net.parse().map_err(|_| {
                Error::input(
                    &shown,
                    format!(
                        "ip_country_file, line {line}: {net:?} is not a network in CIDR notation"
                    ),
                )
            })?;
            let Some(code) = names.code_of(country) else {
                return Err(Error::input(
                    &shown,
                    format!("ip_country_file, line {line}: {country:?} is not an ISO 3166-1 country (a code or an iso-codes name)"),
                ));
            };
            lens.entry(net.prefix_len())
                .or_default()
                .insert(net.network(), code.to_string());
        }
        let mut by_len: Vec<_> = lens.into_iter().collect();
        by_len.sort_by_key(|b| std::cmp::Reverse(b.0));
        Ok(Networks {
            by_len,
            sha256: Some(crate::hash::sha256_hex(&bytes)),
            bytes: bytes.len() as u64,
        })
    }

    pub fn country_of(&self, ip: &str) -> Option<&str> {
        let ip: IpAddr = ip.parse().ok()?;
        self.by_len.iter().find_map(|(len, nets)| {
            let net = IpNet::new(ip, *len).ok()?.trunc();
            nets.get(&net.network()).map(String::as_str)
        })
    }
}

/// Both tables, and the values that matched neither (said once in the log).
#[derive(Debug)]
pub struct Countries {
    pub names: Names,
    pub networks: Networks,
}

impl Countries {
    pub fn new(ip_country_file: Option<&Path>) -> Result<Countries> {
        let names = Names::iso_3166_1();
        let networks = match ip_country_file {
            Some(p) => Networks::load(p, &names)?,
            None => Networks::default(),
        };
        Ok(Countries { names, networks })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_networks() {
        let n = Names::iso_3166_1();
        assert_eq!(n.code_of_name("united states"), Some("US"));
        assert_eq!(n.code_of_name("Viet Nam"), Some("VN"));
        assert_eq!(n.code_of_name("Vietnam"), Some("VN"));
        assert_eq!(n.code_of_name("Korea, Republic of"), Some("KR"));
        assert_eq!(n.code_of_name("Taiwan"), Some("TW"));
        assert_eq!(n.code_of_name("Atlantis"), None);
        assert_eq!(n.code_of("fr"), Some("FR"));
    }
}
