package feed

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	events        *prometheus.CounterVec
	reconnects    prometheus.Counter
	refreshes     prometheus.Counter
	lookups       *prometheus.CounterVec
	leaderChanges prometheus.Counter
	connected     prometheus.Gauge
	lastEvent     prometheus.Gauge
	carried       prometheus.Gauge
	apply         prometheus.Histogram
	programming   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_dns_feed_events_total",
			Help: "Operator events received from the master and applied to the record set, by type.",
		}, []string{"type"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_dns_feed_reconnects_total",
			Help: "Operator streams that ended or could not be opened and were retried.",
		}),
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_dns_feed_refreshes_total",
			Help: "Subscriptions renewed after the refresh period (Mesos-DNS' refreshSeconds), each replacing the records with a new snapshot.",
		}),
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_dns_feed_host_lookups_total",
			Help: "Lookups of scheduler and agent host names that are not IP literals, by result (ok or error).",
		}, []string{"result"}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_dns_feed_leader_changes_total",
			Help: "Changes of the leading master named by the detector (ZooKeeper) that the feed followed.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strata_dns_feed_connected",
			Help: "1 while the feed holds an operator stream that has delivered its snapshot, else 0.",
		}),
		lastEvent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strata_dns_feed_last_event_timestamp_seconds",
			Help: "Unix time of the last operator event received, heartbeats included.",
		}),
		carried: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "strata_dns_feed_carried_over_tasks",
			Help: "Tasks kept from before a leader change whose agents have not re-registered with the new leader yet.",
		}),
		apply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "strata_dns_feed_apply_duration_seconds",
			Help:    "Time from the receipt of an operator event to the record set reflecting it.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 12), // 1µs .. ~4s
		}),
		programming: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "strata_dns_programming_latency_seconds",
			Help: "Time from a task status' timestamp (or the event's receipt when it has no usable one) " +
				"to the record set reflecting the TASK_UPDATED.",
			Buckets: prometheus.ExponentialBuckets(1e-4, 2, 18), // 100µs .. ~13s
		}),
	}
	if reg == nil {
		return m, nil
	}
	all := []prometheus.Collector{m.events, m.reconnects, m.refreshes, m.lookups, m.leaderChanges, m.connected, m.lastEvent, m.carried, m.apply, m.programming}
	for i, c := range all {
		if err := reg.Register(c); err != nil {
			for _, done := range all[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("feed: register metrics: %w", err)
		}
	}
	return m, nil
}
