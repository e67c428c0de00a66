package server

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Every request is counted under its method, route and code, from many
// goroutines at once and past the cache of resolved labels too.
func TestRequestMetricsCountEveryRequest(t *testing.T) {
	m := newMetrics(newEnv(t).db)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				m.observe("GET", "/api/v1/items/:serial", []int{200, 404, 401}[(g+i)%3], time.Millisecond)
			}
		}()
	}
	wg.Wait()
	for i := range maxRouteMetrics + 10 {
		m.observe(fmt.Sprintf("M%d", i), "unmatched", 405, time.Second)
	}
	value := func(c prometheus.Metric) float64 {
		var d dto.Metric
		if err := c.Write(&d); err != nil {
			t.Fatal(err)
		}
		if d.Histogram != nil {
			return float64(d.Histogram.GetSampleCount())
		}
		return d.Counter.GetValue()
	}
	for code, want := range map[string]float64{"200": 800, "404": 800, "401": 800} {
		if got := value(m.requests.WithLabelValues("GET", "/api/v1/items/:serial", code)); got != want {
			t.Errorf("code %s: %v requests, want %v", code, got, want)
		}
	}
	if got := value(m.latency.WithLabelValues("GET", "/api/v1/items/:serial").(prometheus.Metric)); got != 2400 {
		t.Errorf("%v latencies observed, want 2400", got)
	}
	for _, method := range []string{"M0", fmt.Sprintf("M%d", maxRouteMetrics+9)} {
		if got := value(m.requests.WithLabelValues(method, "unmatched", "405")); got != 1 {
			t.Errorf("%s: %v requests, want 1", method, got)
		}
	}
}
