//! The two-sample Kolmogorov–Smirnov test as scipy's `ks_2samp` computes it
//! (two-sided, `method="auto"`), because Evidently's KS verdicts are
//! scipy's p-values: the exact lattice-path probability when both samples
//! have at most 10,000 values (Hodges, with Viehmann's 1 − p recursion),
//! otherwise the exact one-sample Kolmogorov distribution at
//! n = round(n₁n₂/(n₁+n₂)) (Simard & L'Ecuyer's selection of methods).

use statrs::function::gamma::ln_gamma;

/// scipy's `MAX_AUTO_N`: above it the asymptotic distribution is used.
const MAX_EXACT_N: usize = 10_000;

/// The statistic D and its two-sided p-value from each distinct value
/// (ascending) with its count in each sample; both samples non-empty.
pub fn ks_2samp(v: &[(f64, u64, u64)]) -> (f64, f64) {
    let n1 = v.iter().map(|x| x.1).sum::<u64>() as usize;
    let n2 = v.iter().map(|x| x.2).sum::<u64>() as usize;
    let d = statistic(v, n1, n2);
    let g = gcd(n1, n2);
    if n1.max(n2) <= MAX_EXACT_N
        && let Some((d, p)) = exact(n1, n2, g, d)
    {
        return (d, p);
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = round_half_even(m * n / (m + n));
    (d, kolmogorov_sf(en as u64, d).clamp(0.0, 1.0))
}

/// max |F₁ − F₂| over the pooled values, each ECDF as i/n₁ − j/n₂ in
/// floating point (scipy's order of operations).
fn statistic(v: &[(f64, u64, u64)], n1: usize, n2: usize) -> f64 {
    let (n1, n2) = (n1 as f64, n2 as f64);
    let (mut i, mut j) = (0u64, 0u64);
    let (mut max, mut min) = (f64::NEG_INFINITY, f64::INFINITY);
    for x in v {
        i += x.1;
        j += x.2;
        let diff = i as f64 / n1 - j as f64 / n2;
        max = max.max(diff);
        min = min.min(diff);
    }
    let min_s = (-min).clamp(0.0, 1.0);
    if min_s > max { min_s } else { max }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// numpy's round: halves go to the even neighbour.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

/// `_attempt_exact_2kssamp`: None when the exact computation fails.
fn exact(n1: usize, n2: usize, g: usize, d: f64) -> Option<(f64, f64)> {
    let lcm = ((n1 / g) * n2) as f64;
    let h = round_half_even(d * lcm) as i64;
    let d = h as f64 / lcm;
    if h == 0 {
        return Some((d, 1.0));
    }
    let p = if n1 == n2 {
        prob_outside_square(n1 as i64, h)
    } else {
        outer_prob_inside(n1 as i64, n2 as i64, g as i64, h)
    };
    (p.is_finite() && (0.0..=1.0).contains(&p)).then_some((d, p))
}

/// P(D_{n,n} ≥ h/n) by the alternating sum in Horner form (scipy's
/// `_compute_prob_outside_square`).
fn prob_outside_square(n: i64, h: i64) -> f64 {
    let mut p = 0.0;
    let mut k = n / h;
    while k >= 0 {
        let mut p1 = 1.0;
        for j in 0..h {
            p1 = (n - k * h - j) as f64 * p1 / (n + k * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// The share of lattice paths from (0,0) to (m,n) that leave the band
/// |x/m − y/n| < h/lcm (scipy's `_compute_outer_prob_inside_method`).
fn outer_prob_inside(m: i64, n: i64, g: i64, h: i64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(maxj as usize) {
        *v = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((((ng * i - h) as f64) / mg as f64).floor() as i64 + 1).max(0);
        minj = minj.min(n);
        maxj = ((((ng * i + h) as f64) / mg as f64).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            val = (a[(jj + minj - lastminj) as usize] * i as f64 + val * j as f64) / (i + j) as f64;
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let from = (maxj - minj) as usize;
            let to = (from + (lastlen - curlen) as usize).min(a.len());
            a[from..to].iter_mut().for_each(|v| *v = 1.0);
        }
    }
    a[(maxj - minj - 1) as usize]
}

// ---------------------------------------------------------------------------
// The one-sample two-sided Kolmogorov distribution, survival function
// (scipy.stats.kstwo.sf → `_kolmogn(n, x, cdf=False)`).

const LOG_2PI: f64 = 1.837_877_066_409_345_5;

fn log_nfact_div_n_pow_n(n: f64) -> f64 {
    const STIRLING: [f64; 8] = [
        -2.955_065_359_477_124e-2,
        6.410_256_410_256_41e-3,
        -1.917_526_917_526_917_5e-3,
        8.417_508_417_508_417e-4,
        -5.952_380_952_380_952e-4,
        7.936_507_936_507_937e-4,
        -2.777_777_777_777_778e-3,
        8.333_333_333_333_333e-2,
    ];
    let rn = 1.0 / n;
    let x = rn / n;
    let poly = STIRLING.iter().fold(0.0, |acc, c| acc * x + c);
    n.ln() / 2.0 - n + LOG_2PI / 2.0 + rn * poly
}

/// P(D_n ≥ x).
pub fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    if n == 0 {
        return f64::NAN;
    }
    let nf = n as f64;
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            (1..=n)
                .map(|i| i as f64 * (1.0 / nf) * (2.0 * t - 1.0))
                .product::<f64>()
        } else {
            (log_nfact_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return (1.0 - prob).clamp(0.0, 1.0);
    }
    if t >= nf - 1.0 {
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov(n, x)).clamp(0.0, 1.0);
    }
    let nxsq = t * x;
    if n <= 140 {
        if nxsq <= 0.754693 {
            return (1.0 - durbin_mtw(n, x)).clamp(0.0, 1.0);
        }
        if nxsq <= 4.0 {
            return (1.0 - pomeranz(n, x)).clamp(0.0, 1.0);
        }
        return (2.0 * smirnov(n, x)).clamp(0.0, 1.0);
    }
    if nxsq >= 370.0 {
        return 0.0;
    }
    if nxsq >= 2.2 {
        return (2.0 * smirnov(n, x)).clamp(0.0, 1.0);
    }
    let cdf = if nxsq >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_mtw(n, x)
    } else {
        pelz_good(n, x)
    };
    (1.0 - cdf).clamp(0.0, 1.0)
}

/// The one-sided Smirnov tail P(D_n⁺ ≥ x), by the Birnbaum–Tingey sum
/// (every term positive, summed in log space).
fn smirnov(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let ln_n_fact = ln_gamma(nf + 1.0);
    let top = (nf * (1.0 - x)).floor() as u64;
    let mut terms = Vec::with_capacity(top as usize + 1);
    for j in 0..=top {
        let jf = j as f64;
        let a = 1.0 - x - jf / nf;
        if a <= 0.0 && j < n {
            continue;
        }
        let ln_c = ln_n_fact - ln_gamma(jf + 1.0) - ln_gamma(nf - jf + 1.0);
        let la = if j == n { 0.0 } else { (nf - jf) * a.ln() };
        terms.push(ln_c + la + (jf - 1.0) * (x + jf / nf).ln());
    }
    let peak = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !peak.is_finite() {
        return 0.0;
    }
    let sum: f64 = terms.iter().map(|l| (l - peak).exp()).sum();
    x * (peak + sum.ln()).exp()
}

const E128: i32 = 128;
const EP128: f64 = 3.402_823_669_209_385e38; // 2^128
const EM128: f64 = 1.0 / EP128;

fn ldexp(x: f64, e: i32) -> f64 {
    x * 2f64.powi(e)
}

/// P(D_n ≤ d) by Durbin's matrix (Marsaglia, Tsang and Wang).
fn durbin_mtw(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![vec![0.0f64; m]; m];
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powi(j as i32)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r][i] = w[r - (i - 1)];
        }
    }
    for (r, row) in hm.iter_mut().enumerate() {
        row[0] = v[r];
    }
    for c in 0..m {
        hm[m - 1][c] = v[m - 1 - c];
    }
    let matmul = |a: &Vec<Vec<f64>>, b: &Vec<Vec<f64>>| -> Vec<Vec<f64>> {
        let mut out = vec![vec![0.0; m]; m];
        for i in 0..m {
            for l in 0..m {
                let x = a[i][l];
                if x != 0.0 {
                    for j in 0..m {
                        out[i][j] += x * b[l][j];
                    }
                }
            }
        }
        out
    };
    let mut pw: Vec<Vec<f64>> = (0..m)
        .map(|i| (0..m).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    let (mut nn, mut expnt, mut h_expnt) = (n, 0i32, 0i32);
    while nn > 0 {
        if nn % 2 == 1 {
            pw = matmul(&pw, &hm);
            expnt += h_expnt;
        }
        hm = matmul(&hm, &hm);
        h_expnt *= 2;
        if hm[k - 1][k - 1].abs() > EP128 {
            hm.iter_mut().flatten().for_each(|x| *x /= EP128);
            h_expnt += E128;
        }
        nn /= 2;
    }
    let mut p = pw[k - 1][k - 1];
    for i in 1..=n {
        p = i as f64 * p / n as f64;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p = ldexp(p, expnt);
    }
    p.clamp(0.0, 1.0)
}

fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// P(D_n ≤ x) by Pomeranz's recursion.
fn pomeranz(n: u64, x: f64) -> f64 {
    let n = n as i64;
    let nf = n as f64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let (mut gp, mut tgp, mut omp) = (vec![0.0; npwrs], vec![0.0; npwrs], vec![0.0; npwrs]);
    gp[0] = 1.0;
    tgp[0] = 1.0;
    omp[0] = 1.0;
    let (a, b, c) = (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gp[m] = gp[m - 1] * a / m as f64;
        tgp[m] = tgp[m - 1] * b / m as f64;
        omp[m] = omp[m - 1] * c / m as f64;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let mut expnt = 0i32;
    let (mut j1, _) = pomeranz_j1j2(0, n, ll, ceilf, roundf);
    for i in 1..(2 * n + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.iter_mut().for_each(|v| *v = 0.0);
        let (nj1, j2) = pomeranz_j1j2(i, n, ll, ceilf, roundf);
        j1 = nj1;
        let pwrs = if i == 1 || i == 2 * n + 1 {
            &gp
        } else if i % 2 == 1 {
            &tgp
        } else {
            &omp
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            let ln2 = ln2 as usize;
            let start = (k1 - v0s) as usize;
            let src = &v0[start..(start + ln2).min(v0.len())];
            let pw = &pwrs[..ln2.min(pwrs.len())];
            // np.convolve (full mode).
            let mut conv = vec![0.0; src.len() + pw.len() - 1];
            for (p, s) in src.iter().enumerate() {
                for (q, w) in pw.iter().enumerate() {
                    conv[p + q] += s * w;
                }
            }
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1) as usize;
            for (idx, v) in v1.iter_mut().enumerate().take(conv_len) {
                *v = conv.get(conv_start + idx).copied().unwrap_or(0.0);
            }
            let mx = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < mx && mx < EM128 {
                v1.iter_mut().for_each(|v| *v *= EP128);
                expnt -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(n - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > EP128 {
            ans *= EM128;
            expnt += E128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = ldexp(ans, expnt);
    }
    ans.clamp(0.0, 1.0)
}

/// Pelz and Good's approximation to P(D_n ≤ x).
fn pelz_good(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let qlog = -pi2 / 8.0 / z2;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let (k1a, k1b) = (-z2, pi2 / 4.0);
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qp = q.powf(8.0 * kk as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (v, c) in k.iter_mut().zip(coeffs) {
            *v = *v * qp + c;
        }
    }
    let s2pi = (2.0 * PI).sqrt();
    let den = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (v, d) in k.iter_mut().zip(den) {
        *v = *v * q * s2pi / d;
    }
    let q = (-pi2 / 2.0 / z2).exp();
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    let sqrt3z = 3f64.sqrt() * z;
    for kk in (1..=maxk).rev() {
        let ks2 = (kk * kk) as f64;
        let qp = q.powf(ks2);
        k2extra += ks2 * qp;
        let kspi = PI * kk as f64;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    k[2] += k2extra * pi2 * s2pi / (-36.0 * z3);
    k[3] += k3extra * pi2 * s2pi / (216.0 * z6);
    for (i, v) in k.iter_mut().enumerate() {
        *v /= nf.powf(i as f64 / 2.0);
    }
    k.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::stattest::Sample;

    fn ks(a: &[f64], b: &[f64]) -> (f64, f64) {
        let v = a
            .iter()
            .map(|&x| (x, 1, 0))
            .chain(b.iter().map(|&x| (x, 0, 1)));
        let Sample::Numeric(v) = Sample::numeric(v.collect()) else {
            unreachable!()
        };
        ks_2samp(&v)
    }

    /// Values from scipy 1.17.1 (`ks_2samp`, `kstwo.sf`).
    #[test]
    fn matches_scipy() {
        let close = |got: f64, want: f64, what: &str| {
            assert!(
                (got - want).abs() <= 1e-9 * want.max(1e-6),
                "{what}: {got} vs scipy {want}"
            )
        };
        // Equal sizes (the square method).
        let a: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..50).map(|i| i as f64 + 10.0).collect();
        let (d, p) = ks(&a, &b);
        assert_eq!(d, 0.2);
        close(p, 0.271_913_560_152_224_8, "equal sizes");
        // Unequal sizes (the inside method).
        let b: Vec<f64> = (0..37).map(|i| i as f64 * 1.5 + 3.0).collect();
        let (d, p) = ks(&a, &b);
        close(d, 0.162_162_162_162_162_17, "D");
        close(p, 0.560_730_527_135_806_1, "unequal sizes");
        // Past 10,000 values: the one-sample distribution at n = round(en).
        let a: Vec<f64> = (0..800).map(|i| (i as f64).sin()).collect();
        let b: Vec<f64> = (0..20000)
            .map(|i| (i as f64 * 1.1).sin() * 1.02 + 0.03)
            .collect();
        let (d, p) = ks(&a, &b);
        close(d, 0.100_099_999_999_999_97, "D asymptotic");
        close(p, 3.682_202_907_309_032_4e-7, "asymptotic, n 769");
        let a: Vec<f64> = (0..120).map(|i| (i as f64).sin()).collect();
        let b: Vec<f64> = (0..15000)
            .map(|i| (i as f64 * 1.1).sin() * 1.1 + 0.05)
            .collect();
        let (_, p) = ks(&a, &b);
        close(p, 0.002_052_204_049_332_246, "asymptotic, n 119");
        for (n, x, want) in [
            (100u64, 0.05, 0.953_215_971_063_572_5),
            (100, 0.15, 0.019_839_242_125_643_017),
            (500, 0.03, 0.747_316_670_045_702_1),
            (909, 0.05, 0.020_514_486_495_633_06),
            (909, 0.02, 0.852_958_693_287_164_1),
            (909, 0.01, 0.999_983_426_484_786_8),
            (100, 0.6, 5.912_822_156_396_238e-35),
            (60, 0.12, 0.326_823_011_836_168_35),
            (1000, 0.004, 1.0),
        ] {
            close(kolmogorov_sf(n, x), want, &format!("kstwo.sf({x}, {n})"));
        }
    }

    #[test]
    fn identical_samples_give_p_one() {
        let a = [1.0, 2.0, 2.0, 3.0];
        assert_eq!(ks(&a, &a), (0.0, 1.0));
    }
}
