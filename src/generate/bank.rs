//! `generate --scenario bank`: a retail bank's year of data with planted
//! life events, for the decision engine (`journeymap decide`).
//!
//! Three files and a truth file, all keyed by `customer_id`:
//! - the app events (`--out`, CSV): `customer_id,timestamp,event,product`:
//!   logins and balance views, mortgage-calculator and branch-locator
//!   visits, and `product_opened` with the product;
//! - `<stem>.transactions.csv`: `customer_id,timestamp,amount,category,merchant`
//!   (amounts positive, two decimals; a salary is a `salary` transaction);
//! - `<stem>.customers.csv`: one row per customer: segment, region, age,
//!   vulnerable, has_mortgage and consent flags (`yes`/`no`) per channel
//!   (email, sms, app) and purpose (marketing, credit);
//! - `<stem>.bank-truth.csv`: each planted life event with its date, and
//!   the product it led to (if any).
//!
//! The year runs from [`START`] for [`DAYS`] days. Every customer has a
//! monthly salary (a level drawn per customer, ±2 % a month; 5 % get one
//! bonus month of 1.3-2×), groceries, restaurants, transport, quarterly
//! utilities and a little home improvement (1.5 purchases a year, median
//! 40). 8 % are parents already (baby and childcare spending all year).
//! Noise that a naive trigger would mistake for a life event: 0.3 % make a
//! single large home-improvement purchase, 0.5 % of non-parents buy one
//! baby present.
//!
//! Planted (exclusive, dated uniformly in days [`PLANT_FROM`]..[`PLANT_TO`]):
//! - `home_purchase` (4 %): 5-8 home-improvement purchases (median 350)
//!   within 40 days; 70 % of them first use the mortgage calculator twice
//!   in a few days and then the branch locator (`mortgage_research`);
//!   half open a mortgage 10-60 days later.
//! - `new_child` (3 % of non-parents): baby spending from the date (two
//!   purchases in its first 10 days, then about four a month) and childcare
//!   from 90 days on; 40 % open a child savings account 14-75 days later.
//! - `salary_rise` (5 %): every salary from the date on is 15-40 % higher;
//!   30 % open an investment account 20-80 days later.
//!
//! Without a life event a customer still opens a product at a small base
//! rate (mortgage 0.5 %, child savings 0.3 %, investment 1 % a year).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use rayon::prelude::*;

use super::format::{days_from_civil, push_timestamp, push_uint};
use crate::rng::Rng;

const DAY: i64 = 86_400_000;
/// 2025-07-01T00:00Z.
pub const START: i64 = days_from_civil(2025, 7, 1) * DAY;
pub const DAYS: i64 = 365;
pub const PLANT_FROM: i64 = 190;
pub const PLANT_TO: i64 = 300;

pub const CATEGORIES: [&str; 10] = [
    "salary",
    "groceries",
    "restaurants",
    "transport",
    "utilities",
    "home_improvement",
    "baby",
    "childcare",
    "travel",
    "electronics",
];
const SALARY: u8 = 0;
const GROCERIES: u8 = 1;
const RESTAURANTS: u8 = 2;
const TRANSPORT: u8 = 3;
const UTILITIES: u8 = 4;
const HOME: u8 = 5;
const BABY: u8 = 6;
const CHILDCARE: u8 = 7;
const TRAVEL: u8 = 8;
const ELECTRONICS: u8 = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifeEvent {
    HomePurchase,
    NewChild,
    SalaryRise,
}

impl LifeEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            LifeEvent::HomePurchase => "home_purchase",
            LifeEvent::NewChild => "new_child",
            LifeEvent::SalaryRise => "salary_rise",
        }
    }
}

/// (planted name, date, product opened and when).
type Planted = (&'static str, i64, Option<(&'static str, i64)>);
/// Per chunk of customers: events, transactions, customers, truth bytes.
type Chunk = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, Written);

struct Customer {
    txns: Vec<(i64, u64, u8)>,
    events: Vec<(i64, &'static str, &'static str)>,
    /// (planted name, date, product opened and when).
    truth: Vec<Planted>,
    row: Vec<u8>,
}

/// A log-normal amount in cents with the given median.
fn amount(rng: &mut Rng, median: f64, sigma: f64) -> u64 {
    ((median * (sigma * rng.normal()).exp()).clamp(1.0, 1e6) * 100.0).round() as u64
}

fn at_day(day: f64, rng: &mut Rng) -> i64 {
    // Daytime: 07:00-22:00.
    START + (day.floor() as i64) * DAY + 7 * 3_600_000 + rng.below(15 * 3_600_000) as i64
}

fn random_time(rng: &mut Rng) -> i64 {
    at_day(rng.f64() * DAYS as f64, rng)
}

fn customer(seed: u64, idx: u64) -> Customer {
    let mut rng = Rng::for_stream(seed, idx);
    let mut txns: Vec<(i64, u64, u8)> = Vec::with_capacity(64);
    let mut events = Vec::with_capacity(24);
    let mut truth = Vec::new();

    let parent = rng.bernoulli(0.08);
    let u = rng.f64();
    let plant_day = PLANT_FROM as f64 + rng.f64() * (PLANT_TO - PLANT_FROM) as f64;
    let plant_at = START + (plant_day.floor() as i64) * DAY;
    let life = if u < 0.04 {
        Some(LifeEvent::HomePurchase)
    } else if u < 0.07 && !parent {
        Some(LifeEvent::NewChild)
    } else if (0.07..0.12).contains(&u) {
        Some(LifeEvent::SalaryRise)
    } else {
        None
    };

    // Salary: one deposit a month on the customer's pay day.
    let level = (2200.0 * (0.4 * rng.normal()).exp()).clamp(900.0, 20_000.0);
    let pay_day = rng.below(28) as i64;
    let bonus_month = rng.bernoulli(0.05).then(|| rng.below(12) as i64);
    let rise = 1.15 + 0.25 * rng.f64();
    for month in 0..12 {
        let t = START + (month * 30 + pay_day) * DAY + 6 * 3_600_000 + rng.below(3_600_000) as i64;
        let mut a = level * (1.0 + 0.02 * rng.normal());
        if bonus_month == Some(month) {
            a *= 1.3 + 0.7 * rng.f64();
        }
        if life == Some(LifeEvent::SalaryRise) && t >= plant_at {
            a *= rise;
        }
        txns.push((t, (a * 100.0).round() as u64, SALARY));
    }
    for (cat, rate, median, sigma) in [
        (GROCERIES, 20.0, 55.0, 0.5),
        (RESTAURANTS, 6.0, 35.0, 0.5),
        (TRANSPORT, 6.0, 20.0, 0.6),
        (HOME, 1.5, 40.0, 0.8),
        (TRAVEL, 0.8, 400.0, 0.7),
        (ELECTRONICS, 0.6, 250.0, 0.8),
    ] {
        for _ in 0..rng.poisson(rate) {
            let t = random_time(&mut rng);
            txns.push((t, amount(&mut rng, median, sigma), cat));
        }
    }
    for q in 0..4 {
        let t = at_day((q * 91 + 10) as f64 + rng.f64() * 5.0, &mut rng);
        txns.push((t, amount(&mut rng, 150.0, 0.3), UTILITIES));
    }
    if rng.bernoulli(0.003) {
        let t = random_time(&mut rng);
        txns.push((t, 60_000 + rng.below(90_000), HOME));
    }
    if parent {
        for _ in 0..rng.poisson(24.0) {
            let t = random_time(&mut rng);
            txns.push((t, amount(&mut rng, 30.0, 0.5), BABY));
        }
        for month in 0..12 {
            let t = at_day((month * 30 + 2) as f64, &mut rng);
            txns.push((t, amount(&mut rng, 400.0, 0.1), CHILDCARE));
        }
    } else if life != Some(LifeEvent::NewChild) && rng.bernoulli(0.005) {
        let t = random_time(&mut rng);
        txns.push((t, amount(&mut rng, 40.0, 0.5), BABY));
    }

    // App use: logins with a balance view; some browse the mortgage tools.
    for _ in 0..rng.poisson(8.0) {
        let t = random_time(&mut rng);
        events.push((t, "login", ""));
        events.push((t + 60_000, "view_balance", ""));
    }
    if rng.bernoulli(0.03) {
        events.push((random_time(&mut rng), "mortgage_calculator", ""));
    }
    if rng.bernoulli(0.02) {
        events.push((random_time(&mut rng), "branch_locator", ""));
    }

    let opened = |rng: &mut Rng, p: f64, product: &'static str, lo: f64, hi: f64| {
        rng.bernoulli(p).then(|| {
            let t = at_day(plant_day + lo + rng.f64() * (hi - lo), rng);
            (product, t)
        })
    };
    match life {
        Some(LifeEvent::HomePurchase) => {
            let k = rng.range(5, 8);
            for _ in 0..k {
                let t = at_day(plant_day + 1.0 + rng.f64() * 39.0, &mut rng);
                txns.push((t, amount(&mut rng, 350.0, 0.6), HOME));
            }
            if rng.bernoulli(0.7) {
                let first = plant_day - 14.0 + rng.f64() * 3.0;
                let second = first + 1.0 + rng.f64() * 4.0;
                let locator = second + 1.0 + rng.f64() * 5.0;
                events.push((at_day(first, &mut rng), "mortgage_calculator", ""));
                events.push((at_day(second, &mut rng), "mortgage_calculator", ""));
                let t = at_day(locator, &mut rng);
                events.push((t, "branch_locator", ""));
                truth.push(("mortgage_research", t, None));
            }
            let o = opened(&mut rng, 0.5, "mortgage", 10.0, 60.0);
            truth.push(("home_purchase", plant_at, o));
        }
        Some(LifeEvent::NewChild) => {
            for _ in 0..2 {
                let t = at_day(plant_day + rng.f64() * 10.0, &mut rng);
                txns.push((t, amount(&mut rng, 45.0, 0.5), BABY));
            }
            let left = (DAYS as f64 - plant_day - 10.0).max(0.0);
            for _ in 0..rng.poisson(4.0 * left / 30.0) {
                let t = at_day(plant_day + 10.0 + rng.f64() * left, &mut rng);
                txns.push((t, amount(&mut rng, 30.0, 0.5), BABY));
            }
            let mut d = plant_day + 90.0;
            while d < DAYS as f64 {
                let t = at_day(d, &mut rng);
                txns.push((t, amount(&mut rng, 400.0, 0.1), CHILDCARE));
                d += 30.0;
            }
            let o = opened(&mut rng, 0.4, "child_savings", 14.0, 75.0);
            truth.push(("new_child", plant_at, o));
        }
        Some(LifeEvent::SalaryRise) => {
            let o = opened(&mut rng, 0.3, "investment", 20.0, 80.0);
            truth.push(("salary_rise", plant_at, o));
        }
        None => {}
    }
    for (p, product) in [
        (0.005, "mortgage"),
        (0.003, "child_savings"),
        (0.01, "investment"),
    ] {
        if rng.bernoulli(p) {
            events.push((random_time(&mut rng), "product_opened", product));
        }
    }
    for (_, _, o) in &truth {
        if let Some((product, t)) = o {
            events.push((*t, "product_opened", product));
        }
    }
    let end = START + DAYS * DAY;
    txns.retain(|t| t.0 < end);
    events.retain(|e| e.0 < end);
    txns.sort_unstable();
    events.sort_unstable();

    // The customer row.
    let segment = ["mass", "affluent", "private"][rng.choose_weighted(&[0.7, 0.25, 0.05])];
    let region = ["north", "south", "east", "west"][rng.below(4) as usize];
    let age = 18 + rng.below(40) + rng.below(30);
    let yes = |rng: &mut Rng, p: f64| if rng.bernoulli(p) { "yes" } else { "no" };
    let vulnerable = if rng.bernoulli(0.03) { "true" } else { "false" };
    let has_mortgage = if life != Some(LifeEvent::HomePurchase) && rng.bernoulli(0.12) {
        "true"
    } else {
        "false"
    };
    let mut row = Vec::with_capacity(96);
    push_id(&mut row, idx);
    for v in [
        segment,
        region,
        &age.to_string(),
        vulnerable,
        has_mortgage,
        yes(&mut rng, 0.85),
        yes(&mut rng, 0.5),
        yes(&mut rng, 0.7),
        yes(&mut rng, 0.75),
        yes(&mut rng, 0.65),
    ] {
        row.push(b',');
        row.extend_from_slice(v.as_bytes());
    }
    row.push(b'\n');
    Customer {
        txns,
        events,
        truth,
        row,
    }
}

fn push_id(buf: &mut Vec<u8>, idx: u64) {
    buf.push(b'c');
    push_uint(buf, idx + 1, 7);
}

fn push_cents(buf: &mut Vec<u8>, cents: u64) {
    push_uint(buf, cents / 100, 1);
    buf.push(b'.');
    push_uint(buf, cents % 100, 2);
}

pub const CUSTOMERS_HEADER: &str = "customer_id,segment,region,age,vulnerable,has_mortgage,consent_email,consent_sms,consent_app,consent_marketing,consent_credit\n";

/// The four file paths beside `out` (the events file).
pub struct Paths {
    pub events: PathBuf,
    pub transactions: PathBuf,
    pub customers: PathBuf,
    pub truth: PathBuf,
}

pub fn paths(out: &Path) -> Paths {
    Paths {
        events: out.to_path_buf(),
        transactions: super::sibling(out, "transactions.csv"),
        customers: super::sibling(out, "customers.csv"),
        truth: super::sibling(out, "bank-truth.csv"),
    }
}

#[derive(Debug, Default)]
pub struct Written {
    pub events: u64,
    pub transactions: u64,
    pub planted: u64,
}

/// Generates `users` customers into the files of [`paths`].
pub fn generate(seed: u64, users: usize, out: &Path) -> Result<Written> {
    let p = paths(out);
    let chunk = 20_000u64;
    let chunks: Vec<Chunk> = (0..(users as u64).div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let (mut ev, mut tx, mut cu, mut tr) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut n = Written::default();
            for idx in c * chunk..((c + 1) * chunk).min(users as u64) {
                let cust = customer(seed, idx);
                for (t, cents, cat) in &cust.txns {
                    push_id(&mut tx, idx);
                    tx.push(b',');
                    push_timestamp(&mut tx, *t);
                    tx.push(b',');
                    push_cents(&mut tx, *cents);
                    tx.push(b',');
                    tx.extend_from_slice(CATEGORIES[*cat as usize].as_bytes());
                    tx.extend_from_slice(b",M");
                    push_uint(&mut tx, u64::from(*cat) * 100 + cents % 97, 4);
                    tx.push(b'\n');
                }
                for (t, name, product) in &cust.events {
                    push_id(&mut ev, idx);
                    ev.push(b',');
                    push_timestamp(&mut ev, *t);
                    ev.push(b',');
                    ev.extend_from_slice(name.as_bytes());
                    ev.push(b',');
                    ev.extend_from_slice(product.as_bytes());
                    ev.push(b'\n');
                }
                for (name, t, o) in &cust.truth {
                    push_id(&mut tr, idx);
                    tr.push(b',');
                    tr.extend_from_slice(name.as_bytes());
                    tr.push(b',');
                    push_timestamp(&mut tr, *t);
                    tr.push(b',');
                    if let Some((product, at)) = o {
                        tr.extend_from_slice(product.as_bytes());
                        tr.push(b',');
                        push_timestamp(&mut tr, *at);
                    } else {
                        tr.push(b',');
                    }
                    tr.push(b'\n');
                }
                cu.extend_from_slice(&cust.row);
                n.events += cust.events.len() as u64;
                n.transactions += cust.txns.len() as u64;
                n.planted += cust
                    .truth
                    .iter()
                    .filter(|t| t.0 != "mortgage_research")
                    .count() as u64;
            }
            (ev, tx, cu, tr, n)
        })
        .collect();
    let write = |path: &Path, header: &str, part: fn(&Chunk) -> &Vec<u8>| {
        crate::atomic::write_with(path, |w: &mut dyn Write| {
            w.write_all(header.as_bytes())?;
            for c in &chunks {
                w.write_all(part(c))?;
            }
            Ok(())
        })
    };
    write(&p.events, "customer_id,timestamp,event,product\n", |c| &c.0)?;
    write(
        &p.transactions,
        "customer_id,timestamp,amount,category,merchant\n",
        |c| &c.1,
    )?;
    write(&p.customers, CUSTOMERS_HEADER, |c| &c.2)?;
    write(
        &p.truth,
        "customer_id,life_event,date,opened_product,opened_at\n",
        |c| &c.3,
    )?;
    let mut n = Written::default();
    for c in &chunks {
        n.events += c.4.events;
        n.transactions += c.4.transactions;
        n.planted += c.4.planted;
    }
    Ok(n)
}

/// The scenario's journey.toml, naming the files beside it.
pub fn config_toml(p: &Paths) -> String {
    let name = |x: &Path| {
        x.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    BANK_TOML
        .replace("{transactions}", &name(&p.transactions))
        .replace("{customers}", &name(&p.customers))
}

const BANK_TOML: &str = r#"# The bank scenario (journeymap generate --scenario bank): docs/decisions.md.
# Run: journeymap decide EVENTS --config THIS --as-of 2026-03-01 --out run/
[input]
user_col = "customer_id"

[[sources]]
name = "transactions"
kind = "transactions"
path = "{transactions}"
user_col = "customer_id"

[[sources]]
name = "customers"
kind = "customers"
path = "{customers}"
user_col = "customer_id"
channels = { email = "consent_email", sms = "consent_sms", app = "consent_app" }
purposes = { marketing = "consent_marketing", credit = "consent_credit" }

[[triggers]]
name = "home_purchase"
kind = "spend_change"
category = "home_improvement"
window = "30d"
baseline = "180d"
ratio = 2.0
min_amount = 500.0
min_count = 2
outcome = { event = "product_opened", product = "mortgage" }
outcome_within = "90d"

[[triggers]]
name = "new_child"
kind = "new_category"
category = "baby"
window = "30d"
min_history = "180d"
min_count = 2
outcome = { event = "product_opened", product = "child_savings" }

[[triggers]]
name = "salary_rise"
kind = "level_change"
category = "salary"
window = "60d"
baseline = "180d"
ratio = 1.1
min_count = 2
outcome = { event = "product_opened", product = "investment" }

[[triggers]]
name = "mortgage_research"
kind = "sequence"
first = "mortgage_calculator"
first_count = 2
first_within = "7d"
then = "branch_locator"
then_within = "14d"
window = "30d"
outcome = { event = "product_opened", product = "mortgage" }

[decide]
enabled = true
cooldown = "7d"
purpose_rules = { credit = ["vulnerable != true", "age >= 18"] }

[[pathways]]
name = "home_loan"
purpose = "credit"
priority = 100
triggers = ["home_purchase", "mortgage_research"]
eligible = ["age <= 70", "has_mortgage != true"]
actions = [
  { name = "mortgage_offer_email", channel = "email", value = 120.0 },
  { name = "mortgage_offer_app", channel = "app", value = 90.0 },
]
cap = 2
cap_window = "90d"
cooldown = "30d"

[[pathways]]
name = "family_savings"
purpose = "marketing"
priority = 50
triggers = ["new_child"]
actions = [
  { name = "child_savings_app", channel = "app", value = 40.0 },
  { name = "child_savings_email", channel = "email", value = 30.0 },
]
cap = 1
cap_window = "180d"

[[pathways]]
name = "investment"
purpose = "marketing"
priority = 40
triggers = ["salary_rise"]
eligible = ["age >= 21"]
actions = [
  { name = "investment_intro_email", channel = "email", value = 60.0 },
  { name = "investment_intro_sms", channel = "sms", value = 45.0 },
]
cap = 1
cap_window = "180d"
cooldown = "60d"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_are_deterministic_and_planted_events_leave_traces() {
        let a = customer(7, 3);
        let b = customer(7, 3);
        assert_eq!(a.txns, b.txns);
        assert_eq!(a.row, b.row);
        let (mut home, mut child, mut rise) = (0, 0, 0);
        for idx in 0..5000 {
            let c = customer(7, idx);
            assert!(c.txns.windows(2).all(|w| w[0] <= w[1]));
            for (name, at, _) in &c.truth {
                match *name {
                    "home_purchase" => {
                        home += 1;
                        let spent: u64 = c
                            .txns
                            .iter()
                            .filter(|t| t.2 == HOME && t.0 >= *at && t.0 < at + 41 * DAY)
                            .map(|t| t.1)
                            .sum();
                        assert!(spent > 50_000, "{idx}: {spent}");
                    }
                    "new_child" => {
                        child += 1;
                        assert!(c.txns.iter().filter(|t| t.2 == BABY).all(|t| t.0 >= *at));
                    }
                    "salary_rise" => rise += 1,
                    _ => {}
                }
            }
        }
        // 4 %, 3 % of 92 %, 5 % of 5000.
        assert!((150..250).contains(&home), "{home}");
        assert!((100..180).contains(&child), "{child}");
        assert!((190..310).contains(&rise), "{rise}");
    }
}
