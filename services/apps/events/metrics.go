package events

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the bus's Prometheus metrics.
type metrics struct {
	subscribers prometheus.Gauge
	published   *prometheus.CounterVec
	dropped     prometheus.Counter
}

func newMetrics() *metrics {
	const ns, sub = "strata", "apps_events"
	return &metrics{
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "subscribers",
			Help: "Event bus subscribers (open /v2/events streams included).",
		}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "published_total",
			Help: "Events published on the bus, by event type.",
		}, []string{"event_type"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "subscribers_dropped_total",
			Help: "Subscribers disconnected because their queue overflowed (slow consumers).",
		}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.subscribers, m.published, m.dropped}
}

func (m *metrics) register(r prometheus.Registerer) error {
	cs := m.collectors()
	for i, c := range cs {
		if err := r.Register(c); err != nil {
			for _, done := range cs[:i] {
				r.Unregister(done)
			}
			return fmt.Errorf("events: register metrics: %w", err)
		}
	}
	return nil
}
