package main

import (
	"math"
	"slices"
	"time"
)

// percentile returns the q-quantile (0 to 1) of values with the
// nearest-rank method, or NaN when values is empty. It sorts values.
func percentile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	slices.Sort(values)
	rank := int(math.Ceil(q*float64(len(values)))) - 1
	return values[max(rank, 0)]
}

// summary is the median, minimum and maximum of repeated measurements.
type summary struct {
	median, min, max float64
}

// summarize returns the summary of values, ignoring NaN values. All three
// fields are NaN when no value is left. With an even count the median is
// the mean of the two middle values.
func summarize(values []float64) summary {
	var v []float64
	for _, x := range values {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return summary{math.NaN(), math.NaN(), math.NaN()}
	}
	slices.Sort(v)
	mid := len(v) / 2
	median := v[mid]
	if len(v)%2 == 0 {
		median = (v[mid-1] + v[mid]) / 2
	}
	return summary{median: median, min: v[0], max: v[len(v)-1]}
}

// millis returns d in milliseconds.
func millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// rate returns n per second over d, or NaN when d is not positive.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return math.NaN()
	}
	return float64(n) / d.Seconds()
}
