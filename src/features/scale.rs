//! One scaler and one pruning step for every model: column means and
//! standard deviations (population, as scikit-learn's StandardScaler) over
//! a set of rows, the standardized copy, and the features left out because
//! they do not vary or nearly duplicate one kept before them.

use ndarray::Array2;

/// Above this absolute correlation with a feature kept earlier, a feature
/// is left out as redundant: it carries (almost) the same information, its
/// coefficient or its weight in distances would mean nothing.
pub const MAX_CORRELATION: f64 = 0.95;

/// Column means and standard deviations.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
}

impl Stats {
    /// Statistics of the rows of `x` selected by `rows`, summed in row order.
    pub fn fit(x: &Array2<f64>, rows: &[usize]) -> Stats {
        let d = x.ncols();
        let n = rows.len().max(1) as f64;
        let mut mean = vec![0.0; d];
        for &r in rows {
            for (m, v) in mean.iter_mut().zip(x.row(r)) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0; d];
        for &r in rows {
            for ((s, v), m) in var.iter_mut().zip(x.row(r)).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let sd = var.iter().map(|v| (v / n).sqrt()).collect();
        Stats { mean, sd }
    }

    /// `(v - center) / scale` of the selected rows and columns, with each
    /// column's `scale` given (row-major: solvers go row by row).
    pub fn transform_with(
        x: &Array2<f64>,
        rows: &[usize],
        cols: &[(usize, f64, f64)],
    ) -> Array2<f64> {
        let mut out = Array2::zeros((rows.len(), cols.len()));
        for (mut o, &r) in out.rows_mut().into_iter().zip(rows) {
            let src = x.row(r);
            for (v, &(c, center, scale)) in o.iter_mut().zip(cols) {
                *v = standardize(src[c], center, scale);
            }
        }
        out
    }

    /// The standardized copy of the selected rows of `x`, columns `cols`.
    pub fn transform(&self, x: &Array2<f64>, rows: &[usize], cols: &[usize]) -> Array2<f64> {
        let spec: Vec<(usize, f64, f64)> = cols
            .iter()
            .map(|&c| (c, self.mean[c], self.sd[c]))
            .collect();
        Stats::transform_with(x, rows, &spec)
    }
}

/// The one formula used in training and in scoring, so both give the same bits.
#[inline]
pub fn standardize(v: f64, mean: f64, sd: f64) -> f64 {
    (v - mean) / sd
}

/// The columns (of `cols`) whose value is not the same in every row of
/// `rows`, in order.
pub fn varying(x: &Array2<f64>, rows: &[usize], cols: &[usize]) -> Vec<usize> {
    let Some(&first) = rows.first() else {
        return Vec::new();
    };
    cols.iter()
        .copied()
        .filter(|&c| {
            let v = x[[first, c]];
            rows.iter().any(|&r| x[[r, c]] != v)
        })
        .collect()
}

/// A feature left out for nearly duplicating a kept one.
#[derive(Debug, Clone, PartialEq)]
pub struct Redundancy {
    /// The column left out and the kept column it duplicates.
    pub dropped: usize,
    pub kept: usize,
    pub correlation: f64,
}

/// Keeps the columns (in order) whose absolute Pearson correlation with
/// every column kept before them is at most [`MAX_CORRELATION`]; earlier
/// columns win. `z` holds the rows, already centred, one column per entry
/// of `cols`. Returns the kept columns and the redundancies.
pub fn prune_redundant(z: &Array2<f64>, cols: &[usize]) -> (Vec<usize>, Vec<Redundancy>) {
    let d = cols.len();
    let mut gram = Array2::<f64>::zeros((d, d));
    // Blocks of rows through the matrix product: a few passes of dense
    // products, far faster than a row loop on 200,000 users.
    let rows = z.nrows();
    let mut start = 0;
    while start < rows {
        let end = (start + 8192).min(rows);
        let block = z.slice(ndarray::s![start..end, ..]);
        gram += &block.t().dot(&block);
        start = end;
    }
    let corr = |a: usize, b: usize| gram[[a, b]] / (gram[[a, a]] * gram[[b, b]]).sqrt();
    let mut kept: Vec<usize> = Vec::new();
    let mut redundant = Vec::new();
    for j in 0..d {
        match kept
            .iter()
            .map(|&k| (k, corr(j, k)))
            .find(|&(_, r)| r.abs() > MAX_CORRELATION)
        {
            Some((k, r)) => redundant.push(Redundancy {
                dropped: cols[j],
                kept: cols[k],
                correlation: r,
            }),
            None => kept.push(j),
        }
    }
    (kept.into_iter().map(|j| cols[j]).collect(), redundant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn stats_and_standardizing() {
        let x = array![[0.0, 1.0], [1.0, 1.0], [2.0, 1.0]];
        let s = Stats::fit(&x, &[0, 1, 2]);
        assert_eq!(s.mean, vec![1.0, 1.0]);
        assert!((s.sd[0] - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.sd[1], 0.0);
        assert_eq!(varying(&x, &[0, 1, 2], &[0, 1]), vec![0]);
        let z = s.transform(&x, &[0, 2], &[0]);
        assert!((z[[0, 0]] + z[[1, 0]]).abs() < 1e-12);
    }

    #[test]
    fn redundant_columns_are_left_out_earlier_ones_win() {
        // a, 2a (r = 1), b, -a (r = -1): only a and b stay.
        let x = array![
            [1.0, 2.0, 0.0, -1.0],
            [2.0, 4.0, 1.0, -2.0],
            [3.0, 6.0, 0.0, -3.0],
            [4.0, 8.0, 1.0, -4.0]
        ];
        let s = Stats::fit(&x, &[0, 1, 2, 3]);
        let z = s.transform(&x, &[0, 1, 2, 3], &[0, 1, 2, 3]);
        let (kept, red) = prune_redundant(&z, &[0, 1, 2, 3]);
        assert_eq!(kept, vec![0, 2]);
        let got: Vec<(usize, usize, i64)> = red
            .iter()
            .map(|r| (r.dropped, r.kept, r.correlation.round() as i64))
            .collect();
        assert_eq!(got, vec![(1, 0, 1), (3, 0, -1)]);
    }
}
