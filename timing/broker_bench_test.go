package timing

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkSpec_Broker measures compiling a daily cron in a zone with
// daylight saving time, the common case of the create path. Distinct runs
// 240 different daily times, as many users would; Repeated compiles one.
func BenchmarkSpec_Broker(b *testing.B) {
	now := time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)
	for _, bc := range []struct {
		name  string
		exprs int
	}{{"Distinct", 240}, {"Repeated", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			specs := make([]*Spec, bc.exprs)
			for i := range specs {
				spec, err := Parse(fmt.Sprintf("%d %d * * *", i%60, 6+i/60), Options{Timezone: "Europe/Berlin"})
				if err != nil {
					b.Fatal(err)
				}
				specs[i] = spec
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := specs[i%len(specs)].Broker(now, 1000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
