package framework

import (
	"github.com/prometheus/client_golang/prometheus"

	"strata/services/apps/instance"
)

type metrics struct {
	offers, declined, launched, kills prometheus.Counter
	healthKills                       prometheus.Counter
	updates                           *prometheus.CounterVec
}

func newMetrics(f *Framework, reg prometheus.Registerer) *metrics {
	const ns, sub = "strata", "apps"
	m := &metrics{
		offers:   prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "offers_received_total", Help: "Offers received from the master."}),
		declined: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "offers_declined_total", Help: "Offers declined."}),
		launched: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "tasks_launched_total", Help: "Tasks launched."}),
		kills:    prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "kills_sent_total", Help: "KILL calls sent."}),
		healthKills: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "health_kills_total",
			Help: "Instances killed for failing their health checks (rate-limited per app)."}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "status_updates_total",
			Help: "Task status updates received, by state."}, []string{"state"}),
	}
	if reg != nil {
		reg.MustRegister(m.offers, m.declined, m.launched, m.kills, m.healthKills, m.updates, &instanceCollector{f: f})
	}
	return m
}

// instanceCollector reports the instances by state when scraped.
type instanceCollector struct{ f *Framework }

var instancesDesc = prometheus.NewDesc("strata_apps_instances", "Instances known to the apps service, by state.", []string{"state"}, nil)

func (c *instanceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- instancesDesc }

func (c *instanceCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[string]int{}
	c.f.mu.Lock()
	for _, i := range c.f.instances {
		state := i.State
		if i.KillRequested && i.State != instance.Scheduled {
			state = "KILL_REQUESTED"
		}
		counts[state]++
	}
	c.f.mu.Unlock()
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(n), s)
	}
}
