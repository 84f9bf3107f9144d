package aibot

import (
	"testing"
	"time"
)

func TestBackoffDoublesWithJitterAndCap(t *testing.T) {
	for attempt, full := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60} {
		full *= time.Second
		for range 50 {
			d := backoff(time.Second, 60*time.Second, attempt)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
	if d := backoff(time.Second, 60*time.Second, 1000); d > 60*time.Second {
		t.Fatalf("attempt 1000: %v beyond the cap", d)
	}
}
