//! Figures drawn from the audit trail's latency rollups: percentiles of a histogram.
//!
//! Pure arithmetic over buckets the store has already counted; it never reads the store.

/// The latency at percentile `p` (0–1) of a histogram of `(bucket, count)` in bucket order: the
/// representative latency of the first bucket by which `p` of the calls are counted. `None` for
/// an empty histogram.
pub fn percentile(buckets: &[(i64, i64)], p: f64) -> Option<f64> {
    let total: i64 = buckets.iter().map(|(_, n)| n).sum();
    let want = ((total as f64) * p).ceil().max(1.0) as i64;
    let mut seen = 0;
    buckets
        .iter()
        .find(|(_, n)| {
            seen += n;
            seen >= want
        })
        .map(|(b, _)| crate::store::bucket_latency_ms(*b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::bucket_latency_ms;

    #[test]
    fn percentile_is_the_bucket_where_that_share_of_calls_is_reached() {
        // 90 fast calls and 10 slow ones: the median is fast, the 95th is slow, and the 90th
        // is the last fast call (not rounded past it).
        let buckets = [(2, 90), (7, 10)];
        assert_eq!(percentile(&buckets, 0.5), Some(bucket_latency_ms(2)));
        assert_eq!(percentile(&buckets, 0.9), Some(bucket_latency_ms(2)));
        assert_eq!(percentile(&buckets, 0.95), Some(bucket_latency_ms(7)));
        assert_eq!(percentile(&buckets, 1.0), Some(bucket_latency_ms(7)));
        // The share is rounded up to a whole call: 95% of 4 calls is the 4th.
        let even = [(1, 1), (3, 1), (5, 1), (9, 1)];
        assert_eq!(percentile(&even, 0.5), Some(bucket_latency_ms(3)));
        assert_eq!(percentile(&even, 0.95), Some(bucket_latency_ms(9)));
        // Percentile 0 is still some call: the first.
        assert_eq!(percentile(&even, 0.0), Some(bucket_latency_ms(1)));
    }

    #[test]
    fn an_empty_histogram_has_no_percentile() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[(4, 0)], 0.95), None);
    }
}
